//! [`AuditSink`] on the database: the hash chain in `audit_rows`, its head
//! in `audit_head`, the signed checkpoints in `audit_checkpoints`.
//!
//! An append reads the head and moves it in one transaction that holds the
//! database's lock on it (SQLite's write lock, a PostgreSQL row lock), so
//! rows of several replicas interleave into ONE linear chain; `seq` is the
//! primary key besides, so a fork could not even be stored. On PostgreSQL
//! an append first tries one statement that writes the row and moves the
//! head only if the head is still the one this sink last saw (one round
//! trip; the row lock orders concurrent tries and the loser writes
//! nothing), and falls back to the locked transaction when it keeps
//! losing or a checkpoint is due. A process's own appends take turns
//! there, so they do not bet against each other. Each row's
//! JSON is kept byte for byte (`line`), as the file era wrote it, and the
//! formula is the file's ([`crate::audit::row_hash`]). Checkpoints are the
//! file sink's (same signer, same JSON lines), taken under the same lock,
//! and signed with one key every replica shares ([`shared_signer`]), so
//! `verify-audit` judges the table exactly as it judges the files.

use super::{Database, DbError, Pool, on_pool};
use crate::audit::{
    AuditError, AuditEvent, AuditRow, AuditSigner, AuditSink, Checkpoint, CheckpointReason,
    TrailStatus, VerifyReport, checkpoints_path, now_rfc3339, row_hash, scan_readers,
};
use crate::audit::{GENESIS_HASH, check_row};
use async_trait::async_trait;
use ed25519_dalek::VerifyingKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const HEAD_FOR_UPDATE_SQLITE: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
const HEAD_FOR_UPDATE_POSTGRES: &str = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";
/// Stores the row `$1` (hash `$2`, line `$3`) and moves the head to it in
/// one statement, only while the head is still row `$1 - 1` with hash `$4`:
/// when another writer moved it first (a row lock orders the two; the
/// later one re-reads the row), nothing is written.
const APPEND_IF_HEAD_POSTGRES: &str = "WITH moved AS (\
     UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $1 - 1 AND hash = $4 \
     RETURNING seq) \
     INSERT INTO audit_rows (seq, hash, line) SELECT seq, $2, $3 FROM moved";
/// Single-statement attempts before an append takes the head's lock.
const APPEND_IF_HEAD_TRIES: usize = 3;
const LAST_CHECKPOINT: &str = "SELECT line FROM audit_checkpoints ORDER BY seq DESC LIMIT 1";
/// Lines in flight between the database and the verifying scanner.
const VERIFY_CHANNEL_LINES: usize = 256;
/// The `meta` row holding the checkpoint key (Fernet-encrypted PKCS#8 PEM).
const SIGNING_KEY: &str = "audit_signing_key";

/// How the sink is set up (see [`crate::audit::SinkOptions`]).
pub struct DbSinkOptions {
    pub signer: Arc<AuditSigner>,
    pub checkpoint_every_rows: u64,
}

pub struct DbAuditSink {
    db: Database,
    /// `None` for a sink that only verifies (the CLI with a public key).
    signer: Option<Arc<AuditSigner>>,
    key: VerifyingKey,
    every_rows: u64,
    /// The head as this sink last wrote or read it (row count, hash): on
    /// PostgreSQL an append bets on it in one statement (one round trip
    /// instead of five) and re-reads it when another replica moved it.
    head: std::sync::Mutex<Option<(i64, String)>>,
    /// This process's PostgreSQL appends, one at a time: concurrent bets
    /// on one known head would all but one lose and retry. The database's
    /// row lock still orders the appends of every replica.
    appending: tokio::sync::Mutex<()>,
}

/// The checkpoint key every replica signs with: the first replica to start
/// stores its key (encrypted with the store key); the others adopt it and
/// write it to their state dir's key file when they just created theirs.
pub async fn shared_signer(
    db: &Database,
    store_key: &str,
    local: AuditSigner,
    key_created: bool,
    key_file: &std::path::Path,
) -> Result<(AuditSigner, Vec<String>), DbError> {
    let fernet = fernet::Fernet::new(store_key.trim()).ok_or_else(|| DbError::WrongKey {
        at: db.site().clone(),
    })?;
    let pem = local
        .private_key_pem()
        .ok_or_else(|| db.corrupt("the audit signing key cannot be encoded"))?;
    let stored = db
        .meta_insert_once(SIGNING_KEY, &fernet.encrypt(pem.as_bytes()))
        .await?;
    let plain = fernet.decrypt(&stored).map_err(|_| DbError::WrongKey {
        at: db.site().clone(),
    })?;
    let shared = std::str::from_utf8(&plain)
        .ok()
        .and_then(AuditSigner::from_private_pem)
        .ok_or_else(|| db.corrupt("the audit signing key is not one this proxy wrote"))?;
    let mut notes = Vec::new();
    if shared.verifying_key() != local.verifying_key() {
        if key_created {
            if let Some(pem) = shared.private_key_pem() {
                crate::store::write_atomically(key_file, pem.as_bytes()).map_err(|e| {
                    db.corrupt(format!("{} cannot be written: {e}", key_file.display()))
                })?;
            }
        } else {
            notes.push(format!(
                "Audit checkpoints are signed with the key the database holds (key id {}), not the one in {}: give auditors `alphaswarm-proxy audit-public-key` from a replica that started with the database's key.",
                crate::audit::key_id(&shared.verifying_key()),
                key_file.display()
            ));
        }
    }
    Ok((shared, notes))
}

impl DbAuditSink {
    /// A sink that appends and signs (no start checkpoint; see [`Self::open`]).
    pub fn new(db: Database, signer: Arc<AuditSigner>, every_rows: u64) -> Self {
        DbAuditSink {
            db,
            key: signer.verifying_key(),
            signer: Some(signer),
            every_rows: every_rows.max(1),
            head: std::sync::Mutex::new(None),
            appending: tokio::sync::Mutex::new(()),
        }
    }

    /// A sink that checks the chain against `key` and signs nothing.
    pub fn verifier(db: Database, key: VerifyingKey) -> Self {
        DbAuditSink {
            db,
            signer: None,
            key,
            every_rows: u64::MAX,
            head: std::sync::Mutex::new(None),
            appending: tokio::sync::Mutex::new(()),
        }
    }

    /// Opens the trail for writing: refuses a damaged chain, adopts rows
    /// from before checkpoints (the file era's import, an older schema) and
    /// signs a `start` checkpoint over rows not yet covered.
    pub async fn open(
        db: Database,
        options: DbSinkOptions,
    ) -> Result<(Self, Vec<String>), DbError> {
        let sink = DbAuditSink::new(db, options.signer, options.checkpoint_every_rows);
        let report = sink
            .verify()
            .await
            .map_err(|e| sink.db.corrupt(e.to_string()))?;
        let mut notes = Vec::new();
        match report.status {
            TrailStatus::Intact => {}
            TrailStatus::Missing if report.rows == 0 && report.checkpoints == 0 => {}
            TrailStatus::NoCheckpoint => notes.push(format!(
                "{}: {} audit rows written before signed checkpoints existed are adopted by a first checkpoint",
                sink.db.site(),
                report.rows
            )),
            _ => {
                return Err(sink.db.corrupt(format!(
                    "the audit chain is not intact ({}); run `alphaswarm-proxy verify-audit` and keep the database as evidence",
                    report.problem()
                )));
            }
        }
        sink.checkpoint(CheckpointReason::Start)
            .await
            .map_err(|e| sink.db.corrupt(e.to_string()))?;
        Ok((sink, notes))
    }

    fn error(&self, error: DbError) -> AuditError {
        AuditError {
            path: self.db.site().location.clone().into(),
            source: std::io::Error::other(error.to_string()),
        }
    }

    /// Sends every checkpoint, then every row (one JSON line each, in order)
    /// from one consistent snapshot, checking each row's key columns on the
    /// way; returns the head row count and hash of that snapshot. Stops
    /// quietly when the scanner stops reading (it found the first problem).
    async fn stream_trail(
        &self,
        checkpoints: tokio::sync::mpsc::Sender<Vec<u8>>,
        rows: tokio::sync::mpsc::Sender<Vec<u8>>,
    ) -> Result<(i64, String, ChainCheck), AuditError> {
        use futures_util::TryStreamExt;
        let line = |text: String| {
            let mut bytes = text.into_bytes();
            bytes.push(b'\n');
            bytes
        };
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_snapshot())
                .await
                .map_err(|e| self.query_error(e))?;
            let (head_rows, head_hash) = sqlx::query_as::<_, (i64, String)>(HEAD_FOR_UPDATE_SQLITE)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
            {
                let mut stream = sqlx::query_as::<_, (String,)>(
                    "SELECT line FROM audit_checkpoints ORDER BY seq",
                )
                .fetch(&mut *tx);
                while let Some((text,)) =
                    stream.try_next().await.map_err(|e| self.query_error(e))?
                {
                    if checkpoints.send(line(text)).await.is_err() {
                        break;
                    }
                }
            }
            drop(checkpoints);
            let mut columns = ChainCheck::default();
            {
                let mut stream = sqlx::query_as::<_, (i64, String, String)>(
                    "SELECT seq, hash, line FROM audit_rows ORDER BY seq",
                )
                .fetch(&mut *tx);
                while let Some((seq, hash, text)) =
                    stream.try_next().await.map_err(|e| self.query_error(e))?
                {
                    if columns.problem.is_none() {
                        columns.push(seq, &hash, &text);
                    }
                    if rows.send(line(text)).await.is_err() {
                        break;
                    }
                }
            }
            drop(rows);
            tx.commit().await.map_err(|e| self.query_error(e))?;
            Ok((head_rows, head_hash, columns))
        })
    }

    /// Writes the trail in the file era's format, so an auditor checks it
    /// with the exported public key alone (`verify-audit <path>
    /// --public-key`, or any script that follows API.md): the rows to
    /// `rows`, the checkpoints beside it ([`checkpoints_path`]), both from
    /// one snapshot, streamed (memory flat however long the chain), 0600,
    /// written to temp files renamed into place. Refuses to replace either
    /// file unless `replace`. Returns how many rows were written.
    pub async fn export(&self, rows: &Path, replace: bool) -> Result<u64, AuditError> {
        let files = [checkpoints_path(rows), rows.to_owned()];
        for file in &files {
            if !replace && std::fs::symlink_metadata(file).is_ok() {
                return Err(AuditError {
                    path: file.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "it exists already (pass --force to replace it)",
                    ),
                });
            }
        }
        let (checkpoints_out, checkpoints_in) = tokio::sync::mpsc::channel(VERIFY_CHANNEL_LINES);
        let (rows_out, rows_in) = tokio::sync::mpsc::channel(VERIFY_CHANNEL_LINES);
        // In the order the snapshot streams them: checkpoints, then rows.
        let writer = tokio::task::spawn_blocking(move || {
            write_files(files.into_iter().zip([checkpoints_in, rows_in]))
        });
        let produced = self.stream_trail(checkpoints_out, rows_out).await;
        let written = writer
            .await
            .map_err(|_| self.error(self.db.corrupt("the audit export stopped unexpectedly")))?;
        // A failed read ends the stream early: its error wins, and the
        // cut-short temp files are removed instead of renamed into place.
        produced?;
        let (staged, rows) = written?;
        staged.commit()?;
        Ok(rows)
    }

    fn query_error(&self, error: sqlx::Error) -> AuditError {
        self.error(self.db.query_error(&error))
    }

    fn known_head(&self) -> Option<(i64, String)> {
        self.head.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remember_head(&self, head: Option<(i64, String)>) {
        *self.head.lock().unwrap_or_else(|e| e.into_inner()) = head;
    }

    /// `event` as the row after `head`, and that row's JSON line.
    fn chained(
        &self,
        event: AuditEvent,
        (count, prev_hash): (i64, String),
    ) -> Result<(AuditRow, String), AuditError> {
        let seq = count as u64 + 1;
        let hash = row_hash(seq, &event, &prev_hash);
        let row = AuditRow {
            seq,
            event,
            prev_hash,
            hash,
        };
        let line = serde_json::to_string(&row)
            .map_err(|_| self.error(self.db.corrupt("an audit row could not be encoded")))?;
        Ok((row, line))
    }

    /// The append without a transaction on PostgreSQL: the row after the
    /// head this sink knows, stored only if that is still the head
    /// ([`APPEND_IF_HEAD_POSTGRES`]). `None` when it lost every try or the
    /// row is due a checkpoint (those are signed under the head's lock).
    async fn append_if_head(
        &self,
        pool: &sqlx::PgPool,
        event: &AuditEvent,
    ) -> Result<Option<AuditRow>, AuditError> {
        for _ in 0..APPEND_IF_HEAD_TRIES {
            let head = match self.known_head() {
                Some(head) => head,
                None => sqlx::query_as::<_, (i64, String)>(HEAD_FOR_UPDATE_SQLITE)
                    .fetch_one(pool)
                    .await
                    .map_err(|e| self.query_error(e))?,
            };
            if (head.0 as u64 + 1).is_multiple_of(self.every_rows) {
                return Ok(None);
            }
            let prev_hash = head.1.clone();
            let (row, line) = self.chained(event.clone(), head)?;
            let done = sqlx::query(APPEND_IF_HEAD_POSTGRES)
                .bind(row.seq as i64)
                .bind(&row.hash)
                .bind(line)
                .bind(prev_hash)
                .execute(pool)
                .await
                .map_err(|e| self.query_error(e))?;
            if done.rows_affected() == 1 {
                self.remember_head(Some((row.seq as i64, row.hash.clone())));
                return Ok(Some(row));
            }
            self.remember_head(None);
        }
        Ok(None)
    }

    /// The checkpoint after the stored `last` over `rows` rows ending in
    /// `head`, and its line; `None` when `last` already covers every row
    /// (or this sink only verifies). The caller holds the head's lock.
    fn next_checkpoint(
        &self,
        last: Option<String>,
        rows: u64,
        head: &str,
        reason: CheckpointReason,
    ) -> Result<Option<(i64, String)>, AuditError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let last = last
            .map(|line| serde_json::from_str::<Checkpoint>(&line))
            .transpose()
            .map_err(|_| {
                self.error(
                    self.db
                        .corrupt("a stored checkpoint is not one this proxy wrote"),
                )
            })?;
        if last.as_ref().is_some_and(|c| c.rows == rows) {
            return Ok(None);
        }
        let checkpoint = signer.sign(last.as_ref(), rows, head, now_rfc3339(), reason);
        let line = serde_json::to_string(&checkpoint)
            .map_err(|_| self.error(self.db.corrupt("a checkpoint could not be encoded")))?;
        Ok(Some((checkpoint.seq as i64, line)))
    }
}

/// Signs and stores the next checkpoint inside the transaction `$tx`
/// (which holds the head's lock); evaluates to the stored line, if any.
macro_rules! store_checkpoint {
    ($sink:expr, $tx:expr, $rows:expr, $head:expr, $reason:expr) => {{
        let last = sqlx::query_scalar::<_, String>(LAST_CHECKPOINT)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(|e| $sink.query_error(e))?;
        let next = $sink.next_checkpoint(last, $rows, $head, $reason)?;
        if let Some((seq, line)) = &next {
            sqlx::query("INSERT INTO audit_checkpoints (seq, line) VALUES ($1, $2)")
                .bind(*seq)
                .bind(line)
                .execute(&mut *$tx)
                .await
                .map_err(|e| $sink.query_error(e))?;
        }
        next.map(|(_, line)| line)
    }};
}

#[async_trait]
impl AuditSink for DbAuditSink {
    async fn append(&self, event: AuditEvent) -> Result<AuditRow, AuditError> {
        let _turn = match self.db.pool() {
            Pool::Postgres(_) => Some(self.appending.lock().await),
            Pool::Sqlite(_) => None,
        };
        if let Pool::Postgres(pool) = self.db.pool()
            && let Some(row) = self.append_if_head(pool, &event).await?
        {
            return Ok(row);
        }
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(|e| self.query_error(e))?;
            let head = sqlx::query_as::<_, (i64, String)>(
                dialect.pick(HEAD_FOR_UPDATE_SQLITE, HEAD_FOR_UPDATE_POSTGRES),
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.query_error(e))?;
            let (row, line) = self.chained(event, head)?;
            let seq = row.seq;
            sqlx::query("INSERT INTO audit_rows (seq, hash, line) VALUES ($1, $2, $3)")
                .bind(seq as i64)
                .bind(&row.hash)
                .bind(line)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq as i64)
                .bind(&row.hash)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
            if seq.is_multiple_of(self.every_rows) {
                store_checkpoint!(self, tx, seq, &row.hash, CheckpointReason::Rows);
            }
            tx.commit().await.map_err(|e| self.query_error(e))?;
            self.remember_head(Some((seq as i64, row.hash.clone())));
            Ok(row)
        })
    }

    async fn checkpoint(&self, reason: CheckpointReason) -> Result<Option<Checkpoint>, AuditError> {
        if self.signer.is_none() {
            return Ok(None);
        }
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(|e| self.query_error(e))?;
            let (count, head) = sqlx::query_as::<_, (i64, String)>(
                dialect.pick(HEAD_FOR_UPDATE_SQLITE, HEAD_FOR_UPDATE_POSTGRES),
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.query_error(e))?;
            let signed = store_checkpoint!(self, tx, count as u64, &head, reason);
            tx.commit().await.map_err(|e| self.query_error(e))?;
            signed
                .map(|line| serde_json::from_str::<Checkpoint>(&line))
                .transpose()
                .map_err(|_| self.error(self.db.corrupt("a checkpoint could not be read back")))
        })
    }

    /// Streams the table through the file format's scanner: rows and
    /// checkpoints flow from one snapshot over bounded channels to the
    /// scanner on a blocking thread, so memory stays flat however long the
    /// chain is (nothing is collected).
    async fn verify(&self) -> Result<VerifyReport, AuditError> {
        let (checkpoints_out, checkpoints_in) = tokio::sync::mpsc::channel(VERIFY_CHANNEL_LINES);
        let (rows_out, rows_in) = tokio::sync::mpsc::channel(VERIFY_CHANNEL_LINES);
        let key = self.key;
        let scanner = tokio::task::spawn_blocking(move || {
            scan_readers(
                Some(ChannelReader::new(rows_in)),
                Some(ChannelReader::new(checkpoints_in)),
                &key,
            )
        });
        let produced = self.stream_trail(checkpoints_out, rows_out).await;
        let scanned = scanner.await;
        // A failed read ends the stream early: its error wins over whatever
        // the scanner made of the cut (which would look like a truncation).
        let (head_rows, head_hash, columns) = produced?;
        let scan = scanned
            .map_err(|_| self.error(self.db.corrupt("the audit scan stopped unexpectedly")))?
            .map_err(|e| self.error(self.db.corrupt(e.to_string())))?;
        let mut report = scan.report;
        if let Some(reason) = report.reason.take() {
            report.reason = Some(
                reason
                    .replace(
                        "there is no audit file and no signed checkpoint",
                        "the audit table is empty and no checkpoint was ever signed",
                    )
                    .replace("audit file", "audit table"),
            );
        }
        let column_problem = columns
            .problem
            .clone()
            .filter(|(row, _)| report.first_bad_row.is_none_or(|bad| *row < bad) || report.ok);
        if let Some((row, reason)) = column_problem {
            return Ok(bad(report, TrailStatus::Tampered, row, reason));
        }
        if report.ok && (head_rows as u64 != report.rows || head_hash != scan.head) {
            let rows = report.rows;
            let (status, reason) = if head_rows as u64 > rows {
                (
                    TrailStatus::Truncated,
                    format!(
                        "the audit table ends after row {rows}, but its head records {head_rows} rows (rows were removed)"
                    ),
                )
            } else {
                (
                    TrailStatus::Tampered,
                    "the rows do not end at the chain's recorded head (written outside the proxy)"
                        .to_owned(),
                )
            };
            return Ok(bad(report, status, rows.min(head_rows as u64) + 1, reason));
        }
        Ok(report)
    }
}

/// Temp files written beside their targets, removed on drop unless
/// [`Staged::commit`] renamed them into place.
#[derive(Default)]
struct Staged(Vec<(PathBuf, PathBuf)>);

impl Staged {
    /// Renames every temp file onto its target, then syncs their directories.
    fn commit(mut self) -> Result<(), AuditError> {
        for (temp, path) in std::mem::take(&mut self.0) {
            let error = |source| AuditError {
                path: path.clone(),
                source,
            };
            std::fs::rename(&temp, &path).map_err(error)?;
            std::fs::File::open(parent(&path))
                .and_then(|dir| dir.sync_all())
                .map_err(error)?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _) in &self.0 {
            let _ = std::fs::remove_file(temp);
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes each stream of lines, in turn, to a private temp file beside its
/// target (synced); returns them staged, with the last stream's line count.
fn write_files(
    streams: impl Iterator<Item = (PathBuf, tokio::sync::mpsc::Receiver<Vec<u8>>)>,
) -> Result<(Staged, u64), AuditError> {
    use std::io::Write;
    let mut staged = Staged::default();
    let mut lines = 0;
    for (path, mut chunks) in streams {
        let error = |source| AuditError {
            path: path.clone(),
            source,
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("audit");
        let temp = parent(&path).join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&temp).map_err(error)?;
        staged.0.push((temp, path.clone()));
        let mut out = std::io::BufWriter::new(file);
        lines = 0;
        while let Some(chunk) = chunks.blocking_recv() {
            out.write_all(&chunk).map_err(error)?;
            lines += 1;
        }
        let file = out.into_inner().map_err(|e| error(e.into_error()))?;
        file.sync_all().map_err(error)?;
    }
    Ok((staged, lines))
}

fn bad(mut report: VerifyReport, status: TrailStatus, row: u64, reason: String) -> VerifyReport {
    report.ok = false;
    report.status = status;
    report.rows = report.rows.min(row.saturating_sub(1));
    report.first_bad_row = Some(row);
    report.first_bad_checkpoint = None;
    report.reason = Some(reason);
    report
}

/// Walks rows in `seq` order and remembers the first problem.
#[derive(Default)]
pub(crate) struct ChainCheck {
    rows: u64,
    head: Option<String>,
    problem: Option<(u64, String)>,
}

impl ChainCheck {
    /// Checks the next row; false once a problem was found.
    pub(crate) fn push(&mut self, seq: i64, hash: &str, line: &str) -> bool {
        let number = self.rows + 1;
        let prev = self.head.as_deref().unwrap_or(GENESIS_HASH);
        let checked = match check_row(line.as_bytes(), number, prev) {
            Ok(row) if row.seq as i64 != seq || row.hash != hash => {
                Err("the row's key columns disagree with its content (edited)")
            }
            other => other,
        };
        match checked {
            Ok(row) => {
                self.rows = number;
                self.head = Some(row.hash);
                true
            }
            Err(reason) => {
                self.problem = Some((number, reason.to_owned()));
                false
            }
        }
    }
}

/// A blocking [`std::io::Read`] over chunks sent from async code (the
/// scanner runs on a blocking thread); the end of the stream is EOF.
struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(chunks: tokio::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            chunks,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.chunks.blocking_recv() {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
