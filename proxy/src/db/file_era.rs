//! The file era: the Fernet JSON store and the JSON-lines audit log the
//! proxy kept before the database. They are imported once, on the first
//! start that finds them, and the store can be written back out in the same
//! format (`alphaswarm-proxy export`: backups, and the seed's "lost
//! encryption key" runbook).
//!
//! The import reads the files only (the originals stay untouched), checks
//! everything before it writes anything (the audit chain row by row, the
//! store's key check and every record), and writes in one transaction with
//! a marker, under a lock: replicas that start together import once, and
//! a failure leaves the database as it was.

use super::store::DbIntegrationStore;
use super::{Database, DbError, on_pool};
use crate::audit::{GENESIS_HASH, check_row};
use crate::config;
use crate::store::{FORMAT, KEY_CHECK_PLAINTEXT, StoreFile, StoredIntegration};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The `meta` row that records the import (its [`ImportReport`] as JSON).
const MARKER: &str = "file_era_import";
/// `pg_advisory_xact_lock` key of the import ("asimport").
const IMPORT_LOCK: i64 = 0x6173_696d_706f_7274;

/// Where the file era kept its state (the configured paths).
#[derive(Debug, Clone)]
pub struct FileSources {
    pub store: PathBuf,
    pub audit: PathBuf,
}

/// What an import did; kept in the database and told to the operator once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub imported_at: String,
    pub store_path: Option<String>,
    pub integrations: u64,
    pub audit_path: Option<String>,
    pub audit_rows: u64,
    /// A last audit line cut off by a crash (never acknowledged): not imported.
    pub torn_tail_bytes: u64,
    /// Why the files were left alone (the database already held state).
    pub skipped: Option<String>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(why) = &self.skipped {
            return write!(
                f,
                "the file-era state was NOT imported: {why}. The files are untouched{}{}",
                self.store_path
                    .as_deref()
                    .map(|p| format!("; store {p}"))
                    .unwrap_or_default(),
                self.audit_path
                    .as_deref()
                    .map(|p| format!("; audit log {p}"))
                    .unwrap_or_default()
            );
        }
        let mut parts = Vec::new();
        if let Some(path) = &self.store_path {
            parts.push(format!("{} integrations from {path}", self.integrations));
        }
        if let Some(path) = &self.audit_path {
            parts.push(format!(
                "{} audit rows from {path} (hash chain verified)",
                self.audit_rows
            ));
        }
        write!(
            f,
            "imported the file-era state: {}; the original files are untouched",
            parts.join(", ")
        )?;
        if self.torn_tail_bytes > 0 {
            write!(
                f,
                "; {} bytes of a last audit line cut off by a crash (never acknowledged) were left out",
                self.torn_tail_bytes
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "the file-era audit log {path} is not intact: row {row}: {reason}. Nothing was imported; keep the file as evidence and move it aside (or restore an intact copy) to start"
    )]
    AuditTampered {
        path: PathBuf,
        row: u64,
        reason: String,
    },
    #[error(
        "the file-era store {path} was written with another key than {}: set it to the key the store was written with",
        config::INTEGRATIONS_KEY
    )]
    StoreWrongKey { path: PathBuf },
    #[error("the file-era store {path} is not a store file this proxy understands ({what})")]
    StoreCorrupt { path: PathBuf, what: String },
    #[error("the file-era file {path} cannot be read: {source}")]
    Io {
        path: PathBuf,
        var: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::AuditTampered { .. } => "audit_import_refused",
            ImportError::StoreWrongKey { .. } => "store_import_wrong_key",
            ImportError::StoreCorrupt { .. } => "store_import_corrupt",
            ImportError::Io { .. } => "file_import_unreadable",
            ImportError::Database(e) => e.code(),
        }
    }

    pub fn var(&self) -> &'static str {
        match self {
            ImportError::AuditTampered { .. } => config::AUDIT_PATH,
            ImportError::StoreWrongKey { .. } => config::INTEGRATIONS_KEY,
            ImportError::StoreCorrupt { .. } => config::INTEGRATIONS_PATH,
            ImportError::Io { var, .. } => var,
            ImportError::Database(e) => e.var(),
        }
    }
}

/// One integration as it goes into the table: the file's token verbatim.
struct StoreRow {
    credential_key: String,
    org_id: String,
    kind: String,
    token: String,
}

/// One audit line, checked.
struct AuditLine {
    seq: u64,
    hash: String,
    line: String,
}

fn read_optional(path: &Path, var: &'static str) -> Result<Option<Vec<u8>>, ImportError> {
    // A device (/dev/zero, /dev/full) would be read without end.
    let io = |source| ImportError::Io {
        path: path.to_owned(),
        var,
        source,
    };
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ImportError::Io {
            path: path.to_owned(),
            var,
            source,
        }),
    }
}

/// Reads and checks the store file; `None` when there is none.
fn read_store(path: &Path, fernet: &fernet::Fernet) -> Result<Option<Vec<StoreRow>>, ImportError> {
    let Some(bytes) = read_optional(path, config::INTEGRATIONS_PATH)? else {
        return Ok(None);
    };
    let corrupt = |what: &str| ImportError::StoreCorrupt {
        path: path.to_owned(),
        what: what.to_owned(),
    };
    let file: StoreFile = serde_json::from_slice(&bytes).map_err(|_| corrupt("not JSON"))?;
    if file.format != FORMAT {
        return Err(corrupt("another format"));
    }
    if fernet.decrypt(&file.key_check).ok().as_deref() != Some(KEY_CHECK_PLAINTEXT) {
        return Err(ImportError::StoreWrongKey {
            path: path.to_owned(),
        });
    }
    let mut rows = Vec::with_capacity(file.records.len());
    for (credential_key, token) in file.records {
        let record: StoredIntegration = fernet
            .decrypt(&token)
            .ok()
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| corrupt(&format!("the record {credential_key} does not decrypt")))?;
        if record.credential_key != credential_key {
            return Err(corrupt(&format!(
                "the record under {credential_key} names another key"
            )));
        }
        rows.push(StoreRow {
            credential_key,
            org_id: record.org_id,
            kind: record.kind,
            token,
        });
    }
    Ok(Some(rows))
}

/// Reads and verifies the audit log; `None` when there is none. A last
/// line without its newline is a write cut off by a crash: left out.
fn read_audit(path: &Path) -> Result<Option<(Vec<AuditLine>, u64)>, ImportError> {
    let Some(bytes) = read_optional(path, config::AUDIT_PATH)? else {
        return Ok(None);
    };
    let (complete, torn) = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => bytes.split_at(end + 1),
        None => bytes.split_at(0),
    };
    let mut lines = Vec::new();
    let mut prev = GENESIS_HASH.to_owned();
    let complete = complete.strip_suffix(b"\n").unwrap_or_default();
    let split = complete
        .split(|b| *b == b'\n')
        .filter(|_| !complete.is_empty());
    for (index, line) in split.enumerate() {
        let number = index as u64 + 1;
        let row = check_row(line, number, &prev).map_err(|reason| ImportError::AuditTampered {
            path: path.to_owned(),
            row: number,
            reason: reason.to_owned(),
        })?;
        prev = row.hash.clone();
        lines.push(AuditLine {
            seq: row.seq,
            hash: row.hash,
            line: String::from_utf8_lossy(line).into_owned(),
        });
    }
    Ok(Some((lines, torn.len() as u64)))
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Imports the file-era state on the first start that finds it. `None`
/// when there is nothing to do (already imported, or no files).
pub async fn import_once(
    db: &Database,
    key: &str,
    sources: &FileSources,
) -> Result<Option<ImportReport>, ImportError> {
    if db.meta(MARKER).await?.is_some() {
        return Ok(None);
    }
    let fernet = fernet::Fernet::new(key.trim()).ok_or(ImportError::StoreWrongKey {
        path: sources.store.clone(),
    })?;
    let (store, audit) = {
        let (store_path, audit_path, fernet) =
            (sources.store.clone(), sources.audit.clone(), fernet.clone());
        tokio::task::spawn_blocking(move || {
            Ok::<_, ImportError>((read_store(&store_path, &fernet)?, read_audit(&audit_path)?))
        })
        .await
        .map_err(|e| ImportError::Io {
            path: sources.audit.clone(),
            var: config::AUDIT_PATH,
            source: std::io::Error::other(e),
        })??
    };
    if store.is_none() && audit.is_none() {
        return Ok(None);
    }
    let mut report = ImportReport {
        imported_at: now(),
        store_path: store.as_ref().map(|_| sources.store.display().to_string()),
        integrations: store.as_ref().map_or(0, |s| s.len() as u64),
        audit_path: audit.as_ref().map(|_| sources.audit.display().to_string()),
        audit_rows: audit.as_ref().map_or(0, |(a, _)| a.len() as u64),
        torn_tail_bytes: audit.as_ref().map_or(0, |(_, torn)| *torn),
        skipped: None,
    };
    let query = |e: sqlx::Error| ImportError::Database(db.query_error(&e));
    on_pool!(db, |pool, dialect| {
        let mut tx = pool
            .begin_with(dialect.begin_write())
            .await
            .map_err(query)?;
        if dialect == super::Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(IMPORT_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(query)?;
        }
        let marked = sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE name = $1")
            .bind(MARKER)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query)?;
        if marked.is_some() {
            // Another replica imported while this one read the files.
            return Ok(None);
        }
        let held: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM integrations) + (SELECT seq FROM audit_head WHERE id = 1)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(query)?;
        if held > 0 {
            report.integrations = 0;
            report.audit_rows = 0;
            report.skipped = Some(
                "the database already holds integrations or audit rows, and a file-era chain cannot continue another one".to_owned(),
            );
        } else {
            if let Some((lines, _)) = &audit {
                for line in lines {
                    sqlx::query("INSERT INTO audit_rows (seq, hash, line) VALUES ($1, $2, $3)")
                        .bind(line.seq as i64)
                        .bind(&line.hash)
                        .bind(&line.line)
                        .execute(&mut *tx)
                        .await
                        .map_err(query)?;
                }
                if let Some(last) = lines.last() {
                    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                        .bind(last.seq as i64)
                        .bind(&last.hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(query)?;
                }
            }
            for row in store.iter().flatten() {
                sqlx::query(
                    "INSERT INTO integrations (credential_key, org_id, kind, record) VALUES ($1, $2, $3, $4)",
                )
                .bind(&row.credential_key)
                .bind(&row.org_id)
                .bind(&row.kind)
                .bind(&row.token)
                .execute(&mut *tx)
                .await
                .map_err(query)?;
            }
        }
        let value = serde_json::to_string(&report).unwrap_or_default();
        sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2)")
            .bind(MARKER)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(query)?;
        tx.commit().await.map_err(query)?;
        Ok(Some(report))
    })
}

/// What the database says about the import, if one ran.
pub async fn import_report(db: &Database) -> Result<Option<ImportReport>, DbError> {
    Ok(db
        .meta(MARKER)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok()))
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path} exists; pass --force to replace it")]
    Exists { path: PathBuf },
    #[error("{path} cannot be written: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Writes every integration to `path` in the file era's format (records
/// as stored, each checked to decrypt), atomically and 0600. Rows are
/// streamed: the export never holds the whole store in memory.
pub async fn export(
    store: &DbIntegrationStore,
    path: &Path,
    replace: bool,
) -> Result<u64, ExportError> {
    if !replace && tokio::fs::try_exists(path).await.unwrap_or(true) {
        return Err(ExportError::Exists {
            path: path.to_owned(),
        });
    }
    let io = |source: std::io::Error| ExportError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("export");
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(&temp).await.map_err(io)?;
    let written = write_export(store, file).await;
    let finished = match written {
        Ok(count) => tokio::fs::rename(&temp, path)
            .await
            .and_then(|()| std::fs::File::open(&dir)?.sync_all())
            .map(|()| count)
            .map_err(io),
        Err(e) => Err(e),
    };
    if finished.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    finished
}

async fn write_export(
    store: &DbIntegrationStore,
    file: tokio::fs::File,
) -> Result<u64, ExportError> {
    let db = store.database();
    let io = |source: std::io::Error| ExportError::Io {
        path: PathBuf::from(db.site().location.clone()),
        source,
    };
    let encode = |value: &str| serde_json::to_string(value).unwrap_or_default();
    let mut out = tokio::io::BufWriter::new(file);
    let head = format!(
        "{{\"format\":{},\"key_check\":{},\"records\":{{",
        encode(FORMAT),
        encode(&store.key_check().await?)
    );
    out.write_all(head.as_bytes()).await.map_err(io)?;
    let mut count = 0u64;
    on_pool!(db, |pool, dialect| {
        let mut rows = sqlx::query_as::<_, (String, String)>(
            "SELECT credential_key, record FROM integrations ORDER BY credential_key",
        )
        .fetch(pool);
        while let Some((key, token)) = rows
            .try_next()
            .await
            .map_err(|e| crate::store::StoreError::from(db.query_error(&e)))?
        {
            // A row the key cannot read must not leave silently.
            store.decrypt(&token)?;
            let separator = if count == 0 { "" } else { "," };
            let entry = format!("{separator}{}:{}", encode(&key), encode(&token));
            out.write_all(entry.as_bytes()).await.map_err(io)?;
            count += 1;
        }
    });
    out.write_all(b"}}\n").await.map_err(io)?;
    out.flush().await.map_err(io)?;
    out.into_inner().sync_all().await.map_err(io)?;
    Ok(count)
}
