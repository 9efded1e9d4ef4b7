//! The TOTP "code accepted once" guard every replica shares, so a second
//! replica is not a second chance: the last accepted step lives in the
//! database, not in a process or its state directory.

use super::{Database, on_pool};
use crate::auth::replay::TotpReplayGuard;
use async_trait::async_trait;

#[derive(Clone)]
pub struct AuthGuards {
    db: Database,
    /// Which operator's steps (see `LocalAuth::replay_scope`).
    scope: String,
}

impl AuthGuards {
    pub fn new(db: Database, scope: String) -> Self {
        AuthGuards { db, scope }
    }
}

#[async_trait]
impl TotpReplayGuard for AuthGuards {
    /// `true` for the first claim of a step later than every step accepted
    /// before, by any replica. One statement, so two replicas offered the
    /// same code cannot both accept it.
    async fn claim(&self, subject: &str, step: u64) -> std::io::Result<bool> {
        let guard = format!("totp_last_step:{}:{subject}", self.scope);
        let step = i64::try_from(step).unwrap_or(i64::MAX).to_string();
        on_pool!(self.db, |pool, dialect| {
            sqlx::query(
                "INSERT INTO meta (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value \
                 WHERE CAST(meta.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
            )
            .bind(&guard)
            .bind(&step)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(|e| std::io::Error::other(self.db.query_error(&e).to_string()))
        })
    }
}
