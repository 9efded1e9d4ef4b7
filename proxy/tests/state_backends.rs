//! One suite, two backends: the integrations store, the audit chain, the
//! migrations, the file-era import and the export, each case run against
//! the embedded SQLite and against a real PostgreSQL server
//! (`cargo test --test state_backends sqlite` or `… postgres` for one).

#[path = "support/postgres.rs"]
mod postgres;

use alphaswarm_proxy::audit::{AuditEvent, AuditRow, AuditSink, FileAuditSink, Phase, TrailStatus};
use alphaswarm_proxy::config;
use alphaswarm_proxy::db::audit::{DbAuditSink, DbSinkOptions};
use alphaswarm_proxy::db::file_era::{self, FileSources, ImportError};
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, OpenOptions, Pool, Target};
use alphaswarm_proxy::store::{FernetFileStore, IntegrationStore, StoredIntegration};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Runs one case against both backends, as `<case>::sqlite` and `<case>::postgres`.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$case(super::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$case(super::Kind::Postgres).await
            }
        }
    )*};
}

both_backends!(
    store_round_trip_and_encryption_at_rest,
    a_wrong_key_is_refused_by_code_and_variable,
    writers_in_two_processes_lose_nothing,
    two_appenders_keep_one_linear_chain,
    edited_deleted_cut_and_emptied_rows_are_found,
    replicas_migrating_together_migrate_once,
    a_failed_migration_leaves_the_schema_untouched,
    a_schema_from_a_newer_release_is_refused,
    the_file_era_is_imported_once_and_intact,
    a_tampered_file_era_audit_log_is_refused,
    the_export_is_the_file_era_format,
    attempt_budgets_are_one_budget_across_replicas,
    racing_claims_for_one_account_have_one_winner,
    pages_walk_every_record_once_in_key_order,
    claims_are_looked_up_by_index_and_name_no_account,
);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alphaswarm-db-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn target(kind: Kind, dir: &Path) -> Target {
    match kind {
        Kind::Sqlite => Target::Sqlite(dir.join("alphaswarm.db")),
        Kind::Postgres => Target::postgres(&postgres::fresh_database().await).unwrap(),
    }
}

fn options() -> OpenOptions {
    OpenOptions {
        connect_timeout: Duration::from_secs(10),
        max_connections: 4,
    }
}

async fn open(target: &Target) -> Database {
    Database::open(target, options()).await.unwrap()
}

async fn exec(db: &Database, sql: String) {
    let sql = sqlx::AssertSqlSafe(sql);
    match db.pool() {
        Pool::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        Pool::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
    }
    .unwrap();
}

async fn strings(db: &Database, sql: &'static str) -> Vec<String> {
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap()
}

async fn tables(db: &Database) -> Vec<String> {
    let mut names = strings(
        db,
        match db.dialect() {
            alphaswarm_proxy::db::Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            }
            alphaswarm_proxy::db::Dialect::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'"
            }
        },
    )
    .await;
    names.sort();
    names
}

const TOKEN_CANARY: &str = "cfut_CANARY0123456789abcdefghij";

fn record(org: &str, kind: &str, account: &str) -> StoredIntegration {
    StoredIntegration {
        org_id: org.into(),
        kind: kind.into(),
        credential_key: format!("{kind}:org:{org}"),
        status: "healthy".into(),
        connected_at: "2026-01-01T00:00:00Z".into(),
        last_health_at: None,
        error: None,
        metadata: BTreeMap::from([("account_id".into(), account.into())]),
        sensitive: BTreeMap::from([("external_id".into(), format!("{TOKEN_CANARY}-ext"))]),
        namespace: Some(format!("{org}-ns")),
        lists: BTreeMap::from([("orgs".into(), vec!["a".into(), "b".into()])]),
        secrets: BTreeMap::from([("token".into(), TOKEN_CANARY.into())]),
        ..StoredIntegration::default()
    }
}

fn event(actor: &str, step: &str) -> AuditEvent {
    AuditEvent {
        audit_run_id: uuid::Uuid::new_v4().to_string(),
        phase: Phase::Pending,
        actor: actor.into(),
        org_id: "acme".into(),
        cloud: "aws".into(),
        step: step.into(),
        error_code: None,
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: None,
    }
}

async fn store_round_trip_and_encryption_at_rest(kind: Kind) {
    let dir = temp_dir("roundtrip");
    let target = target(kind, &dir).await;
    let key = FernetFileStore::generate_key();
    let store = DbIntegrationStore::open(open(&target).await, &key)
        .await
        .unwrap();
    store
        .put(record("acme", "cloud_aws", "111111111111"))
        .await
        .unwrap();
    store
        .put(record("acme", "cloud_cloudflare", "cf-acct"))
        .await
        .unwrap();
    store
        .put(record("beta", "cloud_aws", "222222222222"))
        .await
        .unwrap();
    store
        .put(record("acme", "cloud_aws", "333333333333"))
        .await
        .unwrap();
    assert_eq!(store.count().await.unwrap(), 3);
    let acme = store.list_org("acme").await.unwrap();
    assert_eq!(
        acme,
        vec![
            record("acme", "cloud_aws", "333333333333"),
            record("acme", "cloud_cloudflare", "cf-acct")
        ]
    );
    assert_eq!(store.list_org("nobody").await.unwrap(), vec![]);
    assert!(store.remove("cloud_aws:org:beta").await.unwrap());
    assert!(!store.remove("cloud_aws:org:beta").await.unwrap());
    assert!(store.get("cloud_aws:org:beta").await.unwrap().is_none());

    let stored = strings(store.database(), "SELECT record FROM integrations").await;
    assert_eq!(stored.len(), 2);
    for token in &stored {
        assert!(
            !token.contains("CANARY") && !token.contains("333333333333"),
            "plaintext at rest: {token}"
        );
    }
    if let Target::Sqlite(path) = &target {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let raw = std::fs::read(path).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("CANARY"));
    }
    store.database().close().await;
    // Another process (a new pool) reads the same records.
    let reopened = DbIntegrationStore::open(open(&target).await, &key)
        .await
        .unwrap();
    assert_eq!(
        reopened.get("cloud_aws:org:acme").await.unwrap(),
        Some(record("acme", "cloud_aws", "333333333333"))
    );
}

async fn a_wrong_key_is_refused_by_code_and_variable(kind: Kind) {
    let dir = temp_dir("wrongkey");
    let target = target(kind, &dir).await;
    let db = open(&target).await;
    DbIntegrationStore::open(db.clone(), &FernetFileStore::generate_key())
        .await
        .unwrap();
    let other = FernetFileStore::generate_key();
    let err = DbIntegrationStore::open(db.clone(), &other)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), "store_wrong_key");
    let alphaswarm_proxy::store::StoreError::Database(db_err) = &err else {
        panic!("{err}")
    };
    assert_eq!(db_err.var(), config::INTEGRATIONS_KEY);
    assert!(!err.to_string().contains(&other), "{err}");
    let err = DbIntegrationStore::open(db, "not-a-key-CANARY")
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), "invalid_integrations_key");
    assert!(!err.to_string().contains("CANARY"));
}

async fn writers_in_two_processes_lose_nothing(kind: Kind) {
    let dir = temp_dir("writers");
    let target = target(kind, &dir).await;
    let key = FernetFileStore::generate_key();
    let a = Arc::new(
        DbIntegrationStore::open(open(&target).await, &key)
            .await
            .unwrap(),
    );
    let b = Arc::new(
        DbIntegrationStore::open(open(&target).await, &key)
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                store
                    .put(record(&format!("org-{i}"), "cloud_aws", "111122223333"))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(a.count().await.unwrap(), 100);
    for i in 0..100 {
        assert!(
            b.get(&format!("cloud_aws:org:org-{i}"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

/// A full database (SQLite's `max_page_count` reached: SQLITE_FULL, what
/// a full disk gives, with no root needed to mount a tiny file system)
/// refuses the row whole: the chain verifies with every row written before,
/// and once there is room again the next rows continue it. (The HTTP-level
/// test on a real full tmpfs is audit_trail's, where mounting is allowed.)
#[tokio::test]
async fn a_full_sqlite_database_refuses_the_row_whole_and_the_chain_goes_on() {
    let dir = temp_dir("full");
    let target = target(Kind::Sqlite, &dir).await;
    // One connection, so the page limit set on it holds for every append.
    let db = Database::open(
        &target,
        OpenOptions {
            max_connections: 1,
            ..options()
        },
    )
    .await
    .unwrap();
    let sink = audit_sink(db.clone(), &dir).await;
    for i in 1..=3 {
        sink.append(event("admin", &format!("before{i}")))
            .await
            .unwrap();
    }
    let Pool::Sqlite(pool) = db.pool() else {
        unreachable!()
    };
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(pool)
        .await
        .unwrap();
    exec(&db, format!("PRAGMA max_page_count = {pages}")).await;
    let mut written = 3;
    let refused = loop {
        match sink.append(event("admin", &format!("fill{written}"))).await {
            Ok(_) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 10_000, "the page limit never bit");
    };
    assert!(
        refused.to_string().contains("full"),
        "SQLite's own words for a full database: {refused}"
    );
    let report = sink.verify().await.unwrap();
    assert!(
        report.ok && report.rows == written,
        "only whole rows, all verified: {report:?}"
    );

    // Room again (the connection may have been replaced after SQLite's
    // own rollback; a new one has no limit): the chain goes on.
    exec(&db, "PRAGMA max_page_count = 1073741823".to_owned()).await;
    for i in 1..=4 {
        let row = sink
            .append(event("admin", &format!("after{i}")))
            .await
            .unwrap();
        assert_eq!(row.seq, written + i);
    }
    let report = sink.verify().await.unwrap();
    assert!(report.ok && report.rows == written + 4, "{report:?}");
    db.close().await;
}

async fn two_appenders_keep_one_linear_chain(kind: Kind) {
    let dir = temp_dir("chain");
    let target = target(kind, &dir).await;
    let a = Arc::new(audit_sink(open(&target).await, &dir).await);
    let b = Arc::new(audit_sink(open(&target).await, &dir).await);
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (sink, actor) = if i % 2 == 0 {
                (a.clone(), "replica-a")
            } else {
                (b.clone(), "replica-b")
            };
            tokio::spawn(async move { sink.append(event(actor, &format!("step{i}"))).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=60).collect::<Vec<u64>>(), "one row per seq");
    let report = b.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.rows, 60);
    // Taking turns, each sink's last-seen head is always stale (PostgreSQL
    // bets on it in one statement, loses, re-reads); rows 100 and 200 are
    // due a signed checkpoint, taken under the head's lock.
    for seq in 61..=210u64 {
        let sink = if seq % 2 == 0 { &a } else { &b };
        let row = sink
            .append(event("turns", &format!("step{seq}")))
            .await
            .unwrap();
        assert_eq!(row.seq, seq);
    }
    let report = a.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.rows, 210);
    assert_eq!(
        report.checkpoints, 3,
        "start, rows 100, rows 200: {report:?}"
    );
}

async fn edited_deleted_cut_and_emptied_rows_are_found(kind: Kind) {
    let dir = temp_dir("tamper");
    let target = target(kind, &dir).await;
    let db = open(&target).await;
    let sink = audit_sink(db.clone(), &dir).await;
    for i in 1..=6 {
        sink.append(event("admin", &format!("step{i}")))
            .await
            .unwrap();
    }
    exec(&db, "CREATE TABLE saved AS SELECT * FROM audit_rows".into()).await;
    let restore = "DELETE FROM audit_rows; INSERT INTO audit_rows SELECT * FROM saved";
    let cases: [(&str, u64); 4] = [
        (
            "UPDATE audit_rows SET line = REPLACE(line, '\"step3\"', '\"step9\"') WHERE seq = 3",
            3,
        ),
        ("DELETE FROM audit_rows WHERE seq = 2", 2),
        ("DELETE FROM audit_rows WHERE seq >= 5", 5),
        ("DELETE FROM audit_rows", 1),
    ];
    for (tamper, first_bad) in cases {
        exec(&db, tamper.into()).await;
        let report = sink.verify().await.unwrap();
        assert!(!report.ok, "{tamper}: {report:?}");
        assert_eq!(
            report.first_bad_row,
            Some(first_bad),
            "{tamper}: {report:?}"
        );
        exec(&db, restore.into()).await;
        assert!(sink.verify().await.unwrap().ok, "restored after {tamper}");
    }

    // Re-hashed: row 2 edited and every hash after it (and the head)
    // recomputed, a consistent chain that only the signed checkpoint refutes.
    sink.checkpoint(alphaswarm_proxy::audit::CheckpointReason::Interval)
        .await
        .unwrap()
        .expect("a checkpoint over the six rows");
    let rows: Vec<AuditRow> = strings(&db, "SELECT line FROM audit_rows ORDER BY seq")
        .await
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut prev = alphaswarm_proxy::audit::GENESIS_HASH.to_owned();
    let mut rewrite = String::from("DELETE FROM audit_rows;");
    for mut row in rows {
        if row.seq == 2 {
            row.event.actor = "someone-else".into();
        }
        row.prev_hash = prev;
        row.hash = alphaswarm_proxy::audit::row_hash(row.seq, &row.event, &row.prev_hash);
        prev = row.hash.clone();
        rewrite.push_str(&format!(
            "INSERT INTO audit_rows (seq, hash, line) VALUES ({}, '{}', '{}');",
            row.seq,
            row.hash,
            serde_json::to_string(&row).unwrap()
        ));
    }
    rewrite.push_str(&format!(
        "UPDATE audit_head SET hash = '{prev}' WHERE id = 1;"
    ));
    exec(&db, rewrite).await;
    let report = sink.verify().await.unwrap();
    assert_eq!(
        (report.ok, report.status, report.first_bad_row),
        (false, TrailStatus::Rehashed, Some(1)),
        "{report:?}"
    );
}

async fn replicas_migrating_together_migrate_once(kind: Kind) {
    let dir = temp_dir("migrate");
    let target = target(kind, &dir).await;
    let opens: Vec<_> = (0..8)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move { Database::open(&target, options()).await })
        })
        .collect();
    let mut dbs = Vec::new();
    for open in opens {
        dbs.push(open.await.unwrap().unwrap());
    }
    let versions = strings(
        &dbs[0],
        "SELECT CAST(version AS TEXT) FROM schema_migrations ORDER BY version",
    )
    .await;
    let every_version: Vec<String> = (1..=alphaswarm_proxy::db::SCHEMA_VERSION)
        .map(|v| v.to_string())
        .collect();
    assert_eq!(versions, every_version, "each version applied once");
    if kind == Kind::Sqlite {
        // Entering WAL needs a lock SQLite's busy timeout does not wait
        // for; every replica still opened, and the file is in WAL mode.
        assert_eq!(strings(&dbs[0], "PRAGMA journal_mode").await, ["wal"]);
    }
}

/// Runs raw SQL on the target outside the proxy's own opening path.
async fn raw(target: &Target, sql: &'static str) -> Vec<String> {
    match target {
        Target::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
            let out = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            out
        }
        Target::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url.expose()).await.unwrap();
            let out = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            out
        }
    }
}

async fn a_failed_migration_leaves_the_schema_untouched(kind: Kind) {
    let dir = temp_dir("badmigration");
    let target = target(kind, &dir).await;
    // Another application already owns a table of the same name.
    raw(&target, "CREATE TABLE audit_head (owner TEXT)").await;
    let err = Database::open(&target, options()).await.err().unwrap();
    assert_eq!(err.code(), "database_migration_failed", "{err}");
    assert_eq!(
        err.var(),
        match kind {
            Kind::Sqlite => config::STATE_DIR,
            Kind::Postgres => config::DATABASE_URL,
        }
    );
    assert!(err.to_string().contains("rolled back"), "{err}");
    // Nothing of version 1, not even the ledger, is left behind.
    let tables = raw(
        &target,
        match kind {
            Kind::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
            Kind::Postgres => "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
        },
    )
    .await;
    assert_eq!(tables, vec!["audit_head".to_owned()]);
}

async fn a_schema_from_a_newer_release_is_refused(kind: Kind) {
    let dir = temp_dir("newer");
    let target = target(kind, &dir).await;
    let db = open(&target).await;
    exec(
        &db,
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'later')"
            .into(),
    )
    .await;
    db.close().await;
    let err = Database::open(&target, options()).await.err().unwrap();
    assert_eq!(err.code(), "database_schema_newer", "{err}");
    assert!(err.to_string().contains("999"), "{err}");
}

/// A store and an audit log as the file-era release wrote them.
async fn file_era(dir: &Path, key: &str, rows: usize) -> (FileSources, Vec<StoredIntegration>) {
    let sources = FileSources {
        store: dir.join("integrations.json"),
        audit: dir.join("audit.jsonl"),
    };
    let store = FernetFileStore::open(sources.store.clone(), key).unwrap();
    let records = vec![
        record("acme", "cloud_aws", "111111111111"),
        record("acme", "cloud_cloudflare", "cf-acct"),
        record("__platform__", "cloud_aws", "999999999999"),
    ];
    for r in &records {
        store.put(r.clone()).await.unwrap();
    }
    // The file era's sink as the release before the database wrote it.
    let (signer, key_created) = alphaswarm_proxy::audit::AuditSigner::load_or_create(dir).unwrap();
    let (sink, _) = FileAuditSink::open(
        sources.audit.clone(),
        alphaswarm_proxy::audit::SinkOptions {
            signer: Arc::new(signer),
            key_created,
            checkpoint_every_rows: 100,
        },
    )
    .unwrap();
    for i in 0..rows {
        sink.append(event("admin", &format!("step{i}")))
            .await
            .unwrap();
    }
    (sources, records)
}

const TORN: &[u8] = b"{\"seq\":8,\"audit_run";

fn fingerprint(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    (
        std::fs::read(path).unwrap(),
        std::fs::metadata(path).unwrap().modified().unwrap(),
    )
}

async fn the_file_era_is_imported_once_and_intact(kind: Kind) {
    let dir = temp_dir("import");
    let key = FernetFileStore::generate_key();
    let (sources, records) = file_era(&dir, &key, 7).await;
    // A crash cut the last write short: never acknowledged, left out.
    let mut audit = std::fs::OpenOptions::new()
        .append(true)
        .open(&sources.audit)
        .unwrap();
    std::io::Write::write_all(&mut audit, TORN).unwrap();
    let before = (fingerprint(&sources.store), fingerprint(&sources.audit));
    let target = target(kind, &dir).await;

    // Two replicas start together: one imports, the other finds it done.
    let imports: Vec<_> = (0..2)
        .map(|_| {
            let (target, key, sources) = (target.clone(), key.clone(), sources.clone());
            tokio::spawn(async move {
                let db = Database::open(&target, options()).await.unwrap();
                DbIntegrationStore::open(db.clone(), &key).await.unwrap();
                file_era::import_once(&db, &key, &sources).await.unwrap()
            })
        })
        .collect();
    let mut reports = Vec::new();
    for import in imports {
        reports.extend(import.await.unwrap());
    }
    assert_eq!(reports.len(), 1, "imported exactly once: {reports:?}");
    let report = &reports[0];
    assert_eq!((report.integrations, report.audit_rows), (3, 7));
    assert_eq!(report.torn_tail_bytes, TORN.len() as u64);
    assert!(report.to_string().contains("3 integrations"), "{report}");

    let db = open(&target).await;
    let store = DbIntegrationStore::open(db.clone(), &key).await.unwrap();
    for r in &records {
        assert_eq!(
            store.get(&r.credential_key).await.unwrap().as_ref(),
            Some(r)
        );
    }
    let sink = audit_sink(db.clone(), &dir).await;
    let verified = sink.verify().await.unwrap();
    assert!(verified.ok && verified.rows == 7, "{verified:?}");
    let file_lines: Vec<String> = String::from_utf8(before.1.0.clone())
        .unwrap()
        .lines()
        .take(7)
        .map(str::to_owned)
        .collect();
    assert_eq!(
        strings(&db, "SELECT line FROM audit_rows ORDER BY seq").await,
        file_lines,
        "rows byte for byte"
    );
    // The chain continues where the file ended.
    assert_eq!(sink.append(event("admin", "next")).await.unwrap().seq, 8);
    assert!(sink.verify().await.unwrap().ok);
    assert_eq!(
        (fingerprint(&sources.store), fingerprint(&sources.audit)),
        before,
        "the originals are untouched"
    );
    assert!(
        file_era::import_once(&db, &key, &sources)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        file_era::import_report(&db).await.unwrap().as_ref(),
        Some(report)
    );
    assert!(tables(&db).await.contains(&"meta".to_owned()));
}

async fn a_tampered_file_era_audit_log_is_refused(kind: Kind) {
    let dir = temp_dir("tampered");
    let key = FernetFileStore::generate_key();
    let (sources, _) = file_era(&dir, &key, 5).await;
    let text = std::fs::read_to_string(&sources.audit).unwrap();
    std::fs::write(&sources.audit, text.replacen("\"step2\"", "\"stepX\"", 1)).unwrap();
    let target = target(kind, &dir).await;
    let db = open(&target).await;
    let store = DbIntegrationStore::open(db.clone(), &key).await.unwrap();
    let err = file_era::import_once(&db, &key, &sources)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, ImportError::AuditTampered { row: 3, .. }),
        "{err}"
    );
    assert_eq!(err.code(), "audit_import_refused");
    assert_eq!(err.var(), config::AUDIT_PATH);
    assert!(err.to_string().contains("row 3"), "{err}");
    // Nothing was imported, not even the (intact) store.
    assert_eq!(store.count().await.unwrap(), 0);
    assert_eq!(
        audit_sink(db.clone(), &dir)
            .await
            .verify()
            .await
            .unwrap()
            .rows,
        0
    );
    assert!(file_era::import_report(&db).await.unwrap().is_none());
    // Under another key the store file itself is refused, by its variable.
    std::fs::remove_file(&sources.audit).unwrap();
    let err = file_era::import_once(&db, &FernetFileStore::generate_key(), &sources)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (err.code(), err.var()),
        ("store_import_wrong_key", config::INTEGRATIONS_KEY)
    );
}

async fn the_export_is_the_file_era_format(kind: Kind) {
    let dir = temp_dir("export");
    let target = target(kind, &dir).await;
    let key = FernetFileStore::generate_key();
    let store = DbIntegrationStore::open(open(&target).await, &key)
        .await
        .unwrap();
    let records: Vec<_> = (0..25)
        .map(|i| record(&format!("org-{i}"), "cloud_aws", "111122223333"))
        .collect();
    store.put_many(records.clone()).await.unwrap();
    let path = dir.join("backup").join("integrations.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    assert_eq!(file_era::export(&store, &path, false).await.unwrap(), 25);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let file = FernetFileStore::open(path.clone(), &key).unwrap();
    assert_eq!(file.count().await.unwrap(), 25);
    for r in &records {
        assert_eq!(file.get(&r.credential_key).await.unwrap().as_ref(), Some(r));
    }
    assert!(matches!(
        file_era::export(&store, &path, false).await,
        Err(file_era::ExportError::Exists { .. })
    ));
    store.remove("cloud_aws:org:org-0").await.unwrap();
    assert_eq!(file_era::export(&store, &path, true).await.unwrap(), 24);
    // And the exported file imports into a fresh database as it was.
    let fresh_dir = temp_dir("export-import");
    let fresh = open(&self::target(kind, &fresh_dir).await).await;
    DbIntegrationStore::open(fresh.clone(), &key).await.unwrap();
    let report = file_era::import_once(
        &fresh,
        &key,
        &FileSources {
            store: path,
            audit: fresh_dir.join("none.jsonl"),
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.integrations, 24);
}

/// A PostgreSQL restart or failover ends every pooled connection while it
/// idles. The next requests are still served: none fails on a dead one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_ended_while_idle_are_replaced() {
    let target = target(Kind::Postgres, &temp_dir("ended")).await;
    let db = open(&target).await;
    let Pool::Postgres(pool) = db.pool() else {
        unreachable!("a PostgreSQL target opens a PostgreSQL pool")
    };
    let held: Vec<_> = futures_util::future::join_all((0..4).map(|_| pool.acquire()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    drop(held);
    assert_eq!(pool.size(), 4, "four connections wait in the pool");
    let ended = raw(
        &target,
        "SELECT CAST(pg_terminate_backend(pid) AS TEXT) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    assert_eq!(
        ended, ["true"; 4],
        "the server ended the pool's connections"
    );
    for _ in 0..8 {
        assert_eq!(strings(&db, "SELECT 'served'").await, ["served"]);
    }
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_coded_error_without_the_password() {
    let url = postgres::unreachable_url("pw-CANARY-123");
    let target = Target::postgres(&url).unwrap();
    let started = std::time::Instant::now();
    let err = Database::open(
        &target,
        OpenOptions {
            connect_timeout: Duration::from_secs(1),
            max_connections: 1,
        },
    )
    .await
    .err()
    .unwrap();
    assert_eq!(err.code(), "database_unreachable");
    assert_eq!(err.var(), config::DATABASE_URL);
    assert!(!format!("{err} {err:?}").contains("CANARY"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The proxy's audit sink on `db`, signing checkpoints with the key in
/// `dir` (one key per test, shared by every sink of it), as start-up opens it.
async fn audit_sink(db: Database, dir: &std::path::Path) -> DbAuditSink {
    let (signer, _) = alphaswarm_proxy::audit::AuditSigner::load_or_create(dir).unwrap();
    DbAuditSink::open(
        db,
        DbSinkOptions {
            signer: Arc::new(signer),
            checkpoint_every_rows: 100,
        },
    )
    .await
    .unwrap()
    .0
}

/// Two replicas' budgets on one database are one budget: reservations made
/// in parallel through both close it after exactly the client's free
/// failures (never 2x), a success on one clears the client on the other,
/// and a database that fails refuses the attempt instead of checking it
/// uncounted.
async fn attempt_budgets_are_one_budget_across_replicas(kind: Kind) {
    use alphaswarm_proxy::auth::limiter::{
        AttemptBudget, AttemptKind, BackoffPolicy, ClientKey, Refusal,
    };
    use alphaswarm_proxy::db::guards::DbAttemptBudget;
    let dir = temp_dir("budgets");
    let target = target(kind, &dir).await;
    let policy = BackoffPolicy {
        client_free_failures: 5,
        account_free_failures: 50,
        // Long enough that no back-off opens while the test runs.
        base: Duration::from_secs(600),
        ..BackoffPolicy::default()
    };
    let replicas = [
        Arc::new(DbAttemptBudget::new(open(&target).await, policy)),
        Arc::new(DbAttemptBudget::new(open(&target).await, policy)),
    ];
    let client = ClientKey::of("192.0.2.7".parse().unwrap());
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let budget = replicas[i % 2].clone();
            tokio::spawn(async move { budget.reserve(AttemptKind::Totp, client, "admin").await })
        })
        .collect();
    let mut counted = Vec::new();
    for attempt in attempts {
        if let Ok(ticket) = attempt.await.unwrap() {
            counted.push(ticket);
        }
    }
    assert_eq!(
        counted.len(),
        5,
        "the client's free failures, across both replicas"
    );
    for budget in &replicas {
        let refused = budget.reserve(AttemptKind::Totp, client, "admin").await;
        assert!(matches!(refused, Err(Refusal::Blocked(_))), "{refused:?}");
        // Logins have their own budget; another client is untouched.
        assert!(
            budget
                .reserve(AttemptKind::Login, client, "admin")
                .await
                .is_ok()
        );
        let other = ClientKey::of("192.0.2.8".parse().unwrap());
        assert!(
            budget
                .reserve(AttemptKind::Totp, other, "admin")
                .await
                .is_ok()
        );
    }
    // A right code on replica 0 clears the client for replica 1 too (the
    // back-off opens once the count is under the free failures again).
    replicas[0].succeeded(counted.pop().unwrap()).await;
    assert!(
        replicas[1]
            .reserve(AttemptKind::Totp, client, "admin")
            .await
            .is_ok()
    );

    // The budgets table gone: attempts are refused, not let through.
    let db = open(&target).await;
    exec(&db, "DROP TABLE attempt_budgets".to_owned()).await;
    let refused = replicas[1]
        .reserve(AttemptKind::Totp, client, "admin")
        .await;
    assert_eq!(refused.unwrap_err(), Refusal::Unavailable);
}

/// Two orgs connect one cloud account at the same instant through two
/// replicas (two pools): exactly one is saved, the other is told who holds
/// it, round after round; the holder may save its own record again.
async fn racing_claims_for_one_account_have_one_winner(kind: Kind) {
    let dir = temp_dir("claims");
    let key = FernetFileStore::generate_key();
    let target = target(kind, &dir).await;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let db = open(&target).await;
        replicas.push(Arc::new(DbIntegrationStore::open(db, &key).await.unwrap()));
    }
    let same = |account: &str| vec![("account_id".to_owned(), account.to_owned())];
    for round in 0..12 {
        let account = format!("sub-{round}");
        let claims: Vec<_> = ["acme", "beta"]
            .into_iter()
            .zip(&replicas)
            .map(|(org, store)| {
                let (store, record, same) = (
                    store.clone(),
                    record(org, "cloud_azure", &account),
                    same(&account),
                );
                tokio::spawn(async move { store.put_unless_claimed(record, &same).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for claim in claims {
            outcomes.push(claim.await.unwrap());
        }
        let holders: Vec<String> = replicas[0]
            .list_kind("cloud_azure")
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.metadata["account_id"] == account)
            .map(|r| r.org_id)
            .collect();
        assert_eq!(holders.len(), 1, "round {round}: {outcomes:?}");
        let refused: Vec<&String> = outcomes.iter().flatten().collect();
        assert_eq!(refused, [&holders[0]], "round {round}: {outcomes:?}");
    }
    let holder = replicas[1]
        .list_kind("cloud_azure")
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.metadata["account_id"] == "sub-11")
        .unwrap();
    let again = record(&holder.org_id, "cloud_azure", "sub-11");
    assert_eq!(
        replicas[1]
            .put_unless_claimed(again, &same("sub-11"))
            .await
            .unwrap(),
        None
    );
}

/// The health sweep's walk: pages in credential-key order, each record once,
/// nothing after the last key.
async fn pages_walk_every_record_once_in_key_order(kind: Kind) {
    let dir = temp_dir("pages");
    let target = target(kind, &dir).await;
    let key = FernetFileStore::generate_key();
    let store = DbIntegrationStore::open(open(&target).await, &key)
        .await
        .unwrap();
    for (org, cloud) in [
        ("org-10", "cloud_aws"),
        ("org-9", "cloud_aws"),
        ("acme", "cloud_gcp"),
        ("acme", "huggingface"),
        ("b", "cloud_azure"),
        ("zeta", "docker_hub"),
        ("a-1", "cloud_aws"),
    ] {
        store.put(record(org, cloud, "111111111111")).await.unwrap();
    }
    let every: Vec<String> = store
        .list_all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.credential_key)
        .collect();
    let mut sorted = every.clone();
    sorted.sort();
    assert_eq!(every, sorted);
    let mut walked = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_page(after.as_deref(), 3).await.unwrap();
        sizes.push(page.len());
        let Some(last) = page.last() else { break };
        after = Some(last.credential_key.clone());
        assert_eq!(page[0].secrets["token"], TOKEN_CANARY, "pages decrypt");
        walked.extend(page.into_iter().map(|r| r.credential_key));
    }
    assert_eq!(sizes, [3, 3, 1, 0]);
    assert_eq!(walked, every);
}

/// A connect's "one account, one org" check reads the claim column, a keyed
/// hash that names no account; records written before it (no claim) are
/// still compared by their decrypted metadata.
async fn claims_are_looked_up_by_index_and_name_no_account(kind: Kind) {
    let dir = temp_dir("claim-column");
    let target = target(kind, &dir).await;
    let key = FernetFileStore::generate_key();
    let store = DbIntegrationStore::open(open(&target).await, &key)
        .await
        .unwrap();
    let same = |account: &str| vec![("account_id".to_owned(), account.to_owned())];
    // Written without a claim, as before version 5.
    store
        .put(record("legacy", "cloud_azure", "sub-legacy"))
        .await
        .unwrap();
    let claim = |org: &str, account: &str| {
        let (record, same) = (record(org, "cloud_azure", account), same(account));
        let store = &store;
        async move { store.put_unless_claimed(record, &same).await.unwrap() }
    };
    assert_eq!(claim("b", "SUB-LEGACY").await, Some("legacy".into()));
    assert_eq!(claim("c", "sub-claimed").await, None);
    assert_eq!(claim("d", "Sub-Claimed").await, Some("c".into()));
    assert_eq!(
        claim("c", "sub-claimed").await,
        None,
        "the holder saves again"
    );
    let claims = raw(
        &target,
        "SELECT claim FROM integrations WHERE claim IS NOT NULL",
    )
    .await;
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert!(
        claims[0].len() == 64 && claims[0].bytes().all(|b| b.is_ascii_hexdigit()),
        "{claims:?}"
    );
    let other_key = DbIntegrationStore::open(open(&target).await, &key)
        .await
        .unwrap();
    assert_eq!(
        other_key
            .put_unless_claimed(
                record("e", "cloud_azure", "sub-claimed"),
                &same("sub-claimed")
            )
            .await
            .unwrap(),
        Some("c".into()),
        "every replica (same integrations key) computes the same claim"
    );
}
