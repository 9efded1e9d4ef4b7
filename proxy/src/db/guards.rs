//! The sign-in guards every replica shares, so a second replica is not a
//! second chance: the TOTP "code accepted once" step and the failed-attempt
//! budget live in the database, not in a process.

use super::{Database, DbError, on_pool};

#[derive(Clone)]
pub struct AuthGuards {
    db: Database,
}

impl AuthGuards {
    pub fn new(db: Database) -> Self {
        AuthGuards { db }
    }

    /// Claims a TOTP time step: `true` for the first claim of a step later
    /// than every step accepted before, by any replica. One statement, so
    /// two replicas offered the same code cannot both accept it.
    /// `guard` names the `meta` row of one operator's last accepted step.
    pub async fn claim_totp_step(&self, guard: &str, step: u64) -> Result<bool, DbError> {
        let step = i64::try_from(step).unwrap_or(i64::MAX).to_string();
        on_pool!(self.db, |pool, dialect| {
            sqlx::query(
                "INSERT INTO meta (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value \
                 WHERE CAST(meta.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
            )
            .bind(guard)
            .bind(&step)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(|e| self.db.query_error(&e))
        })
    }

    /// Failed attempts at or after `since_ms` (older ones are forgotten).
    pub async fn failures_since(&self, since_ms: i64) -> Result<u64, DbError> {
        let count = on_pool!(self.db, |pool, dialect| {
            sqlx::query("DELETE FROM auth_failures WHERE at < $1")
                .bind(since_ms)
                .execute(pool)
                .await
                .map_err(|e| self.db.query_error(&e))?;
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM auth_failures WHERE at >= $1")
                .bind(since_ms)
                .fetch_one(pool)
                .await
                .map_err(|e| self.db.query_error(&e))
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub async fn record_failure(&self, at_ms: i64) -> Result<(), DbError> {
        on_pool!(self.db, |pool, dialect| {
            sqlx::query("INSERT INTO auth_failures (at) VALUES ($1)")
                .bind(at_ms)
                .execute(pool)
                .await
                .map(drop)
                .map_err(|e| self.db.query_error(&e))
        })
    }
}
