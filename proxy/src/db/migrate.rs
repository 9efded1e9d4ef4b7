//! Versioned schema migrations, run at every start.
//!
//! All pending migrations run in ONE transaction (both SQLite and
//! PostgreSQL have transactional DDL): a failure rolls every one of them
//! back, so a schema is never half-migrated. The transaction first takes a
//! lock (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write
//! lock), so replicas that start together migrate one after the other and
//! the later ones find nothing to do. `schema_migrations` records each
//! version with a SHA-256 of its SQL: an edited migration, or a schema
//! newer than this release, stops start-up instead of being guessed at.

use super::{Database, DbError, describe, on_pool};
use sha2::{Digest, Sha256};
use sqlx::Row;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "integrations and audit chain",
        sqlite: include_str!("migrations/0001_sqlite.sql"),
        postgres: include_str!("migrations/0001_postgres.sql"),
    },
    Migration {
        version: 2,
        name: "sign-in guards",
        sqlite: include_str!("migrations/0002_auth_guards.sql"),
        postgres: include_str!("migrations/0002_auth_guards.sql"),
    },
    Migration {
        version: 3,
        name: "signed audit checkpoints",
        sqlite: include_str!("migrations/0003_audit_checkpoints.sql"),
        postgres: include_str!("migrations/0003_audit_checkpoints.sql"),
    },
    Migration {
        version: 4,
        name: "shared attempt budgets",
        sqlite: include_str!("migrations/0004_attempt_budgets.sql"),
        postgres: include_str!("migrations/0004_attempt_budgets.sql"),
    },
    Migration {
        version: 5,
        name: "account claims",
        sqlite: include_str!("migrations/0005_account_claims.sql"),
        postgres: include_str!("migrations/0005_account_claims.sql"),
    },
];

/// The schema version this release migrates to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// `pg_advisory_xact_lock` key of the migration lock ("asmigrat").
const MIGRATION_LOCK: i64 = 0x6173_6d69_6772_6174;

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Brings the schema to [`SCHEMA_VERSION`]; returns the versions applied now.
pub(super) async fn run(db: &Database) -> Result<Vec<i64>, DbError> {
    let unreachable = |e: sqlx::Error| DbError::Unreachable {
        at: db.site().clone(),
        detail: describe(&e),
    };
    let failed = |m: &Migration, e: sqlx::Error| DbError::Migration {
        at: db.site().clone(),
        version: m.version,
        name: m.name,
        detail: describe(&e),
    };
    on_pool!(db, |pool, dialect| {
        let mut tx = pool
            .begin_with(dialect.begin_write())
            .await
            .map_err(unreachable)?;
        if dialect == super::Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(unreachable)?;
        }
        sqlx::raw_sql(CREATE_LEDGER)
            .execute(&mut *tx)
            .await
            .map_err(|e| failed(&MIGRATIONS[0], e))?;
        let applied =
            sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| failed(&MIGRATIONS[0], e))?;
        let mut done = Vec::new();
        for row in applied {
            let version: i64 = row
                .try_get("version")
                .map_err(|e| failed(&MIGRATIONS[0], e))?;
            let recorded: String = row
                .try_get("checksum")
                .map_err(|e| failed(&MIGRATIONS[0], e))?;
            let Some(known) = MIGRATIONS.iter().find(|m| m.version == version) else {
                return Err(DbError::SchemaNewer {
                    at: db.site().clone(),
                    found: version,
                    known: SCHEMA_VERSION,
                });
            };
            if recorded != checksum(dialect.pick(known.sqlite, known.postgres)) {
                return Err(DbError::Migration {
                    at: db.site().clone(),
                    version,
                    name: known.name,
                    detail: "it was changed after it was applied (its checksum differs)".to_owned(),
                });
            }
            done.push(version);
        }
        let mut applied_now = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            let sql = dialect.pick(migration.sqlite, migration.postgres);
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| failed(migration, e))?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(checksum(sql))
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(|e| failed(migration, e))?;
            applied_now.push(migration.version);
        }
        let last = MIGRATIONS.last().expect("at least one migration");
        tx.commit().await.map_err(|e| failed(last, e))?;
        if !applied_now.is_empty() {
            tracing::info!(versions = ?applied_now, at = %db.site(), "database schema migrated");
        }
        Ok(applied_now)
    })
}
