//! `cargo bench -p alphaswarm-proxy`: figures for the release binary on loopback.
//! - requests/s and latency percentiles of `bootstrap` under a bounded load;
//! - the proxy's RSS (VmRSS) idle and after the load;
//! - connect latency with 10,000 integrations already stored;
//! - login throughput through the password-hash gate (right and wrong
//!   passwords), and the proxy's peak RSS under 200 parallel wrong logins.
//!
//! The binary's AWS is the loopback AWS fake (alphaswarm-fakes), so connect
//! latency is the proxy's own cost (audit fsyncs, encryption, the atomic
//! store rewrite) plus two signed loopback calls (AssumeRole,
//! GetCallerIdentity), not AWS's network latency.
//! Sections can be chosen (`cargo bench -p alphaswarm-proxy -- bootstrap`),
//! and `ALPHASWARM_PROXY_BINARY=<path>` benchmarks another build of the
//! proxy (e.g. the previous release) for a before/after.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/stats.rs"]
mod stats;

use alphaswarm_proxy::store::{FernetFileStore, StoredIntegration};
use common::*;
use serde_json::json;
use stats::{ms, percentile};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOAD_REQUESTS: usize = 20_000;
const LOAD_CONCURRENCY: usize = 32;
const LOAD_TIME_LIMIT: Duration = Duration::from_secs(20);
const STORED: usize = 10_000;
const CONNECTS: usize = 100;
const LOGIN_TIME: Duration = Duration::from_secs(5);
const LOGIN_FLOOD_CLIENTS: usize = 8;
const BURST: u8 = 200;

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

/// CPU time (user + system, all threads) a process has used, from
/// /proc/<pid>/stat in USER_HZ ticks (100 per second on Linux). Less
/// sensitive to a busy machine than throughput.
fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let fields: Vec<u64> = s
                .rsplit_once(") ")?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            Some(fields.iter().sum::<u64>() as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn env_for(dir: &std::path::Path, key: &str, aws: &LoopbackAws) -> Vec<(&'static str, String)> {
    let mut env = binary_env(dir, key, EXTERNAL_ID_SECRET);
    env.extend([
        ("RUST_LOG", "warn".to_owned()),
        // The figures are the requests' own; no background re-check meanwhile.
        ("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ]);
    env.extend(aws.env());
    env
}

async fn bootstrap_load() {
    let dir = temp_dir("bench-load");
    let key = FernetFileStore::generate_key();
    let aws = LoopbackAws::start().await;
    let proxy = BinaryProxy::spawn(&dir, "load", &env_for(&dir, &key, &aws));
    let pid = proxy.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(pid);
    let (password, totp) = proxy.enrollment();
    alphaswarm_proxy::aws::ensure_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(LOAD_CONCURRENCY)
        .build()
        .unwrap();
    let token = Arc::new(proxy.stepped_up(&http, &password, &totp).await);
    let url = Arc::new(format!(
        "{}/admin/accounts/acme/cloud/aws/bootstrap",
        proxy.base
    ));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let workers: Vec<_> = (0..LOAD_CONCURRENCY)
        .map(|_| {
            let (http, token, url, next) = (http.clone(), token.clone(), url.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < LOAD_REQUESTS
                    && started.elapsed() < LOAD_TIME_LIMIT
                {
                    let t = Instant::now();
                    let ok = match http
                        .post(url.as_str())
                        .bearer_auth(token.as_str())
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
    let cpu = cpu_seconds(pid) - cpu_before;
    latencies.sort();
    let after = rss_kib(pid);
    println!(
        "bootstrap load: {} requests, {LOAD_CONCURRENCY} concurrent clients, {:.2} s, {errors} errors",
        latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  throughput: {:.0} requests/s",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {}  p90 {}  p99 {}  max {}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "  proxy CPU: {:.1} µs per request ({cpu:.2} s in all)",
        cpu * 1e6 / latencies.len().max(1) as f64
    );
    println!("proxy RSS: idle {} KiB, after load {} KiB", idle, after);
}

async fn connect_with_many_stored() {
    let dir = temp_dir("bench-store");
    let key = FernetFileStore::generate_key();
    let seed_started = Instant::now();
    {
        let store = FernetFileStore::open(dir.join("integrations.json"), &key).unwrap();
        let records = (0..STORED)
            .map(|i| {
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
            })
            .collect();
        store.put_many(records).await.unwrap();
    }
    let size = std::fs::metadata(dir.join("integrations.json"))
        .unwrap()
        .len();
    println!(
        "store: {STORED} integrations seeded in {:.2} s, file {} KiB",
        seed_started.elapsed().as_secs_f64(),
        size / 1024
    );
    let aws = LoopbackAws::start().await;
    let roles: Vec<String> = (0..CONNECTS)
        .map(|i| {
            aws.role(
                &format!("bench-{i}"),
                &format!("r{i}"),
                Trust::Rendered,
                Grant::Baseline,
            )
        })
        .collect();
    let proxy = BinaryProxy::spawn(&dir, "store", &env_for(&dir, &key, &aws));
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let token = proxy.stepped_up(&http, &password, &totp).await;
    let mut latencies = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let t = Instant::now();
        let response = http
            .post(format!(
                "{}/admin/accounts/bench-{i}/cloud/aws/connect",
                proxy.base
            ))
            .bearer_auth(&token)
            .json(&json!({"role_arn": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    println!("connect with {STORED}+ stored integrations ({CONNECTS} sequential connects):");
    println!(
        "  mean {}  p50 {}  p99 {}  max {}",
        ms(mean),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap())
    );
    println!(
        "proxy RSS with {} integrations: {} KiB",
        STORED + CONNECTS,
        rss_kib(proxy.child.id())
    );
}

/// Logins from `clients` workers for LOGIN_TIME, each on a new connection.
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
    let proxy = BinaryProxy::spawn(&dir, "login", &env_for(&dir, &key, &aws));
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
    let proxy = BinaryProxy::spawn(&dir, "burst", &env_for(&dir, &key, &aws));
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
    // `cargo bench -p alphaswarm-proxy -- bootstrap login` runs those sections only.
    let args: Vec<String> = std::env::args().collect();
    let chosen: Vec<&str> = ["bootstrap", "login", "connect"]
        .into_iter()
        .filter(|s| args.iter().any(|a| a == s))
        .collect();
    let runs = move |section: &str| chosen.is_empty() || chosen.contains(&section);
    run_benchmark(async {
        if let Some(other) = std::env::var_os("ALPHASWARM_PROXY_BINARY") {
            println!("(benchmarking the binary {})", other.to_string_lossy());
        }
        if runs("bootstrap") {
            bootstrap_load().await;
        }
        if runs("login") {
            logins().await;
        }
        if runs("connect") {
            connect_with_many_stored().await;
        }
    });
}
