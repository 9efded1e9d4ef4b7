//! [`IntegrationStore`] on the database: one row per credential key.
//!
//! The record is one Fernet token (`ALPHASWARM_ADMIN_INTEGRATIONS_KEY`) of
//! its JSON, exactly as the file era kept it; `org_id` and `kind` sit
//! beside it in plain, indexed columns so one org is listed without
//! reading any other row. A write is one statement, durable on commit:
//! nothing is ever rewritten wholesale and nothing is cached in memory.

use super::{Database, DbError, on_pool};
use crate::store::{
    HealthUpdate, IntegrationStore, KEY_CHECK_PLAINTEXT, StoreError, StoredIntegration,
};
use alphaswarm_core::external_id::hmac_sha256;
use async_trait::async_trait;
use std::sync::Arc;

/// The `meta` row holding a Fernet token of [`KEY_CHECK_PLAINTEXT`].
const KEY_CHECK: &str = "integrations_key_check";

const UPSERT: &str = "INSERT INTO integrations (credential_key, org_id, kind, record) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (credential_key) DO UPDATE \
     SET org_id = excluded.org_id, kind = excluded.kind, record = excluded.record";

pub struct DbIntegrationStore {
    db: Database,
    fernet: Arc<fernet::Fernet>,
    /// Keys the claim column's hashes (derived from the integrations key),
    /// so the column names no account to whoever reads the database.
    claim_key: [u8; 32],
}

/// The row's upsert with its account claim.
const UPSERT_CLAIMED: &str = "INSERT INTO integrations (credential_key, org_id, kind, record, claim) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (credential_key) DO UPDATE \
     SET org_id = excluded.org_id, kind = excluded.kind, record = excluded.record, \
     claim = excluded.claim";

impl DbIntegrationStore {
    /// Checks `key` against the database: the first store to open records a
    /// key check, every later one (any replica) must decrypt it.
    pub async fn open(db: Database, key: &str) -> Result<Self, StoreError> {
        let fernet = fernet::Fernet::new(key.trim()).ok_or(StoreError::BadKey)?;
        let check = db
            .meta_insert_once(KEY_CHECK, &fernet.encrypt(KEY_CHECK_PLAINTEXT))
            .await?;
        if fernet.decrypt(&check).ok().as_deref() != Some(KEY_CHECK_PLAINTEXT) {
            return Err(DbError::WrongKey {
                at: db.site().clone(),
            }
            .into());
        }
        let claim_key = hmac_sha256(key.trim().as_bytes(), b"alphaswarm integration claim v1");
        Ok(DbIntegrationStore {
            db,
            fernet: Arc::new(fernet),
            claim_key,
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The key check as stored (what an exported file carries).
    pub async fn key_check(&self) -> Result<String, StoreError> {
        self.db.meta(KEY_CHECK).await?.ok_or_else(|| {
            self.db
                .corrupt("the integrations key check is missing")
                .into()
        })
    }

    pub(crate) fn encrypt(&self, record: &StoredIntegration) -> Result<String, StoreError> {
        let plain = serde_json::to_vec(record)
            .map_err(|_| self.db.corrupt("a record could not be encoded"))?;
        Ok(self.fernet.encrypt(&plain))
    }

    pub(crate) fn decrypt(&self, token: &str) -> Result<StoredIntegration, StoreError> {
        let plain = self.fernet.decrypt(token).map_err(|_| DbError::WrongKey {
            at: self.db.site().clone(),
        })?;
        serde_json::from_slice(&plain).map_err(|_| {
            self.db
                .corrupt("a stored record is not a record this proxy wrote")
                .into()
        })
    }

    /// The claim column's value for `same` (the metadata that names one
    /// cloud account, compared case-insensitively).
    fn claim(&self, same: &[(String, String)]) -> String {
        let mut pairs: Vec<String> = same
            .iter()
            .map(|(name, value)| format!("{name}={}", value.to_ascii_lowercase()))
            .collect();
        pairs.sort();
        hex::encode(hmac_sha256(&self.claim_key, pairs.join("\n").as_bytes()))
    }

    fn query_error(&self, e: sqlx::Error) -> StoreError {
        self.db.query_error(&e).into()
    }

    /// Decrypts the records a `SELECT record …` finds (bound to `arg` if any).
    async fn select(
        &self,
        sql: &'static str,
        arg: Option<&str>,
    ) -> Result<Vec<StoredIntegration>, StoreError> {
        let tokens = on_pool!(self.db, |pool, dialect| {
            let mut query = sqlx::query_scalar::<_, String>(sql);
            if let Some(arg) = arg {
                query = query.bind(arg);
            }
            query.fetch_all(pool).await.map_err(|e| self.query_error(e))
        })?;
        tokens.iter().map(|t| self.decrypt(t)).collect()
    }

    /// Inserts many records in one transaction (imports, benchmarks).
    pub async fn put_many(&self, batch: Vec<StoredIntegration>) -> Result<(), StoreError> {
        let rows = batch
            .iter()
            .map(|r| Ok((r, self.encrypt(r)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(|e| self.query_error(e))?;
            for (record, token) in rows {
                sqlx::query(UPSERT)
                    .bind(&record.credential_key)
                    .bind(&record.org_id)
                    .bind(&record.kind)
                    .bind(token)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.query_error(e))?;
            }
            tx.commit().await.map_err(|e| self.query_error(e))
        })
    }
}

#[async_trait]
impl IntegrationStore for DbIntegrationStore {
    async fn put(&self, record: StoredIntegration) -> Result<(), StoreError> {
        let token = self.encrypt(&record)?;
        on_pool!(self.db, |pool, dialect| {
            sqlx::query(UPSERT)
                .bind(&record.credential_key)
                .bind(&record.org_id)
                .bind(&record.kind)
                .bind(token)
                .execute(pool)
                .await
                .map_err(|e| self.query_error(e))
                .map(drop)
        })
    }

    /// One write transaction: the other orgs' records of the kind are read
    /// and the record saved under a lock every such save takes (SQLite's
    /// write lock; on PostgreSQL an advisory lock per kind), so of two
    /// orgs claiming one account at once exactly one wins.
    async fn put_unless_claimed(
        &self,
        record: StoredIntegration,
        same: &[(String, String)],
    ) -> Result<Option<String>, StoreError> {
        let token = self.encrypt(&record)?;
        let claim = (!same.is_empty()).then(|| self.claim(same));
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(|e| self.query_error(e))?;
            if dialect == super::Dialect::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("claim:{}", record.kind))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.query_error(e))?;
            }
            if let Some(claim) = &claim {
                // Rows written before claims existed have none: those are
                // decrypted and compared as before; every other row by index.
                let others: Vec<String> = sqlx::query_scalar(
                    "SELECT record FROM integrations WHERE kind = $1 AND org_id <> $2 \
                     AND (claim = $3 OR claim IS NULL)",
                )
                .bind(&record.kind)
                .bind(&record.org_id)
                .bind(claim)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
                let others = others
                    .iter()
                    .map(|t| self.decrypt(t))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                if let Some(other) = crate::store::claimed_by(&others, &record, same) {
                    return Ok(Some(other));
                }
            }
            sqlx::query(UPSERT_CLAIMED)
                .bind(&record.credential_key)
                .bind(&record.org_id)
                .bind(&record.kind)
                .bind(&token)
                .bind(&claim)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
            tx.commit().await.map_err(|e| self.query_error(e))?;
            Ok(None)
        })
    }

    async fn remove(&self, credential_key: &str) -> Result<bool, StoreError> {
        on_pool!(self.db, |pool, dialect| {
            sqlx::query("DELETE FROM integrations WHERE credential_key = $1")
                .bind(credential_key)
                .execute(pool)
                .await
                .map_err(|e| self.query_error(e))
                .map(|done| done.rows_affected() > 0)
        })
    }

    async fn get(&self, credential_key: &str) -> Result<Option<StoredIntegration>, StoreError> {
        let token = on_pool!(self.db, |pool, dialect| {
            sqlx::query_scalar::<_, String>(
                "SELECT record FROM integrations WHERE credential_key = $1",
            )
            .bind(credential_key)
            .fetch_optional(pool)
            .await
            .map_err(|e| self.query_error(e))
        })?;
        token.map(|t| self.decrypt(&t)).transpose()
    }

    async fn list_org(&self, org_id: &str) -> Result<Vec<StoredIntegration>, StoreError> {
        self.select(
            "SELECT record FROM integrations WHERE org_id = $1 ORDER BY credential_key",
            Some(org_id),
        )
        .await
    }

    async fn list_kind(&self, kind: &str) -> Result<Vec<StoredIntegration>, StoreError> {
        self.select(
            "SELECT record FROM integrations WHERE kind = $1 ORDER BY credential_key",
            Some(kind),
        )
        .await
    }

    async fn list_all(&self) -> Result<Vec<StoredIntegration>, StoreError> {
        self.select(
            "SELECT record FROM integrations ORDER BY credential_key",
            None,
        )
        .await
    }

    /// Keyset paging on the primary key: each page is one index range scan.
    async fn list_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredIntegration>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let tokens = on_pool!(self.db, |pool, dialect| {
            sqlx::query_scalar::<_, String>(
                "SELECT record FROM integrations WHERE credential_key > $1 \
                 ORDER BY credential_key LIMIT $2",
            )
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(|e| self.query_error(e))
        })?;
        tokens.iter().map(|t| self.decrypt(t)).collect()
    }

    /// One transaction per batch: each result re-reads its row under the
    /// write lock, so a record re-connected meanwhile (by any replica) is
    /// left alone, and rewrites that row only.
    async fn record_health(&self, updates: &[HealthUpdate]) -> Result<usize, StoreError> {
        if updates.is_empty() {
            return Ok(0);
        }
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(|e| self.query_error(e))?;
            let mut written = 0;
            for update in updates {
                let token: Option<String> = sqlx::query_scalar(dialect.pick(
                    "SELECT record FROM integrations WHERE credential_key = $1",
                    "SELECT record FROM integrations WHERE credential_key = $1 FOR UPDATE",
                ))
                .bind(&update.credential_key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.query_error(e))?;
                let Some(token) = token else { continue };
                let mut record = self.decrypt(&token)?;
                if !update.apply(&mut record) {
                    continue;
                }
                sqlx::query("UPDATE integrations SET record = $2 WHERE credential_key = $1")
                    .bind(&update.credential_key)
                    .bind(self.encrypt(&record)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.query_error(e))?;
                written += 1;
            }
            tx.commit().await.map_err(|e| self.query_error(e))?;
            Ok(written)
        })
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let count = on_pool!(self.db, |pool, dialect| {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM integrations")
                .fetch_one(pool)
                .await
                .map_err(|e| self.query_error(e))
        })?;
        Ok(usize::try_from(count).unwrap_or(0))
    }
}
