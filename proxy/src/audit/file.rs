//! The default sink: `audit.jsonl` (rows) beside `audit.checkpoints.jsonl`
//! (signed checkpoints), both JSON lines, 0600.
//!
//! Each row is one `write` of one complete line, fsynced before the step
//! goes on. A write that fails (disk full, I/O error) may have left part of
//! the line behind: the file is cut back to the end of the last good row
//! before anything else is written, so the chain never continues on a torn
//! line. The lock around the files is taken inside the blocking task, so a
//! request that is abandoned mid-write cannot let another writer in early.

use super::checkpoint::{AuditSigner, Checkpoint, CheckpointReason};
use super::verify::{Scan, TrailStatus, VerifyReport, open_regular, scan};
use super::{AuditError, AuditEvent, AuditRow, AuditSink, row_hash};
use async_trait::async_trait;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where the checkpoints of a rows file live: `audit.jsonl` →
/// `audit.checkpoints.jsonl`.
pub fn checkpoints_path(rows: &Path) -> PathBuf {
    rows.with_extension("checkpoints.jsonl")
}

/// The three file operations an append needs (a seam for fault injection).
pub(super) trait LogFile: Send {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    fn sync(&mut self) -> std::io::Result<()>;
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
}

impl LogFile for std::fs::File {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)
    }
}

pub(super) type Opener = Arc<dyn Fn(&Path) -> std::io::Result<Box<dyn LogFile>> + Send + Sync>;

fn open_for_append(path: &Path) -> std::io::Result<Box<dyn LogFile>> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    Ok(Box::new(options.open(path)?))
}

/// An append-only file that knows where its last complete line ends.
struct AppendLog {
    path: PathBuf,
    file: Option<Box<dyn LogFile>>,
    good_len: u64,
    /// A write failed and the file may end in a partial line.
    torn: bool,
    opener: Opener,
}

impl AppendLog {
    fn file(&mut self) -> std::io::Result<&mut Box<dyn LogFile>> {
        if self.file.is_none() {
            self.file = Some((self.opener)(&self.path)?);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.repair()?;
        let written = self.file().and_then(|f| {
            f.append(line)?;
            f.sync()
        });
        match written {
            Ok(()) => {
                self.good_len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.torn = true;
                if let Err(repair) = self.repair() {
                    tracing::error!(path = %self.path.display(), error = %repair,
                        "a failed audit write could not be cut back yet; retried before the next write");
                }
                Err(e)
            }
        }
    }

    /// Cuts the file back to its last complete line after a failed write.
    fn repair(&mut self) -> std::io::Result<()> {
        if !self.torn {
            return Ok(());
        }
        let good_len = self.good_len;
        let cut = self.file().and_then(|f| {
            f.truncate(good_len)?;
            f.sync()
        });
        match cut {
            Ok(()) => {
                self.torn = false;
                Ok(())
            }
            Err(e) => {
                // A fresh handle next time: this one may be what is broken.
                self.file = None;
                Err(e)
            }
        }
    }
}

struct Trail {
    rows: AppendLog,
    checkpoints: AppendLog,
    count: u64,
    head: String,
    last_checkpoint: Option<Checkpoint>,
}

impl Trail {
    fn checkpoint(
        &mut self,
        signer: &AuditSigner,
        reason: CheckpointReason,
    ) -> std::io::Result<Option<Checkpoint>> {
        if self
            .last_checkpoint
            .as_ref()
            .is_some_and(|c| c.rows == self.count)
        {
            return Ok(None);
        }
        let checkpoint = signer.sign(
            self.last_checkpoint.as_ref(),
            self.count,
            &self.head,
            now_rfc3339(),
            reason,
        );
        let mut line = serde_json::to_vec(&checkpoint).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.checkpoints.append(&line)?;
        self.last_checkpoint = Some(checkpoint.clone());
        Ok(Some(checkpoint))
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// How the sink is set up; `key_created` says the signing key is new (so
/// rows without checkpoints come from before checkpoints existed).
pub struct SinkOptions {
    pub signer: Arc<AuditSigner>,
    pub key_created: bool,
    pub checkpoint_every_rows: u64,
}

pub struct FileAuditSink {
    path: PathBuf,
    signer: Arc<AuditSigner>,
    every_rows: u64,
    trail: Arc<Mutex<Trail>>,
}

impl FileAuditSink {
    /// Opens (or starts) the trail at `path`: refuses a damaged trail, cuts
    /// off a write interrupted by a crash, and signs a `start` checkpoint
    /// over rows not yet covered. Returns what the operator should be told.
    pub fn open(path: PathBuf, options: SinkOptions) -> Result<(Self, Vec<String>), AuditError> {
        Self::open_with(path, options, Arc::new(open_for_append))
    }

    pub(super) fn open_with(
        path: PathBuf,
        options: SinkOptions,
        opener: Opener,
    ) -> Result<(Self, Vec<String>), AuditError> {
        let error = |source| AuditError {
            path: path.clone(),
            source,
        };
        let checkpoints = checkpoints_path(&path);
        prepare(&path, &checkpoints).map_err(error)?;
        let key = options.signer.verifying_key();
        let mut notes = Vec::new();
        let mut scanned = scan(&path, &checkpoints, &key).map_err(error)?;
        if scanned.report.status == TrailStatus::TornTail || scanned.checkpoints_torn {
            notes.extend(cut_torn_tails(&path, &checkpoints, &scanned).map_err(error)?);
            scanned = scan(&path, &checkpoints, &key).map_err(error)?;
        }
        notes.extend(admit(&path, &scanned, options.key_created).map_err(error)?);
        let Scan {
            report,
            head,
            rows_len,
            last_checkpoint,
            checkpoints_len,
            ..
        } = scanned;
        let mut trail = Trail {
            rows: AppendLog {
                path: path.clone(),
                file: None,
                good_len: rows_len,
                torn: false,
                opener: opener.clone(),
            },
            checkpoints: AppendLog {
                path: checkpoints,
                file: None,
                good_len: checkpoints_len,
                torn: false,
                opener,
            },
            count: report.rows,
            head,
            last_checkpoint,
        };
        trail
            .checkpoint(&options.signer, CheckpointReason::Start)
            .map_err(error)?;
        Ok((
            FileAuditSink {
                path,
                signer: options.signer,
                every_rows: options.checkpoint_every_rows.max(1),
                trail: Arc::new(Mutex::new(trail)),
            },
            notes,
        ))
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

    /// Runs `work` on the trail in a blocking task that holds the lock
    /// from start to end, even if the caller stops waiting.
    async fn with_trail<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Trail, &AuditSigner, u64) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, AuditError> {
        let (trail, signer, every_rows) =
            (self.trail.clone(), self.signer.clone(), self.every_rows);
        tokio::task::spawn_blocking(move || {
            let mut trail = trail.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut trail, &signer, every_rows)
        })
        .await
        .map_err(|e| self.error(std::io::Error::other(e)))?
        .map_err(|e| self.error(e))
    }
}

/// Checks both paths are regular files (when present), creates a missing
/// directory 0700 and narrows an existing file to 0600.
fn prepare(rows: &Path, checkpoints: &Path) -> std::io::Result<()> {
    if let Some(dir) = rows.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    for path in [rows, checkpoints] {
        if open_regular(path)?.is_some() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
    }
    Ok(())
}

/// A line cut off by a crash was never acknowledged: it is removed.
fn cut_torn_tails(rows: &Path, checkpoints: &Path, scanned: &Scan) -> std::io::Result<Vec<String>> {
    let mut notes = Vec::new();
    let torn = [
        (
            scanned.report.status == TrailStatus::TornTail,
            rows,
            scanned.rows_len,
        ),
        (
            scanned.checkpoints_torn,
            checkpoints,
            scanned.checkpoints_len,
        ),
    ];
    for (is_torn, path, good_len) in torn {
        if !is_torn {
            continue;
        }
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        let dropped = file.metadata()?.len().saturating_sub(good_len);
        file.set_len(good_len)?;
        file.sync_all()?;
        notes.push(format!(
            "{}: removed {dropped} bytes of a line cut off by an interrupted write (never acknowledged)",
            path.display()
        ));
    }
    Ok(notes)
}

/// Whether a scanned trail may be continued, and what to say about it.
fn admit(path: &Path, scanned: &Scan, key_created: bool) -> std::io::Result<Vec<String>> {
    let report = &scanned.report;
    match report.status {
        TrailStatus::Intact => Ok(Vec::new()),
        TrailStatus::Missing if report.rows == 0 && report.checkpoints == 0 => Ok(if key_created {
            Vec::new()
        } else {
            vec![format!(
                "{}: no audit trail there although this proxy has signed one before; a new trail starts",
                path.display()
            )]
        }),
        TrailStatus::NoCheckpoint if key_created => Ok(vec![format!(
            "{}: {} rows written before signed checkpoints existed are adopted by a first checkpoint",
            path.display(),
            report.rows
        )]),
        _ => Err(std::io::Error::other(format!(
            "the trail is not intact ({}); run `alphaswarm-proxy verify-audit {}`, keep the files as evidence and move {} and {} aside to start a new trail",
            report.problem(),
            path.display(),
            path.display(),
            checkpoints_path(path).display()
        ))),
    }
}

#[async_trait]
impl AuditSink for FileAuditSink {
    async fn append(&self, event: AuditEvent) -> Result<AuditRow, AuditError> {
        self.with_trail(move |trail, signer, every_rows| {
            let seq = trail.count + 1;
            let hash = row_hash(seq, &event, &trail.head);
            let row = AuditRow {
                seq,
                event,
                prev_hash: trail.head.clone(),
                hash,
            };
            let mut line = serde_json::to_vec(&row).map_err(std::io::Error::other)?;
            line.push(b'\n');
            trail.rows.append(&line)?;
            trail.count = seq;
            trail.head = row.hash.clone();
            let signed = trail.last_checkpoint.as_ref().map_or(0, |c| c.rows);
            if trail.count - signed >= every_rows
                && let Err(e) = trail.checkpoint(signer, CheckpointReason::Rows)
            {
                // The row is safe; its checkpoint is retried with the next one.
                tracing::error!(error = %e, "audit checkpoint not written");
            }
            Ok(row)
        })
        .await
    }

    async fn checkpoint(&self, reason: CheckpointReason) -> Result<Option<Checkpoint>, AuditError> {
        self.with_trail(move |trail, signer, _| trail.checkpoint(signer, reason))
            .await
    }

    async fn verify(&self) -> Result<VerifyReport, AuditError> {
        let path = self.path.clone();
        self.with_trail(move |_, signer, _| {
            Ok(scan(&path, &checkpoints_path(&path), &signer.verifying_key())?.report)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::Phase;
    use super::super::test_support::{event, temp_dir};
    use super::super::verify::verify_files;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn options(dir: &Path, every_rows: u64) -> SinkOptions {
        let (signer, key_created) = AuditSigner::load_or_create(dir).unwrap();
        SinkOptions {
            signer: Arc::new(signer),
            key_created,
            checkpoint_every_rows: every_rows,
        }
    }

    async fn trail(dir: &Path, rows: usize, every_rows: u64) -> (FileAuditSink, PathBuf) {
        let path = dir.join("audit.jsonl");
        let (sink, _) = FileAuditSink::open(path.clone(), options(dir, every_rows)).unwrap();
        for i in 0..rows {
            sink.append(event(&format!("step{i}"), Phase::Pending))
                .await
                .unwrap();
        }
        (sink, path)
    }

    fn key(dir: &Path) -> ed25519_dalek::VerifyingKey {
        AuditSigner::load(&dir.join(super::super::SIGNING_KEY_FILE))
            .unwrap()
            .verifying_key()
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(path: &Path, lines: &[String]) {
        std::fs::write(
            path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn an_intact_chain_verifies_and_survives_a_restart() {
        let dir = temp_dir("intact");
        let (sink, path) = trail(&dir, 3, 100).await;
        drop(sink);
        // A new sink (as after a restart) signs the 3 rows and continues the chain.
        let (sink, notes) = FileAuditSink::open(path.clone(), options(&dir, 100)).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        sink.append(event("more", Phase::Failed)).await.unwrap();
        let report = verify_files(&path, &key(&dir)).unwrap();
        assert_eq!(
            (report.ok, report.status, report.rows, report.first_bad_row),
            (true, TrailStatus::Intact, 4, None)
        );
        // Checkpoints: start (0 rows), start after the restart (3 rows).
        assert_eq!((report.checkpoints, report.signed_rows), (2, 3));
        assert_eq!(report.rows_after_last_checkpoint, 1);
        assert_eq!(sink.verify().await.unwrap(), report);
    }

    #[tokio::test]
    async fn checkpoints_come_every_n_rows_and_on_request_only_when_rows_are_new() {
        let dir = temp_dir("every");
        let (sink, path) = trail(&dir, 7, 3).await;
        let report = verify_files(&path, &key(&dir)).unwrap();
        assert_eq!((report.checkpoints, report.signed_rows), (3, 6));
        let shutdown = sink.checkpoint(CheckpointReason::Shutdown).await.unwrap();
        assert_eq!(
            shutdown.map(|c| (c.rows, c.reason)),
            Some((7, CheckpointReason::Shutdown))
        );
        assert!(
            sink.checkpoint(CheckpointReason::Interval)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            verify_files(&path, &key(&dir))
                .unwrap()
                .rows_after_last_checkpoint,
            0
        );
    }

    #[tokio::test]
    async fn edited_deleted_and_reordered_rows_are_reported_at_the_first_bad_row() {
        let dir = temp_dir("tamper");
        let (_sink, path) = trail(&dir, 5, 100).await;
        let key = key(&dir);
        let original = lines(&path);

        let mut edited = original.clone();
        edited[2] = edited[2].replacen("\"step2\"", "\"step9\"", 1);
        write_lines(&path, &edited);
        let report = verify_files(&path, &key).unwrap();
        assert_eq!(
            (report.status, report.first_bad_row),
            (TrailStatus::Tampered, Some(3))
        );

        let mut deleted = original.clone();
        deleted.remove(1);
        write_lines(&path, &deleted);
        assert_eq!(verify_files(&path, &key).unwrap().first_bad_row, Some(2));

        let mut swapped = original.clone();
        swapped.swap(3, 4);
        write_lines(&path, &swapped);
        assert_eq!(verify_files(&path, &key).unwrap().first_bad_row, Some(4));
    }

    #[tokio::test]
    async fn rehashed_truncated_emptied_and_deleted_trails_are_reported() {
        let dir = temp_dir("rewrite");
        let (_sink, path) = trail(&dir, 30, 10).await;
        let key = key(&dir);
        let original = std::fs::read(&path).unwrap();
        let check = |status: TrailStatus, row: Option<u64>| {
            let report = verify_files(&path, &key).unwrap();
            assert_eq!(
                (report.ok, report.status, report.first_bad_row),
                (false, status, row),
                "{report:?}"
            );
        };

        // Rows rewritten with a consistent chain of their own (another
        // trail's), under the original checkpoints: from row 1, and cut to 15.
        let other = temp_dir("rewrite-other");
        let (_other_sink, rewritten) = trail(&other, 30, 1000).await;
        std::fs::copy(&rewritten, &path).unwrap();
        check(TrailStatus::Rehashed, Some(1));
        write_lines(&path, &lines(&rewritten)[..15]);
        check(TrailStatus::Rehashed, Some(1));
        std::fs::write(&path, &original).unwrap();
        write_lines(&path, &lines(&path)[..25]);
        check(TrailStatus::Truncated, Some(26));
        std::fs::write(&path, b"").unwrap();
        check(TrailStatus::Emptied, Some(1));
        std::fs::remove_file(&path).unwrap();
        check(TrailStatus::Missing, Some(1));
        std::fs::remove_file(checkpoints_path(&path)).unwrap();
        check(TrailStatus::Missing, None);

        // Rows without any checkpoint (the checkpoints file deleted).
        std::fs::write(&path, &original).unwrap();
        check(TrailStatus::NoCheckpoint, Some(1));
        // A restart refuses to adopt them: this key has signed before.
        let refused = FileAuditSink::open(path.clone(), options(&dir, 10))
            .err()
            .unwrap();
        assert!(refused.to_string().contains("no_checkpoint"), "{refused}");
    }

    #[tokio::test]
    async fn forged_and_edited_checkpoints_are_reported() {
        let dir = temp_dir("forge");
        let (_sink, path) = trail(&dir, 12, 5).await;
        let key = key(&dir);
        let checkpoints = checkpoints_path(&path);
        let original = lines(&checkpoints);

        let mut edited = original.clone();
        edited[1] = edited[1].replacen("\"rows\":5", "\"rows\":4", 1);
        write_lines(&checkpoints, &edited);
        let report = verify_files(&path, &key).unwrap();
        assert_eq!(
            (report.status, report.first_bad_checkpoint),
            (TrailStatus::BadCheckpoint, Some(2))
        );

        // Signed with another key (an attacker's), chain otherwise right.
        let other_dir = temp_dir("forger");
        let (forger, _) = AuditSigner::load_or_create(&other_dir).unwrap();
        let first: Checkpoint = serde_json::from_str(&original[0]).unwrap();
        let forged = forger.sign(
            Some(&first),
            12,
            &"f".repeat(64),
            first.at.clone(),
            CheckpointReason::Rows,
        );
        write_lines(
            &checkpoints,
            &[original[0].clone(), serde_json::to_string(&forged).unwrap()],
        );
        let report = verify_files(&path, &key).unwrap();
        assert_eq!(
            (report.status, report.first_bad_checkpoint),
            (TrailStatus::BadCheckpoint, Some(2))
        );
    }

    /// A file that fails (disk full) once armed, after writing part of the line.
    struct FullDisk {
        inner: std::fs::File,
        partial_budget: Arc<AtomicUsize>,
    }

    impl LogFile for FullDisk {
        fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
            let budget = self.partial_budget.load(Ordering::SeqCst);
            if budget == usize::MAX {
                return self.inner.write_all(bytes);
            }
            self.inner.write_all(&bytes[..budget.min(bytes.len())])?;
            Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
        }
        fn sync(&mut self) -> std::io::Result<()> {
            self.inner.sync_data()
        }
        fn truncate(&mut self, len: u64) -> std::io::Result<()> {
            self.inner.set_len(len)
        }
    }

    #[tokio::test]
    async fn a_failed_write_leaves_no_partial_row_and_the_next_lands_on_its_own_line() {
        let dir = temp_dir("diskfull");
        let path = dir.join("audit.jsonl");
        let budget = Arc::new(AtomicUsize::new(usize::MAX));
        let opener: Opener = {
            let budget = budget.clone();
            Arc::new(move |p: &Path| {
                let inner = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?;
                Ok(Box::new(FullDisk {
                    inner,
                    partial_budget: budget.clone(),
                }) as Box<dyn LogFile>)
            })
        };
        let (sink, _) = FileAuditSink::open_with(path.clone(), options(&dir, 100), opener).unwrap();
        for i in 0..3 {
            sink.append(event(&format!("ok{i}"), Phase::Pending))
                .await
                .unwrap();
        }
        let good = std::fs::read(&path).unwrap();
        budget.store(40, Ordering::SeqCst);
        assert!(sink.append(event("full", Phase::Pending)).await.is_err());
        assert!(
            sink.append(event("still-full", Phase::Pending))
                .await
                .is_err()
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            good,
            "no partial row is left behind"
        );
        budget.store(usize::MAX, Ordering::SeqCst);
        let row = sink.append(event("after", Phase::Succeeded)).await.unwrap();
        assert_eq!(row.seq, 4, "the refused rows took no sequence number");
        let report = verify_files(&path, &key(&dir)).unwrap();
        assert_eq!((report.ok, report.rows), (true, 4), "{report:?}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .all(|l| l.ends_with('}'))
        );
    }

    #[tokio::test]
    async fn a_line_cut_off_by_a_crash_is_removed_at_start() {
        let dir = temp_dir("torn");
        let (sink, path) = trail(&dir, 2, 100).await;
        drop(sink);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"seq\":3,\"audit_run_id\":\"cut-of")
            .unwrap();
        let report = verify_files(&path, &key(&dir)).unwrap();
        assert_eq!(
            (report.status, report.first_bad_row),
            (TrailStatus::TornTail, Some(3))
        );
        let (sink, notes) = FileAuditSink::open(path.clone(), options(&dir, 100)).unwrap();
        assert!(
            notes.iter().any(|n| n.contains("interrupted write")),
            "{notes:?}"
        );
        sink.append(event("next", Phase::Pending)).await.unwrap();
        assert!(verify_files(&path, &key(&dir)).unwrap().ok);
    }

    #[tokio::test]
    async fn files_are_private_and_devices_are_refused() {
        let dir = temp_dir("modes");
        let (_sink, path) = trail(&dir, 1, 100).await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [path.clone(), checkpoints_path(&path)] {
                let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", file.display());
            }
        }
        // Reading /dev/full never ends; it must be refused, not read.
        let refused = FileAuditSink::open("/dev/full".into(), options(&dir, 100))
            .err()
            .unwrap();
        assert!(
            refused.to_string().contains("not a regular file"),
            "{refused}"
        );
        // A directory where the file should be.
        let as_dir = dir.join("audit-dir.jsonl");
        std::fs::create_dir_all(&as_dir).unwrap();
        assert!(FileAuditSink::open(as_dir, options(&dir, 100)).is_err());
    }

    #[test]
    fn a_line_without_end_is_read_no_further_than_the_bound() {
        let dir = temp_dir("endless");
        let path = dir.join("audit.jsonl");
        std::fs::write(&path, vec![b'x'; MAX_LINE + 10]).unwrap();
        let (signer, _) = AuditSigner::load_or_create(&dir).unwrap();
        let report = verify_files(&path, &signer.verifying_key()).unwrap();
        assert_eq!(
            (report.status, report.first_bad_row),
            (TrailStatus::Tampered, Some(1))
        );
    }

    const MAX_LINE: usize = super::super::MAX_LINE_BYTES;
}
