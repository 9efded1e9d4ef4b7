//! The audit trail of the wizard's cloud-touching steps.
//!
//! Each protected step appends a `pending` row before it acts and a
//! `succeeded`/`failed` row after. The default sink is an append-only
//! JSON-lines file whose rows form a SHA-256 hash chain: each row carries
//! the previous row's hash, and its own hash covers every other field, so an
//! edited, deleted or reordered row breaks the chain at that row. (Cutting
//! rows off the end is only detectable against an external copy of the last
//! hash.) Rows hold identifiers and codes, never secrets.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

/// The hash the first row chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Pending,
    Succeeded,
    Failed,
}

/// What a caller records; the sink adds the chain fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub audit_run_id: String,
    pub phase: Phase,
    pub actor: String,
    pub org_id: String,
    pub cloud: String,
    pub step: String,
    pub error_code: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// One line of the file. Field order is the canonical order hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRow {
    pub seq: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the audit log at {path} cannot be written: {source}")]
pub struct AuditError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Durably appends one row (returns only after it is on disk).
    async fn append(&self, event: AuditEvent) -> Result<AuditRow, AuditError>;
    /// Checks the whole trail.
    async fn verify(&self) -> Result<VerifyReport, AuditError>;
}

/// Hash of a row: SHA-256 over `prev_hash`, a newline, and the canonical
/// JSON of every field but `hash`.
pub fn row_hash(seq: u64, event: &AuditEvent, prev_hash: &str) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        seq: u64,
        #[serde(flatten)]
        event: &'a AuditEvent,
        prev_hash: &'a str,
    }
    let canonical = serde_json::to_vec(&Canonical {
        seq,
        event,
        prev_hash,
    })
    .unwrap_or_default();
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(b"\n");
    digest.update(&canonical);
    hex::encode(digest.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub rows: u64,
    /// 1-based line number of the first row that breaks the chain.
    pub first_bad_row: Option<u64>,
    pub reason: Option<String>,
}

/// Checks one row (the JSON of line `number`) against the hash of the row
/// before it; the reason says what is wrong. Shared by every backend.
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

/// Verifies a JSON-lines audit file. A missing file is an empty, valid trail.
pub fn verify_file(path: &Path) -> std::io::Result<VerifyReport> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(VerifyReport {
                ok: true,
                rows: 0,
                first_bad_row: None,
                reason: None,
            });
        }
        Err(e) => return Err(e),
    };
    let mut prev = GENESIS_HASH.to_owned();
    let mut rows = 0u64;
    let bad = |line: u64, rows: u64, reason: &str| VerifyReport {
        ok: false,
        rows,
        first_bad_row: Some(line),
        reason: Some(reason.to_owned()),
    };
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        let number = index as u64 + 1;
        let row = match check_row(line.as_bytes(), number, &prev) {
            Ok(row) => row,
            Err(reason) => return Ok(bad(number, rows, reason)),
        };
        prev = row.hash;
        rows += 1;
    }
    Ok(VerifyReport {
        ok: true,
        rows,
        first_bad_row: None,
        reason: None,
    })
}

struct Tail {
    seq: u64,
    hash: String,
}

/// The default sink: a hash-chained JSON-lines file, fsynced per row.
pub struct FileAuditSink {
    path: PathBuf,
    tail: Mutex<Option<Tail>>,
}

impl FileAuditSink {
    pub fn new(path: PathBuf) -> Self {
        FileAuditSink {
            path,
            tail: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: std::io::Error) -> AuditError {
        AuditError {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads the last row to continue the chain after a restart.
    fn load_tail(path: &Path) -> std::io::Result<Tail> {
        let mut tail = Tail {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tail),
            Err(e) => return Err(e),
        };
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if let Ok(row) = serde_json::from_str::<AuditRow>(&line) {
                tail = Tail {
                    seq: row.seq,
                    hash: row.hash,
                };
            } else if !line.trim().is_empty() {
                // Keep counting so verification points at the damage.
                tail.seq += 1;
            }
        }
        Ok(tail)
    }
}

#[async_trait]
impl AuditSink for FileAuditSink {
    async fn append(&self, event: AuditEvent) -> Result<AuditRow, AuditError> {
        let mut guard = self.tail.lock().await;
        let path = self.path.clone();
        let known = guard.as_ref().map(|t| (t.seq, t.hash.clone()));
        let result = tokio::task::spawn_blocking(move || -> std::io::Result<AuditRow> {
            let (seq, prev_hash) = match known {
                Some(k) => k,
                None => {
                    let tail = FileAuditSink::load_tail(&path)?;
                    (tail.seq, tail.hash)
                }
            };
            let seq = seq + 1;
            let hash = row_hash(seq, &event, &prev_hash);
            let row = AuditRow {
                seq,
                event,
                prev_hash,
                hash,
            };
            let mut line = serde_json::to_vec(&row).map_err(std::io::Error::other)?;
            line.push(b'\n');
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(&line)?;
            file.sync_data()?;
            Ok(row)
        })
        .await
        .map_err(|e| self.error(std::io::Error::other(e)))?;
        match result {
            Ok(row) => {
                *guard = Some(Tail {
                    seq: row.seq,
                    hash: row.hash.clone(),
                });
                Ok(row)
            }
            Err(e) => {
                // Re-read the tail next time: a partial write may have happened.
                *guard = None;
                Err(self.error(e))
            }
        }
    }

    async fn verify(&self) -> Result<VerifyReport, AuditError> {
        let _guard = self.tail.lock().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || verify_file(&path))
            .await
            .map_err(|e| self.error(std::io::Error::other(e)))?
            .map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(step: &str, phase: Phase) -> AuditEvent {
        AuditEvent {
            audit_run_id: uuid::Uuid::new_v4().to_string(),
            phase,
            actor: "admin".into(),
            org_id: "acme".into(),
            cloud: "aws".into(),
            step: step.into(),
            error_code: None,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
        }
    }

    async fn trail(dir: &Path, rows: usize) -> PathBuf {
        let path = dir.join("audit.jsonl");
        let sink = FileAuditSink::new(path.clone());
        for i in 0..rows {
            sink.append(event(&format!("step{i}"), Phase::Pending))
                .await
                .unwrap();
        }
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("alphaswarm-audit-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn an_intact_chain_verifies_and_survives_a_restart() {
        let dir = temp_dir("intact");
        let path = trail(&dir, 3).await;
        // A new sink (as after a restart) continues the same chain.
        FileAuditSink::new(path.clone())
            .append(event("more", Phase::Failed))
            .await
            .unwrap();
        let report = verify_file(&path).unwrap();
        assert_eq!(
            (report.ok, report.rows, report.first_bad_row),
            (true, 4, None)
        );
    }

    #[tokio::test]
    async fn edited_deleted_and_reordered_rows_are_reported_at_the_first_bad_row() {
        let dir = temp_dir("tamper");
        let path = trail(&dir, 5).await;
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        let edited = original.replacen("\"step2\"", "\"step9\"", 1);
        std::fs::write(&path, edited).unwrap();
        assert_eq!(verify_file(&path).unwrap().first_bad_row, Some(3));

        let deleted: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| *l)
            .collect();
        std::fs::write(&path, deleted.join("\n") + "\n").unwrap();
        assert_eq!(verify_file(&path).unwrap().first_bad_row, Some(2));

        let mut swapped = lines.clone();
        swapped.swap(3, 4);
        std::fs::write(&path, swapped.join("\n") + "\n").unwrap();
        assert_eq!(verify_file(&path).unwrap().first_bad_row, Some(4));
    }

    #[tokio::test]
    async fn an_unwritable_path_is_an_error() {
        let dir = temp_dir("unwritable");
        // A directory where the file should be: open for append fails.
        let path = dir.join("audit.jsonl");
        std::fs::create_dir_all(&path).unwrap();
        let sink = FileAuditSink::new(path);
        assert!(sink.append(event("x", Phase::Pending)).await.is_err());
    }
}
