//! The sign-in guards every replica shares, so a second replica is not a
//! second chance: the TOTP "code accepted once" guard (the last accepted
//! step) and the login/step-up attempt budgets live in the database, not
//! in a process or its state directory.

use super::{Database, Dialect, on_pool};
use crate::auth::limiter::{
    AttemptBudget, AttemptKind, AttemptTicket, BackoffPolicy, Blocked, BudgetKey, ClientKey, Count,
    Refusal,
};
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

/// The attempt budgets of [`crate::auth::limiter`] in the `attempt_budgets`
/// table. Each change loads the ticket's two records, applies the policy
/// and writes them back in one transaction that holds the database's lock
/// on both budgets (SQLite's write lock; on PostgreSQL an advisory lock per
/// budget, the client's before the account's, so two replicas never count
/// the same budget from the same stale value, and never deadlock).
pub struct DbAttemptBudget {
    db: Database,
    policy: BackoffPolicy,
}

const UPSERT_BUDGET: &str = "INSERT INTO attempt_budgets \
     (budget, failures, last_failure_ms, closed_until_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (budget) DO UPDATE SET failures = excluded.failures, \
     last_failure_ms = excluded.last_failure_ms, closed_until_ms = excluded.closed_until_ms";

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

type Change<'a, T> = Box<
    dyn FnOnce([Option<Count>; 2], u64) -> Result<([Option<Count>; 2], T), Blocked> + Send + 'a,
>;

impl DbAttemptBudget {
    pub fn new(db: Database, policy: BackoffPolicy) -> Self {
        DbAttemptBudget { db, policy }
    }

    /// Runs `change` on the two records of `keys` under the lock; `sweep`
    /// also deletes records forgotten by now (kept out of the other paths).
    async fn update<T: Send>(
        &self,
        keys: &[BudgetKey; 2],
        sweep: bool,
        change: Change<'_, T>,
    ) -> Result<T, Refusal> {
        let names = [keys[0].name(), keys[1].name()];
        let forget_ms = self.policy.forget_after.as_millis() as u64;
        let failed = |e: sqlx::Error| {
            tracing::error!(error = %self.db.query_error(&e), "the attempt budgets could not be used");
            Refusal::Unavailable
        };
        on_pool!(self.db, |pool, dialect| {
            let mut tx = pool
                .begin_with(dialect.begin_write())
                .await
                .map_err(failed)?;
            if dialect == Dialect::Postgres {
                for (class, name) in [(1i32, &names[0]), (2, &names[1])] {
                    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                        .bind(class)
                        .bind(name)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed)?;
                }
            }
            let now = unix_ms();
            let rows = sqlx::query_as::<_, (String, i64, i64, Option<i64>)>(
                "SELECT budget, failures, last_failure_ms, closed_until_ms \
                 FROM attempt_budgets WHERE budget = $1 OR budget = $2",
            )
            .bind(&names[0])
            .bind(&names[1])
            .fetch_all(&mut *tx)
            .await
            .map_err(failed)?;
            let record = |name: &str| {
                rows.iter()
                    .find(|(budget, ..)| budget == name)
                    .map(|(_, failures, last, until)| Count {
                        failures: u32::try_from(*failures).unwrap_or(u32::MAX),
                        last_failure_ms: u64::try_from(*last).unwrap_or(0),
                        closed_until_ms: until.map(|u| u64::try_from(u).unwrap_or(0)),
                    })
            };
            let records = [record(&names[0]), record(&names[1])];
            // Blocked: the transaction is dropped, nothing changes.
            let (records, out) = change(records, now)?;
            for (name, record) in names.iter().zip(records) {
                match record {
                    Some(count) => sqlx::query(UPSERT_BUDGET)
                        .bind(name)
                        .bind(i64::from(count.failures))
                        .bind(to_i64(count.last_failure_ms))
                        .bind(count.closed_until_ms.map(to_i64)),
                    None => sqlx::query("DELETE FROM attempt_budgets WHERE budget = $1").bind(name),
                }
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            }
            if sweep {
                sqlx::query(
                    "DELETE FROM attempt_budgets WHERE last_failure_ms < $1 \
                     AND (closed_until_ms IS NULL OR closed_until_ms <= $2)",
                )
                .bind(to_i64(now.saturating_sub(forget_ms)))
                .bind(to_i64(now))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            }
            tx.commit().await.map_err(failed)?;
            Ok(out)
        })
    }
}

#[async_trait]
impl AttemptBudget for DbAttemptBudget {
    async fn reserve(
        &self,
        kind: AttemptKind,
        client: ClientKey,
        account: &str,
    ) -> Result<AttemptTicket, Refusal> {
        let ticket = AttemptTicket::new(kind, client, account);
        let keys = ticket.keys();
        let policy = self.policy;
        let change: Change<'_, ()> =
            Box::new(|records, now| Ok((policy.reserve(&keys, records, now)?, ())));
        self.update(&ticket.keys(), true, change).await?;
        Ok(ticket)
    }

    async fn succeeded(&self, ticket: AttemptTicket) {
        let keys = ticket.keys();
        let policy = self.policy;
        let change: Change<'_, ()> =
            Box::new(|records, _| Ok((policy.succeeded(&keys, records), ())));
        // A failure leaves the attempt counted: the safe side.
        let _ = self.update(&ticket.keys(), false, change).await;
    }

    async fn cancelled(&self, ticket: AttemptTicket) {
        let keys = ticket.keys();
        let policy = self.policy;
        let change: Change<'_, ()> =
            Box::new(|records, _| Ok((policy.cancelled(&keys, records), ())));
        let _ = self.update(&ticket.keys(), false, change).await;
    }
}
