//! The proxy's shared state in a database (issue 11).
//!
//! SQLite at `<state dir>/alphaswarm.db` by default (WAL, `synchronous=FULL`:
//! a commit is on disk when it returns), PostgreSQL when
//! `ALPHASWARM_ADMIN_DATABASE_URL` is set, so several replicas share one
//! store and one audit chain. [`Database::open`] connects and migrates
//! ([`migrate`]) before the proxy serves anything; a failure is a coded
//! [`DbError`] naming the setting to fix.
//!
//! Both backends run the same SQL text (sqlx binds `$1` on SQLite too);
//! where the dialects differ, [`Dialect::pick`] chooses. Writes that must be
//! serialised across processes take the database's lock, never a
//! process's: SQLite's write lock (`BEGIN IMMEDIATE`) or a PostgreSQL row
//! lock (`SELECT … FOR UPDATE`).

/// What an operator checks when the database cannot be read or written.
pub const CHECK_THE_DATABASE: &str = "Check the database (ALPHASWARM_ADMIN_DATABASE_URL, or disk space under ALPHASWARM_ADMIN_STATE_DIR) and the proxy's log.";

pub mod audit;
pub mod file_era;
pub mod guards;
pub mod keys;
mod migrate;
pub mod store;

pub use migrate::SCHEMA_VERSION;

use crate::aws::{Settling, TokioClock, retry_while_settling};
use crate::config::{self, Secret};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The embedded database's file name in the state directory.
pub const DATABASE_FILE: &str = "alphaswarm.db";

/// Where the state lives, as configured.
#[derive(Debug, Clone)]
pub enum Target {
    /// The embedded default: one SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (it may hold a password, hence a [`Secret`]).
    Postgres(Secret),
}

impl Target {
    /// Parses `ALPHASWARM_ADMIN_DATABASE_URL` without ever echoing it.
    pub fn postgres(url: &str) -> Result<Target, config::ConfigError> {
        let url = url.trim();
        let scheme_ok = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !scheme_ok || PgConnectOptions::from_str(url).is_err() {
            return Err(config::ConfigError::Invalid {
                var: config::DATABASE_URL,
                why: "use a PostgreSQL URL: postgres://user:password@host:5432/database".into(),
            });
        }
        Ok(Target::Postgres(Secret::new(url.to_owned())))
    }

    /// The variable an operator changes to point the proxy elsewhere.
    pub fn variable(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => config::STATE_DIR,
            Target::Postgres(_) => config::DATABASE_URL,
        }
    }
}

/// How a pool is sized and how long start-up waits for the server.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    pub connect_timeout: Duration,
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            connect_timeout: Duration::from_secs(10),
            max_connections: 8,
        }
    }
}

#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// Begins a transaction meant to write: on SQLite it takes the write
    /// lock at once (a deferred one could fail to upgrade under a
    /// concurrent writer); on PostgreSQL the caller locks rows `FOR UPDATE`.
    pub fn begin_write(self) -> &'static str {
        self.pick("BEGIN IMMEDIATE", "BEGIN")
    }

    /// Begins a read that sees one consistent snapshot across statements.
    pub fn begin_snapshot(self) -> &'static str {
        self.pick("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool and `$dialect` to
/// its [`Dialect`]: the same SQL text compiles once per backend.
macro_rules! on_pool {
    ($db:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::db::Dialect::Sqlite;
                $body
            }
            $crate::db::Pool::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::db::Dialect::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// What an error says about where it happened: a description of the
/// database without any password, and the variable that points at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub location: String,
    pub var: &'static str,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{at} cannot be reached or opened: {detail}")]
    Unreachable { at: Site, detail: String },
    #[error(
        "{at} could not be migrated to schema version {version} ({name}): {detail}. The migration was rolled back: the schema is as it was before"
    )]
    Migration {
        at: Site,
        version: i64,
        name: &'static str,
        detail: String,
    },
    #[error(
        "{at} has schema version {found}, newer than this release knows ({known}): run the release that migrated it, or restore a backup taken before"
    )]
    SchemaNewer { at: Site, found: i64, known: i64 },
    #[error(
        "{at} holds integrations encrypted with a different key than {}",
        config::INTEGRATIONS_KEY
    )]
    WrongKey { at: Site },
    #[error("a query on {at} failed: {detail}")]
    Query { at: Site, detail: String },
    #[error("{at}: {what}")]
    Corrupt { at: Site, what: String },
}

impl DbError {
    pub fn code(&self) -> &'static str {
        match self {
            DbError::Unreachable { .. } => "database_unreachable",
            DbError::Migration { .. } => "database_migration_failed",
            DbError::SchemaNewer { .. } => "database_schema_newer",
            DbError::WrongKey { .. } => "store_wrong_key",
            DbError::Query { .. } => "database_query_failed",
            DbError::Corrupt { .. } => "database_corrupt",
        }
    }

    /// The setting an operator looks at first.
    pub fn var(&self) -> &'static str {
        match self {
            DbError::WrongKey { .. } => config::INTEGRATIONS_KEY,
            DbError::Unreachable { at, .. }
            | DbError::Migration { at, .. }
            | DbError::SchemaNewer { at, .. }
            | DbError::Query { at, .. }
            | DbError::Corrupt { at, .. } => at.var,
        }
    }
}

/// A driver error in words, without anything that could hold a secret:
/// server messages (never their DETAIL, which quotes values), the kind of
/// I/O failure, or what timed out.
pub fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => match e.code() {
            Some(code) => format!("{} (code {code})", e.message()),
            None => e.message().to_owned(),
        },
        sqlx::Error::Io(e) => format!("connection failed: {e}"),
        sqlx::Error::Tls(_) => "the TLS handshake with the server failed".to_owned(),
        sqlx::Error::PoolTimedOut => "no connection became available in time".to_owned(),
        sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
        sqlx::Error::Protocol(p) => format!("protocol error: {p}"),
        sqlx::Error::RowNotFound => "an expected row is missing".to_owned(),
        sqlx::Error::ColumnNotFound(c) => format!("column {c} is missing"),
        sqlx::Error::ColumnDecode { index, .. } => format!("column {index} has another type"),
        sqlx::Error::Configuration(_) => "the connection settings are not usable".to_owned(),
        _ => "the database driver failed".to_owned(),
    }
}

/// Puts the database file in WAL mode, which then persists in the file,
/// so the pool's connections need not set it. Entering WAL takes an
/// exclusive lock that SQLite's busy timeout does not wait for: replicas
/// opening one new file together get "database is locked" at once. So the
/// switch is retried, with backoff, until `within` has passed.
async fn switch_to_wal(
    connect: &SqliteConnectOptions,
    within: Duration,
) -> Result<(), sqlx::Error> {
    use sqlx::ConnectOptions;
    let settled = retry_while_settling(&TokioClock, within, Duration::from_millis(5), || {
        let wal = connect.clone().journal_mode(SqliteJournalMode::Wal);
        async move { wal.connect().await }
    })
    .await;
    sqlx::Connection::close(settled.result?).await
}

/// SQLite's "database is locked" (SQLITE_BUSY or one of its extended codes:
/// the low byte is the primary code) passes once the other connection is done.
impl Settling for sqlx::Error {
    fn is_retryable_while_settling(&self) -> bool {
        matches!(self, sqlx::Error::Database(e)
            if e.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5))
    }
}

/// An open, migrated database.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    site: Arc<Site>,
}

impl Database {
    /// Connects (creating the SQLite file 0600 if needed) and migrates.
    pub async fn open(target: &Target, options: OpenOptions) -> Result<Database, DbError> {
        let db = match target {
            Target::Sqlite(path) => Self::open_sqlite(path, options).await?,
            Target::Postgres(url) => Self::open_postgres(url, options).await?,
        };
        migrate::run(&db).await?;
        Ok(db)
    }

    async fn open_sqlite(path: &Path, options: OpenOptions) -> Result<Database, DbError> {
        let site = Site {
            location: format!("the SQLite database {}", path.display()),
            var: config::STATE_DIR,
        };
        let unreachable = |detail: String| DbError::Unreachable {
            at: site.clone(),
            detail,
        };
        create_private_file(path).map_err(|e| unreachable(e.to_string()))?;
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Writers queue on the write lock instead of failing at once.
            .busy_timeout(Duration::from_secs(30));
        switch_to_wal(&connect, options.connect_timeout)
            .await
            .map_err(|e| unreachable(describe(&e)))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            // Every connection is pinged on its way back to the pool.
            .test_before_acquire(false)
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    // On a full disk SQLite may roll a transaction back
                    // itself; the driver's own ROLLBACK then fails and it
                    // keeps counting a transaction that is gone, so every
                    // later BEGIN on this connection fails. Such a
                    // connection is closed, never reused. (The ping runs
                    // after any ROLLBACK the driver still has queued.)
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(connect)
            .await
            .map_err(|e| unreachable(describe(&e)))?;
        Ok(Database {
            pool: Pool::Sqlite(pool),
            site: Arc::new(site),
        })
    }

    async fn open_postgres(url: &Secret, options: OpenOptions) -> Result<Database, DbError> {
        let connect =
            PgConnectOptions::from_str(url.expose()).map_err(|_| DbError::Unreachable {
                at: Site {
                    location: "the PostgreSQL database".to_owned(),
                    var: config::DATABASE_URL,
                },
                detail: "the URL is not a PostgreSQL URL".to_owned(),
            })?;
        let site = Site {
            location: format!(
                "the PostgreSQL database {}@{}:{}/{}",
                connect.get_username(),
                connect.get_host(),
                connect.get_port(),
                connect.get_database().unwrap_or(connect.get_username())
            ),
            var: config::DATABASE_URL,
        };
        let connect = connect.application_name("alphaswarm-proxy");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            // A ping before each use: a restart or failover ends every
            // idle connection, and each would otherwise fail one request.
            // The round trip is cheap next to the cloud calls a request makes.
            .test_before_acquire(true)
            .connect_with(connect)
            .await
            .map_err(|e| DbError::Unreachable {
                at: site.clone(),
                detail: scrub(describe(&e), url.expose()),
            })?;
        Ok(Database {
            pool: Pool::Postgres(pool),
            site: Arc::new(site),
        })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    /// A query error at this database.
    pub fn query_error(&self, error: &sqlx::Error) -> DbError {
        DbError::Query {
            at: self.site().clone(),
            detail: describe(error),
        }
    }

    pub fn corrupt(&self, what: impl Into<String>) -> DbError {
        DbError::Corrupt {
            at: self.site().clone(),
            what: what.into(),
        }
    }

    /// A named value of the `meta` table.
    pub async fn meta(&self, name: &str) -> Result<Option<String>, DbError> {
        on_pool!(self, |pool, dialect| {
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .map_err(|e| self.query_error(&e))
        })
    }

    /// Sets a named value unless one is there; returns the value that is.
    pub async fn meta_insert_once(&self, name: &str, value: &str) -> Result<String, DbError> {
        on_pool!(self, |pool, dialect| {
            sqlx::query(
                "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(value)
            .execute(pool)
            .await
            .map_err(|e| self.query_error(&e))?;
        });
        self.meta(name)
            .await?
            .ok_or_else(|| self.corrupt(format!("the {name} value vanished after it was written")))
    }

    /// Replaces a named value only while it is still `expected` (`None`: only
    /// while there is none): a compare-and-swap in one statement, so two
    /// replicas cannot both win. `false` when another writer got there first.
    pub async fn meta_swap(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, DbError> {
        on_pool!(self, |pool, dialect| {
            let done = match expected {
                None => sqlx::query(
                    "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(value),
                Some(expected) => {
                    sqlx::query("UPDATE meta SET value = $2 WHERE name = $1 AND value = $3")
                        .bind(name)
                        .bind(value)
                        .bind(expected)
                }
            }
            .execute(pool)
            .await
            .map_err(|e| self.query_error(&e))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Waits for running queries and closes every connection.
    pub async fn close(&self) {
        on_pool!(self, |pool, dialect| pool.close().await)
    }
}

/// Removes the URL, and its password wherever it appears, from a text.
fn scrub(text: String, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    let text = if url.is_empty() {
        text
    } else {
        text.replace(url, "<database URL>")
    };
    match password {
        Some(p) => text.replace(p, "***"),
        None => text,
    }
}

/// Creates the database file 0600 (SQLite gives its WAL and shared-memory
/// files the same mode); an existing file is left as it is.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_database_url_names_the_variable_and_not_the_value() {
        for url in [
            "mysql://u:CANARY@h/db",
            "CANARY",
            "postgres://u:CANARY@h:notaport/db",
        ] {
            let err = Target::postgres(url).unwrap_err();
            assert_eq!(err.var(), config::DATABASE_URL);
            assert!(!err.to_string().contains("CANARY"), "{err}");
        }
        assert!(Target::postgres("postgres://u:p@127.0.0.1:5432/db").is_ok());
    }

    #[test]
    fn scrubbing_removes_the_url_and_the_password() {
        let url = "postgres://alice:s3cr3t-CANARY@db.example:5432/state";
        let text = format!("failed to connect to {url}: password s3cr3t-CANARY rejected");
        let scrubbed = scrub(text, url);
        assert!(!scrubbed.contains("CANARY"), "{scrubbed}");
        assert!(scrubbed.contains("<database URL>"));
    }
}
