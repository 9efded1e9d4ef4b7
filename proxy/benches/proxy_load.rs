//! `cargo bench -p alphaswarm-proxy`: figures for the release binary on loopback.
//! - `bootstrap` requests/s and latency percentiles under a bounded load,
//!   on one replica and on two replicas (one PostgreSQL) behind the same
//!   load generator (round robin);
//! - connect latency with `BENCH_STORED` (default 100,000) integrations
//!   already stored, on SQLite (the default; aim p50 ≤ 5 ms) and on
//!   PostgreSQL (aim p50 ≤ 10 ms);
//! - listing one org's connections at that size;
//! - the proxy's RSS (VmRSS) idle with the operator signed in (aim
//!   ≤ 30 MiB), with that many stored (aim: no more: nothing loads every
//!   record), and after;
//! - login throughput through the password-hash gate (right and wrong
//!   passwords), and the proxy's peak RSS under 200 parallel wrong logins.
//!
//! Each figure is printed with its aim (issue 11) and the machine's load
//! average: repeat a run taken under a high load.
//!
//! The binary's AWS is the loopback AWS fake (alphaswarm-fakes), so connect
//! latency is the proxy's own cost (two audit rows and one store row, each
//! committed to disk, the Fernet encryption) plus two signed loopback calls
//! (AssumeRole, GetCallerIdentity), not AWS's network latency. PostgreSQL
//! is the test area's (`ALPHASWARM_TEST_POSTGRES_URL`) or one started here,
//! fsync on. Sections can be chosen (`cargo bench -p alphaswarm-proxy --
//! sqlite postgres login`), and `ALPHASWARM_PROXY_BINARY=<path>` benchmarks
//! another build of the proxy (e.g. the previous release) for a before/after.

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
const LOGIN_TIME: Duration = Duration::from_secs(5);
const LOGIN_FLOOD_CLIENTS: usize = 8;
const BURST: u8 = 200;
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

/// CPU time (user + system) the process has used, in milliseconds
/// (Linux counts it in 1/100 s).
fn cpu_ms(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let fields: Vec<u64> = s
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse().ok())
                .collect();
            Some(fields.iter().sum::<u64>() as f64 * 10.0)
        })
        .unwrap_or(0.0)
}

/// The machine's 1-minute load average: figures taken on a busy machine
/// (the CI's 2 cores shared with builds) are not comparable.
fn load() -> String {
    let average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    format!(
        "load {average} on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// RSS aims of issue 11.
const RSS_IDLE_AIM: &str = "aim ≤ 30 MiB";
const RSS_STORED_AIM: &str = "aim: about the empty proxy's, no record is kept in memory";

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
    aws: &LoopbackAws,
) -> Vec<(&'static str, String)> {
    let mut env = common::binary_env(dir, key, EXTERNAL_ID_SECRET);
    env.extend([
        ("RUST_LOG", "warn".to_owned()),
        // The figures are the requests' own; no background re-check meanwhile.
        ("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ]);
    env.extend(aws.env());
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
    let load_before = load();
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
        "bootstrap load, {label}: {} requests, {LOAD_CONCURRENCY} concurrent clients, {:.2} s, {errors} errors ({load_before} before, {} after)",
        latencies.len(),
        elapsed.as_secs_f64(),
        load()
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
async fn connect_and_list(label: &str, aim: &str, running: &Running, aws: &LoopbackAws) {
    let load_before = load();
    let http = common::http_client();
    let pid = running.proxy.child.id();
    let mut connects = Vec::new();
    let cpu_before = cpu_ms(pid);
    for i in 0..CONNECTS {
        let arn = aws.role(
            &format!("{label}-{i}"),
            &format!("r{i}"),
            Trust::Rendered,
            Grant::Baseline,
        );
        let t = Instant::now();
        let response = http
            .post(format!(
                "{}/admin/accounts/{label}-{i}/cloud/aws/connect",
                running.proxy.base
            ))
            .bearer_auth(&running.token)
            .json(&json!({"role_arn": arn}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        connects.push(t.elapsed());
    }
    let cpu_per_connect = (cpu_ms(pid) - cpu_before) / CONNECTS as f64;
    println!(
        "  connect ({label}, {CONNECTS} sequential): {}  ({aim}; {load_before})",
        summary(&mut connects)
    );
    println!(
        "  proxy CPU per connect: {cpu_per_connect:.2} ms (its own work, which the load average does not inflate as it does the latencies)"
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
        "  list one org's {} connections ({label}, {LISTS} sequential): {}  (no aim set; {})",
        LISTED_KINDS.len(),
        summary(&mut lists),
        load()
    );
    println!(
        "  proxy RSS after the connects and listings: {}",
        mib(rss_kib(pid))
    );
    // The overview (like the background health sweep) still reads every
    // record at once: shown here so its cost at this size is on record.
    let t = Instant::now();
    let response = http
        .get(format!("{}/admin/accounts", running.proxy.base))
        .bearer_auth(&running.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.bytes().await.unwrap().len();
    println!(
        "  overview of every organisation (GET /admin/accounts, unpaginated, reads every record): {} for {:.1} MiB of JSON, proxy RSS after {} (no aim set; {})",
        ms(t.elapsed()),
        answer as f64 / 1024.0 / 1024.0,
        mib(rss_kib(pid)),
        load()
    );
}

async fn sqlite_scenario() {
    let dir = temp_dir("bench-sqlite");
    let key = FernetFileStore::generate_key();
    let aws = LoopbackAws::start().await;
    let env = env_for(&dir, &key, None, &aws);

    let empty = start(&dir, "empty", &env).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("SQLite, empty ({}):", load());
    println!(
        "  proxy RSS idle, operator signed in: {} ({RSS_IDLE_AIM})",
        mib(rss_kib(empty.proxy.child.id()))
    );
    bootstrap_load("one replica (SQLite)", &[&empty]).await;
    println!(
        "  proxy RSS after load: {}",
        mib(rss_kib(empty.proxy.child.id()))
    );
    drop(empty);

    let count = stored();
    println!("SQLite with {count} stored ({}):", load());
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
        "  proxy RSS idle with {count} stored: {} ({RSS_STORED_AIM}; {RSS_IDLE_AIM} idle)",
        mib(rss_kib(running.proxy.child.id()))
    );
    connect_and_list("sqlite", "aim p50 ≤ 5 ms", &running, &aws).await;
}

async fn postgres_scenario() {
    let dir = temp_dir("bench-postgres");
    let key = FernetFileStore::generate_key();
    let url = postgres::fresh_database().await;
    let count = stored();
    println!("PostgreSQL with {count} stored ({}):", load());
    seed(&Target::postgres(&url).unwrap(), &key, count).await;
    let aws = LoopbackAws::start().await;
    let env = env_for(&dir, &key, Some(&url), &aws);
    let a = start(&dir, "a", &env).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "  proxy RSS idle with {count} stored: {} ({RSS_STORED_AIM}; {RSS_IDLE_AIM} idle)",
        mib(rss_kib(a.proxy.child.id()))
    );
    connect_and_list("postgresql", "aim p50 ≤ 10 ms", &a, &aws).await;
    let b = start(&dir, "b", &env).await;
    bootstrap_load("one replica (PostgreSQL)", &[&a]).await;
    bootstrap_load("two replicas (one PostgreSQL)", &[&a, &b]).await;
}

/// Wrong passwords rotate source addresses every 5 attempts (a client's
/// free failures), so what limits them is the hash gate, not the budgets.
/// Returns (checked: 200 or 401, refused busy: 429, other).
async fn login_load(base: &str, password: &str, clients: usize) -> (usize, usize, usize) {
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (base, password, sent) = (base.to_owned(), password.to_owned(), sent.clone());
            tokio::spawn(async move {
                let right = password != "wrong-password";
                let request = json_request(
                    "POST",
                    "/auth/login",
                    authority(&base),
                    &json!({"username": "admin", "password": password}),
                );
                let (mut checked, mut busy, mut other) = (0, 0, 0);
                while started.elapsed() < LOGIN_TIME {
                    let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) / 5;
                    let from = if right {
                        std::net::Ipv4Addr::LOCALHOST
                    } else {
                        std::net::Ipv4Addr::new(127, 20, (n / 250) as u8, (n % 250) as u8 + 1)
                    };
                    let mut stream = connect_from(from, &base).await;
                    match raw_exchange(&mut stream, &request).await.status {
                        200 | 401 => checked += 1,
                        429 => busy += 1,
                        _ => other += 1,
                    }
                }
                (checked, busy, other)
            })
        })
        .collect();
    let mut totals = (0, 0, 0);
    for w in workers {
        let (c, b, o) = w.await.unwrap();
        totals = (totals.0 + c, totals.1 + b, totals.2 + o);
    }
    totals
}

async fn logins() {
    let dir = temp_dir("bench-login");
    let key = FernetFileStore::generate_key();
    let aws = LoopbackAws::start().await;
    let proxy = BinaryProxy::spawn(&dir, "login", &env_for(&dir, &key, None, &aws));
    let (password, _) = proxy.enrollment();
    let seconds = LOGIN_TIME.as_secs_f64();
    let gate = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    // As many clients as the gate admits (its capacity), then a flood that
    // never pauses (what the gate protects the hashes from).
    for clients in [gate, LOGIN_FLOOD_CLIENTS] {
        for (what, attempt) in [("right", password.as_str()), ("wrong", "wrong-password")] {
            let (checked, busy, other) = login_load(&proxy.base, attempt, clients).await;
            println!(
                "login, {what} password, {clients} clients, {seconds:.0} s: {:.1} checked/s ({}), {:.0} refused busy/s, {other} other",
                checked as f64 / seconds,
                if attempt == password { "200" } else { "401" },
                busy as f64 / seconds,
            );
        }
    }
    drop(proxy);

    // Peak RSS: a fresh proxy, then one burst from 200 addresses at once.
    let dir = temp_dir("bench-burst");
    let proxy = BinaryProxy::spawn(&dir, "burst", &env_for(&dir, &key, None, &aws));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_peak = peak_rss_kib(proxy.child.id());
    let from: Vec<_> = (1..=BURST)
        .map(|i| std::net::Ipv4Addr::new(127, 21, 0, i))
        .collect();
    let outcomes = wrong_login_burst(&from, &proxy.base).await;
    let hashed = outcomes.iter().filter(|(s, _)| s.as_u16() == 401).count();
    println!(
        "{BURST} parallel wrong logins from {BURST} addresses: {hashed} hashed, {} refused at once; peak RSS {:.1} MiB (idle peak {:.1} MiB; aim < 200 MiB)",
        outcomes.len() - hashed,
        peak_rss_kib(proxy.child.id()) as f64 / 1024.0,
        idle_peak as f64 / 1024.0
    );
}

fn main() {
    // `cargo bench -p alphaswarm-proxy -- sqlite login` runs those sections only.
    let args: Vec<String> = std::env::args().collect();
    let chosen: Vec<&str> = ["sqlite", "postgres", "login"]
        .into_iter()
        .filter(|s| args.iter().any(|a| a == s))
        .collect();
    let runs = move |section: &str| chosen.is_empty() || chosen.contains(&section);
    run_benchmark(async {
        if let Some(other) = std::env::var_os("ALPHASWARM_PROXY_BINARY") {
            println!("(benchmarking the binary {})", other.to_string_lossy());
        }
        if runs("sqlite") {
            sqlite_scenario().await;
        }
        if runs("postgres") {
            postgres_scenario().await;
        }
        if runs("login") {
            logins().await;
        }
    });
}
