//! The real PostgreSQL server the tests use: the test area's
//! (`ALPHASWARM_TEST_POSTGRES_URL`, started once by scripts/test-proxy.sh),
//! else one started for this test binary by `postgres.py`, which stops it
//! when this process exits (its stdin, held here, closes). Every test gets
//! a fresh database of its own, so tests run in parallel untouched by
//! each other.
#![allow(dead_code)] // each test binary uses a different part

use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

pub const URL_VAR: &str = "ALPHASWARM_TEST_POSTGRES_URL";

static SERVER: OnceLock<String> = OnceLock::new();
static LAUNCHER: Mutex<Option<Child>> = Mutex::new(None);

/// The superuser URL of the server (its `postgres` database).
pub fn server_url() -> &'static str {
    SERVER.get_or_init(|| match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => launch(),
    })
}

fn launch() -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/postgres.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tests/support/postgres.py");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the PostgreSQL launcher's URL");
    assert!(
        line.starts_with("postgres://"),
        "PostgreSQL did not start (install it with `source scripts/lib.sh; ensure_postgresql`)"
    );
    *LAUNCHER.lock().unwrap() = Some(child);
    line.trim().to_owned()
}

/// `url` with another database name.
pub fn url_of(database: &str) -> String {
    let url = server_url();
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{database}")
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database() -> String {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(server_url())
        .await
        .expect("connect to the test PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    url_of(&name)
}

/// A URL that reaches nothing: a loopback port nobody listens on.
pub fn unreachable_url(password: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("postgres://alphaswarm:{password}@127.0.0.1:{port}/postgres")
}
