//! Checking a trail: the rows' hash chain against the signed checkpoints.
//!
//! Both files are read line by line with a bound on each line, so a
//! hostile or odd file (a device, one endless line) costs at most
//! [`MAX_LINE_BYTES`] of memory. The first problem found is reported:
//! checkpoints first (they are what the rows are judged by), then rows in
//! order, then what is missing at the end.

use super::checkpoint::{Checkpoint, key_id};
use super::{AuditRow, GENESIS_HASH, row_hash};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// No row or checkpoint is longer than this (rows are ~500 bytes).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What `verify-audit` concludes, one stable code each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrailStatus {
    /// Chain and checkpoints agree (rows after the last checkpoint are
    /// counted in `rows_after_last_checkpoint`).
    Intact,
    /// A row is malformed, out of sequence, mis-chained or edited.
    Tampered,
    /// The chain is consistent but differs from what a checkpoint signed:
    /// rows were changed and every hash after them recomputed.
    Rehashed,
    /// The last row was cut off mid-line (an interrupted write).
    TornTail,
    /// The file holds fewer rows than a checkpoint signed.
    Truncated,
    /// The file is empty but a checkpoint signed rows.
    Emptied,
    /// There is no trail: no rows file (or no files at all).
    Missing,
    /// Rows exist but no signed checkpoint covers any of them.
    NoCheckpoint,
    /// A checkpoint is malformed, forged, edited or out of its chain.
    BadCheckpoint,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub status: TrailStatus,
    /// Rows read and found good before the first problem.
    pub rows: u64,
    /// 1-based line of the first row that is bad (or missing).
    pub first_bad_row: Option<u64>,
    /// 1-based line of the first bad checkpoint.
    pub first_bad_checkpoint: Option<u64>,
    pub reason: Option<String>,
    /// Valid checkpoints read.
    pub checkpoints: u64,
    /// Rows the last valid checkpoint signed.
    pub signed_rows: u64,
    pub rows_after_last_checkpoint: u64,
    pub last_checkpoint_at: Option<String>,
    /// Which key the checkpoints were checked against (hex SHA-256 of it).
    pub key_id: String,
}

impl VerifyReport {
    /// `<status>: <reason>[, first bad row N]`, for start-up's refusal.
    pub fn problem(&self) -> String {
        format!(
            "{}: {}{}",
            serde_json::to_value(self.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            self.reason.as_deref().unwrap_or("unknown"),
            self.first_bad_row
                .map(|r| format!(", first bad row {r}"))
                .unwrap_or_default(),
        )
    }
}

/// A report plus what the writer needs to continue the trail.
pub(crate) struct Scan {
    pub report: VerifyReport,
    /// Hash of the last good row (the genesis hash for none).
    pub head: String,
    /// Bytes of the rows file up to and including the last good row.
    pub rows_len: u64,
    pub last_checkpoint: Option<Checkpoint>,
    pub checkpoints_len: u64,
    /// The checkpoints file ends in a cut-off line.
    pub checkpoints_torn: bool,
}

enum Line {
    Complete(Vec<u8>),
    /// The file ended before a newline.
    Unterminated,
    TooLong,
}

fn next_line(reader: &mut impl BufRead) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let read = reader
        .by_ref()
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    Ok(match read {
        0 => None,
        _ if buf.last() == Some(&b'\n') => {
            buf.pop();
            Some(Line::Complete(buf))
        }
        _ if buf.len() > MAX_LINE_BYTES => Some(Line::TooLong),
        _ => Some(Line::Unterminated),
    })
}

/// Opens a file that must be a regular file; `None` when it does not exist.
pub(super) fn open_regular(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        )),
        Ok(_) => std::fs::File::open(path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Verifies the rows file and its checkpoints file (see [`super::checkpoints_path`]).
pub fn verify_files(rows: &Path, key: &VerifyingKey) -> std::io::Result<VerifyReport> {
    Ok(scan(rows, &super::checkpoints_path(rows), key)?.report)
}

struct Problem {
    status: TrailStatus,
    row: Option<u64>,
    checkpoint: Option<u64>,
    reason: String,
}

impl Problem {
    fn row(status: TrailStatus, row: u64, reason: impl Into<String>) -> Self {
        Problem {
            row: Some(row),
            ..Self::trail(status, reason)
        }
    }

    fn checkpoint(number: u64, reason: impl Into<String>) -> Self {
        Problem {
            checkpoint: Some(number),
            ..Self::trail(TrailStatus::BadCheckpoint, reason)
        }
    }

    /// A problem of the trail as a whole (no line to point at).
    fn trail(status: TrailStatus, reason: impl Into<String>) -> Self {
        Problem {
            status,
            row: None,
            checkpoint: None,
            reason: reason.into(),
        }
    }
}

fn check_checkpoint(
    bytes: &[u8],
    number: u64,
    previous: Option<&Checkpoint>,
    key: &VerifyingKey,
) -> Result<Checkpoint, String> {
    let checkpoint: Checkpoint = serde_json::from_slice(bytes)
        .map_err(|_| "the checkpoint is not a well-formed checkpoint".to_owned())?;
    let expected_prev = previous.map_or_else(|| GENESIS_HASH.to_owned(), Checkpoint::digest);
    if checkpoint.seq != number {
        return Err(
            "the checkpoint is out of sequence (one was removed, inserted or moved)".into(),
        );
    }
    if checkpoint.prev != expected_prev {
        return Err("the checkpoint does not chain to the previous one".into());
    }
    if checkpoint.key_id != key_id(key) {
        return Err(format!(
            "the checkpoint was signed by another key ({})",
            checkpoint.key_id
        ));
    }
    if !checkpoint.signed_by(key) {
        return Err("the checkpoint's signature does not verify (edited or forged)".into());
    }
    let (prev_rows, prev_head) = previous.map_or((0, GENESIS_HASH), |p| (p.rows, p.head.as_str()));
    if checkpoint.rows < prev_rows || (checkpoint.rows == prev_rows && checkpoint.head != prev_head)
    {
        return Err(
            "the checkpoint contradicts the previous one (fewer rows or another head)".into(),
        );
    }
    Ok(checkpoint)
}

pub(crate) fn check_row(bytes: &[u8], number: u64, prev: &str) -> Result<AuditRow, &'static str> {
    let row = serde_json::from_slice::<AuditRow>(bytes)
        .map_err(|_| "the row is not a well-formed audit row")?;
    if row.seq != number {
        return Err("the row is out of sequence (a row was deleted, inserted or moved)");
    }
    if row.prev_hash != prev {
        return Err("prev_hash does not match the previous row's hash");
    }
    if row_hash(row.seq, &row.event, &row.prev_hash) != row.hash {
        return Err("the row's content does not match its hash (edited)");
    }
    Ok(row)
}

pub(super) fn scan(
    rows_path: &Path,
    checkpoints_path: &Path,
    key: &VerifyingKey,
) -> std::io::Result<Scan> {
    scan_readers(
        open_regular(rows_path)?,
        open_regular(checkpoints_path)?,
        key,
    )
}

/// [`scan`] over any source of JSON lines (the files, or rows read out of
/// the database); `None` for a source that does not exist.
pub(crate) fn scan_readers(
    rows_file: Option<impl Read>,
    checkpoints_file: Option<impl Read>,
    key: &VerifyingKey,
) -> std::io::Result<Scan> {
    let mut problem: Option<Problem> = None;

    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut checkpoints_len = 0u64;
    let mut checkpoints_torn = false;
    let checkpoints_present = checkpoints_file.is_some();
    if let Some(file) = checkpoints_file {
        let mut reader = BufReader::new(file);
        while let Some(line) = next_line(&mut reader)? {
            let number = checkpoints.len() as u64 + 1;
            let reason = match line {
                Line::Complete(bytes) => {
                    match check_checkpoint(&bytes, number, checkpoints.last(), key) {
                        Ok(checkpoint) => {
                            checkpoints_len += bytes.len() as u64 + 1;
                            checkpoints.push(checkpoint);
                            continue;
                        }
                        Err(reason) => reason,
                    }
                }
                Line::Unterminated => {
                    checkpoints_torn = true;
                    "the last checkpoint was cut off mid-line (an interrupted write)".to_owned()
                }
                Line::TooLong => "the checkpoint line is too long to be a checkpoint".to_owned(),
            };
            problem = Some(Problem::checkpoint(number, reason));
            break;
        }
    }
    if let Some(bad) = checkpoints
        .iter()
        .position(|c| c.rows == 0 && c.head != GENESIS_HASH)
        .filter(|_| problem.is_none())
    {
        problem = Some(Problem::checkpoint(
            bad as u64 + 1,
            "a checkpoint of no rows must carry the genesis hash",
        ));
    }

    let mut head = GENESIS_HASH.to_owned();
    let mut rows = 0u64;
    let mut rows_len = 0u64;
    let mut pending = checkpoints.iter().filter(|c| c.rows > 0).peekable();
    let mut last_matched = 0u64;
    let rows_present = rows_file.is_some();
    if let Some(file) = rows_file {
        let mut reader = BufReader::new(file);
        'rows: while let Some(line) = next_line(&mut reader)? {
            let number = rows + 1;
            let row = match line {
                Line::Complete(bytes) => match check_row(&bytes, number, &head) {
                    Ok(row) => {
                        rows_len += bytes.len() as u64 + 1;
                        row
                    }
                    Err(reason) => {
                        problem.get_or_insert(Problem::row(TrailStatus::Tampered, number, reason));
                        break;
                    }
                },
                Line::Unterminated => {
                    problem.get_or_insert(Problem::row(
                        TrailStatus::TornTail,
                        number,
                        "the last row was cut off mid-line (an interrupted write)",
                    ));
                    break;
                }
                Line::TooLong => {
                    problem.get_or_insert(Problem::row(
                        TrailStatus::Tampered,
                        number,
                        "the line is too long to be an audit row",
                    ));
                    break;
                }
            };
            head = row.hash;
            rows = number;
            while let Some(checkpoint) = pending.next_if(|c| c.rows == rows) {
                if checkpoint.head != head {
                    problem.get_or_insert(Problem::row(
                        TrailStatus::Rehashed,
                        last_matched + 1,
                        format!(
                            "rows {}..{rows} differ from what checkpoint {} signed: the chain was re-hashed",
                            last_matched + 1,
                            checkpoint.seq
                        ),
                    ));
                    break 'rows;
                }
                last_matched = rows;
            }
        }
    }

    let last_checkpoint = checkpoints.last().cloned();
    let signed_rows = last_checkpoint.as_ref().map_or(0, |c| c.rows);
    if problem.is_none() {
        problem = match (&last_checkpoint, rows_present) {
            (None, false) => Some(Problem::trail(
                TrailStatus::Missing,
                if checkpoints_present {
                    "there is no audit file and no signed checkpoint"
                } else {
                    "there is no audit file and no checkpoints file"
                },
            )),
            (None, true) if rows == 0 => Some(Problem::trail(
                TrailStatus::Missing,
                "the audit file is empty and no checkpoint was ever signed",
            )),
            (None, true) => Some(Problem::row(
                TrailStatus::NoCheckpoint,
                1,
                format!("{rows} rows but no signed checkpoint covers them"),
            )),
            (Some(last), present) if rows < signed_rows => {
                let (status, what) = match (present, rows) {
                    (false, _) => (TrailStatus::Missing, "the audit file is gone".to_owned()),
                    (true, 0) => (TrailStatus::Emptied, "the audit file is empty".to_owned()),
                    (true, _) => (
                        TrailStatus::Truncated,
                        format!("the audit file ends after row {rows}"),
                    ),
                };
                Some(Problem::row(
                    status,
                    rows + 1,
                    format!(
                        "{what}, but checkpoint {} signed {signed_rows} rows",
                        last.seq
                    ),
                ))
            }
            _ => None,
        };
    }
    let report = VerifyReport {
        ok: problem.is_none(),
        status: problem.as_ref().map_or(TrailStatus::Intact, |p| p.status),
        rows,
        first_bad_row: problem.as_ref().and_then(|p| p.row),
        first_bad_checkpoint: problem.as_ref().and_then(|p| p.checkpoint),
        reason: problem.map(|p| p.reason),
        checkpoints: checkpoints.len() as u64,
        signed_rows,
        rows_after_last_checkpoint: rows.saturating_sub(signed_rows),
        last_checkpoint_at: last_checkpoint.as_ref().map(|c| c.at.clone()),
        key_id: key_id(key),
    };
    Ok(Scan {
        report,
        head,
        rows_len,
        last_checkpoint,
        checkpoints_len,
        checkpoints_torn,
    })
}
