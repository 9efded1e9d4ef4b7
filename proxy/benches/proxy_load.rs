//! `cargo bench -p alphaswarm-proxy`: figures for the release binary on loopback.
//! - `bootstrap` requests/s and latency percentiles under a bounded load,
//!   on one replica and on two replicas (one PostgreSQL) behind the same
//!   load generator (round robin);
//! - connect latency with `BENCH_STORED` (default 100,000) integrations
//!   already stored, on SQLite (the default) and on PostgreSQL;
//! - listing one org's connections at that size;
//! - the proxy's RSS (VmRSS) idle, with that many stored, and after.
//!
//! The binary answers AWS from its test-only fake, so connect latency is the
//! proxy's own cost (two audit rows and one store row, each committed to
//! disk, the Fernet encryption), not AWS's. PostgreSQL is the test area's
//! (`ALPHASWARM_TEST_POSTGRES_URL`) or one started here, fsync on.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "support/stats.rs"]
mod stats;

use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, OpenOptions, Target};
use alphaswarm_proxy::store::{FernetFileStore, StoredIntegration};
use common::*;
use serde_json::json;
use stats::{ms, percentile};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LOAD_REQUESTS: usize = 20_000;
const LOAD_CONCURRENCY: usize = 32;
const LOAD_TIME_LIMIT: Duration = Duration::from_secs(20);
const CONNECTS: usize = 100;
const LISTS: usize = 200;
/// The org whose connections are listed (one of each kind).
const LISTED_ORG: &str = "listed";
const LISTED_KINDS: [&str; 4] = ["cloud_aws", "cloud_azure", "cloud_gcp", "cloud_cloudflare"];

fn stored() -> usize {
    std::env::var("BENCH_STORED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn summary(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / latencies.len().max(1) as u32;
    format!(
        "mean {}  p50 {}  p99 {}  max {}",
        ms(mean),
        ms(percentile(latencies, 50.0)),
        ms(percentile(latencies, 99.0)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    )
}

fn env_for(
    dir: &std::path::Path,
    key: &str,
    database_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut env = common::binary_env(dir, key, EXTERNAL_ID_SECRET);
    env.extend([
        ("ALPHASWARM_ADMIN_AWS_FAKE", "1".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    if let Some(url) = database_url {
        env.push(("ALPHASWARM_ADMIN_DATABASE_URL", url.to_owned()));
    }
    env
}

struct Running {
    proxy: BinaryProxy,
    token: String,
}

async fn start(dir: &std::path::Path, tag: &str, env: &[(&'static str, String)]) -> Running {
    let replica = dir.join(tag);
    std::fs::create_dir_all(&replica).unwrap();
    let mut env = env.to_vec();
    for (name, value) in env.iter_mut() {
        if *name == "ALPHASWARM_ADMIN_STATE_DIR" {
            *value = replica.join("state").display().to_string();
        }
    }
    let proxy = BinaryProxy::spawn(&replica, tag, &env);
    let (password, totp) = proxy.enrollment();
    let token = proxy
        .stepped_up(&common::http_client(), &password, &totp)
        .await;
    Running { proxy, token }
}

/// `bootstrap` as fast as 32 clients can, spread over the replicas.
async fn bootstrap_load(label: &str, replicas: &[&Running]) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(LOAD_CONCURRENCY)
        .build()
        .unwrap();
    let targets: Arc<Vec<(String, String)>> = Arc::new(
        replicas
            .iter()
            .map(|r| {
                (
                    format!("{}/admin/accounts/acme/cloud/aws/bootstrap", r.proxy.base),
                    r.token.clone(),
                )
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..LOAD_CONCURRENCY)
        .map(|_| {
            let (http, targets, next) = (http.clone(), targets.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= LOAD_REQUESTS || started.elapsed() >= LOAD_TIME_LIMIT {
                        break;
                    }
                    let (url, token) = &targets[n % targets.len()];
                    let t = Instant::now();
                    let ok = match http
                        .post(url.as_str())
                        .bearer_auth(token)
                        .json(&json!({}))
                        .send()
                        .await
                    {
                        Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    latencies.push(t.elapsed());
                    errors += usize::from(!ok);
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    println!(
        "bootstrap load, {label}: {} requests, {LOAD_CONCURRENCY} concurrent clients, {:.2} s, {errors} errors",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} requests/s",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!("  latency: {}", summary(&mut latencies));
}

fn seeded(i: usize) -> StoredIntegration {
    let org = format!("seeded-{i}");
    StoredIntegration {
        credential_key: format!("cloud_aws:org:{org}"),
        org_id: org,
        kind: "cloud_aws".into(),
        status: "healthy".into(),
        connected_at: "2026-01-01T00:00:00Z".into(),
        last_health_at: None,
        error: None,
        metadata: BTreeMap::from([
            ("account_id".into(), CUSTOMER.into()),
            (
                "role_arn".into(),
                role_arn(CUSTOMER, &format!("alphaswarm-broker-seeded-{i}")),
            ),
            ("region".into(), "us-east-1".into()),
        ]),
        sensitive: BTreeMap::from([(
            "external_id".into(),
            "0123456789abcdef0123456789abcdef".into(),
        )]),
        ..StoredIntegration::default()
    }
}

/// Writes `count` integrations (and the listed org's) straight into the database.
async fn seed(target: &Target, key: &str, count: usize) {
    let started = Instant::now();
    let db = Database::open(target, OpenOptions::default())
        .await
        .unwrap();
    let store = DbIntegrationStore::open(db.clone(), key).await.unwrap();
    let mut listed: Vec<_> = LISTED_KINDS
        .iter()
        .map(|kind| StoredIntegration {
            org_id: LISTED_ORG.into(),
            kind: (*kind).into(),
            credential_key: format!("{kind}:org:{LISTED_ORG}"),
            ..seeded(0)
        })
        .collect();
    for chunk in (0..count).collect::<Vec<_>>().chunks(10_000) {
        let mut batch: Vec<_> = chunk.iter().map(|i| seeded(*i)).collect();
        batch.append(&mut listed);
        store.put_many(batch).await.unwrap();
    }
    db.close().await;
    println!(
        "  seeded {count} integrations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Sequential connects of new orgs, then sequential listings of one org.
async fn connect_and_list(label: &str, running: &Running) {
    let http = common::http_client();
    let pid = running.proxy.child.id();
    let mut connects = Vec::new();
    for i in 0..CONNECTS {
        let t = Instant::now();
        let response = http
            .post(format!(
                "{}/admin/accounts/bench-{i}/cloud/aws/connect",
                running.proxy.base
            ))
            .bearer_auth(&running.token)
            .json(&json!({"role_arn": role_arn(CUSTOMER, &format!("r{i}"))}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        connects.push(t.elapsed());
    }
    println!(
        "  connect ({label}, {CONNECTS} sequential): {}",
        summary(&mut connects)
    );
    let mut lists = Vec::new();
    for _ in 0..LISTS {
        let t = Instant::now();
        let body: serde_json::Value = http
            .get(format!(
                "{}/admin/accounts/{LISTED_ORG}/integrations",
                running.proxy.base
            ))
            .bearer_auth(&running.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["integrations"].as_array().map(Vec::len),
            Some(LISTED_KINDS.len())
        );
        lists.push(t.elapsed());
    }
    println!(
        "  list one org's {} connections ({label}, {LISTS} sequential): {}",
        LISTED_KINDS.len(),
        summary(&mut lists)
    );
    println!("  proxy RSS after: {} KiB", rss_kib(pid));
}

async fn sqlite_scenario() {
    let dir = temp_dir("bench-sqlite");
    let key = FernetFileStore::generate_key();
    let env = env_for(&dir, &key, None);

    let empty = start(&dir, "empty", &env).await;
    println!(
        "SQLite, empty: proxy RSS idle {} KiB",
        rss_kib(empty.proxy.child.id())
    );
    bootstrap_load("one replica (SQLite)", &[&empty]).await;
    println!(
        "  proxy RSS after load: {} KiB",
        rss_kib(empty.proxy.child.id())
    );
    drop(empty);

    let count = stored();
    println!("SQLite with {count} stored:");
    let stored_dir = dir.join("stored");
    seed(
        &Target::Sqlite(stored_dir.join("state").join("alphaswarm.db")),
        &key,
        count,
    )
    .await;
    let running = start(&dir, "stored", &env).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "  proxy RSS idle with {count} stored: {} KiB",
        rss_kib(running.proxy.child.id())
    );
    connect_and_list("SQLite", &running).await;
}

async fn postgres_scenario() {
    let dir = temp_dir("bench-postgres");
    let key = FernetFileStore::generate_key();
    let url = postgres::fresh_database().await;
    let count = stored();
    println!("PostgreSQL with {count} stored:");
    seed(&Target::postgres(&url).unwrap(), &key, count).await;
    let env = env_for(&dir, &key, Some(&url));
    let a = start(&dir, "a", &env).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "  proxy RSS idle with {count} stored: {} KiB",
        rss_kib(a.proxy.child.id())
    );
    connect_and_list("PostgreSQL", &a).await;
    let b = start(&dir, "b", &env).await;
    bootstrap_load("one replica (PostgreSQL)", &[&a]).await;
    bootstrap_load("two replicas (one PostgreSQL)", &[&a, &b]).await;
}

fn main() {
    run_benchmark(async {
        sqlite_scenario().await;
        postgres_scenario().await;
    });
}
