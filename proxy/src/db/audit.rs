//! [`AuditSink`] on the database: the hash chain in `audit_rows`, its head
//! in `audit_head`.
//!
//! An append reads the head and moves it in one transaction that holds the
//! database's lock on it (SQLite's write lock, a PostgreSQL row lock), so
//! rows of several replicas interleave into ONE linear chain; `seq` is the
//! primary key besides, so a fork could not even be stored. Each row's
//! JSON is kept byte for byte (`line`), as the file era wrote it, and the
//! formula is the file's ([`crate::audit::row_hash`]).

use super::{Database, DbError, on_pool};
use crate::audit::{
    AuditError, AuditEvent, AuditRow, AuditSink, GENESIS_HASH, VerifyReport, check_row, row_hash,
};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::Row;

const HEAD_FOR_UPDATE_SQLITE: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
const HEAD_FOR_UPDATE_POSTGRES: &str = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";

pub struct DbAuditSink {
    db: Database,
}

impl DbAuditSink {
    pub fn new(db: Database) -> Self {
        DbAuditSink { db }
    }

    fn error(&self, error: DbError) -> AuditError {
        AuditError {
            path: self.db.site().location.clone().into(),
            source: std::io::Error::other(error.to_string()),
        }
    }

    fn query_error(&self, error: sqlx::Error) -> AuditError {
        self.error(self.db.query_error(&error))
    }
}

#[async_trait]
impl AuditSink for DbAuditSink {
    async fn append(&self, event: AuditEvent) -> Result<AuditRow, AuditError> {
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(|e| self.query_error(e))?;
            let (count, prev_hash) = sqlx::query_as::<_, (i64, String)>(
                dialect.pick(HEAD_FOR_UPDATE_SQLITE, HEAD_FOR_UPDATE_POSTGRES),
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.query_error(e))?;
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
            tx.commit().await.map_err(|e| self.query_error(e))?;
            Ok(row)
        })
    }

    async fn verify(&self) -> Result<VerifyReport, AuditError> {
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_snapshot())
                .await
                .map_err(|e| self.query_error(e))?;
            let (head_rows, head_hash) = sqlx::query_as::<_, (i64, String)>(HEAD_FOR_UPDATE_SQLITE)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
            let mut checker = ChainCheck::default();
            {
                let mut rows = sqlx::query("SELECT seq, hash, line FROM audit_rows ORDER BY seq")
                    .fetch(&mut *tx);
                while let Some(row) = rows.try_next().await.map_err(|e| self.query_error(e))? {
                    let seq: i64 = row.try_get("seq").map_err(|e| self.query_error(e))?;
                    let hash: String = row.try_get("hash").map_err(|e| self.query_error(e))?;
                    let line: String = row.try_get("line").map_err(|e| self.query_error(e))?;
                    if !checker.push(seq, &hash, &line) {
                        break;
                    }
                }
            }
            tx.commit().await.map_err(|e| self.query_error(e))?;
            Ok(checker.report(head_rows as u64, head_hash))
        })
    }
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

    /// The verdict, given the head the table says it has.
    pub(crate) fn report(self, head_rows: u64, head_hash: String) -> VerifyReport {
        let last = self.head.unwrap_or_else(|| GENESIS_HASH.to_owned());
        let problem = self.problem.or_else(|| {
            if head_rows > self.rows {
                let what = if self.rows == 0 {
                    "the audit table is empty".to_owned()
                } else {
                    format!("the audit table ends after row {}", self.rows)
                };
                Some((
                    self.rows + 1,
                    format!("{what}, but its head records {head_rows} rows (rows were removed)"),
                ))
            } else if head_rows < self.rows || head_hash != last {
                Some((
                    head_rows + 1,
                    "the rows do not end at the chain's recorded head (written outside the proxy)"
                        .to_owned(),
                ))
            } else {
                None
            }
        });
        VerifyReport {
            ok: problem.is_none(),
            rows: self.rows,
            first_bad_row: problem.as_ref().map(|(row, _)| *row),
            reason: problem.map(|(_, reason)| reason),
        }
    }
}
