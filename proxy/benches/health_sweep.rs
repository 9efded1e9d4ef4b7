//! `cargo bench -p alphaswarm-proxy --bench health_sweep`: the background
//! health sweep of the release binary over 10,000 stored connections
//! (5,000 HuggingFace, 5,000 Docker Hub) against the loopback fakes.
//!
//! Printed: the sweep's wall time and the proxy's own report, the peak of
//! concurrent requests the fakes saw (one shared counter), the proxy's RSS
//! (idle, peak during the sweep, high-water mark), and a second sweep in
//! which every HuggingFace token was revoked (5,000 status changes, each
//! logged and audited). Figures only; nothing is asserted.

#[allow(dead_code)]
#[path = "../tests/support/account_fakes.rs"]
mod account_fakes;
#[path = "../tests/common/mod.rs"]
mod common;

use account_fakes::{AccountFakes, stored};
use alphaswarm_fakes::dockerhub::PatScope;
use alphaswarm_fakes::huggingface::TokenRole;
use alphaswarm_fakes::traffic::Traffic;
use alphaswarm_proxy::store::FernetFileStore;
use common::*;
use std::time::{Duration, Instant};

const PER_KIND: usize = 5_000;
/// Each fake answer takes this long (a fast upstream; real ones are slower).
const UPSTREAM_LATENCY: Duration = Duration::from_millis(10);
const CONCURRENCY: usize = 32;
/// Long enough that the first sweep ends well before the second starts.
const INTERVAL_SECONDS: u64 = 60;

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// `key=value` of the n-th "health sweep finished" log line (ANSI stripped).
fn sweep_field(logs: &str, nth: usize, key: &str) -> Option<String> {
    let line = logs
        .lines()
        .filter(|l| l.contains("health sweep finished"))
        .nth(nth)?;
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// Waits for the n-th sweep to finish while sampling RSS; returns the wall
/// time since `since` and the peak RSS seen.
async fn await_sweep(proxy: &BinaryProxy, nth: usize, since: Instant) -> (Duration, u64) {
    let pid = proxy.child.id();
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        peak = peak.max(status_kib(pid, "VmRSS:"));
        let logs = proxy.logs();
        if sweep_field(&logs, nth, "records").is_some() {
            return (since.elapsed(), peak);
        }
        assert!(
            Instant::now() < deadline,
            "sweep {nth} did not finish: {logs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn print_report(logs: &str, nth: usize) {
    let field = |key| sweep_field(logs, nth, key).unwrap_or_else(|| "?".to_owned());
    println!(
        "  proxy report: records {} checked {} healthy {} failed {} changed {} retries {} peak in flight {} sweep {} ms",
        field("records"),
        field("checked"),
        field("healthy"),
        field("failed"),
        field("changed"),
        field("retries"),
        field("peak_in_flight"),
        field("duration_ms"),
    );
}

async fn sweep_10000() {
    let traffic = Traffic::default();
    let fakes = AccountFakes::start_sharing(traffic.clone()).await;
    let dir = temp_dir("bench-health");
    let key = FernetFileStore::generate_key();
    let mut hf_tokens = Vec::with_capacity(PER_KIND);
    let mut records = Vec::with_capacity(2 * PER_KIND);
    for i in 0..PER_KIND {
        let token = fakes.hf.issue_token("alice", TokenRole::Read);
        hf_tokens.push(token.clone());
        records.push(stored(
            "huggingface",
            &format!("hf-{i}"),
            "alice",
            ("token", token),
            &[],
        ));
        let pat = fakes.docker.issue_pat("acmeops", PatScope::Read);
        records.push(stored(
            "docker_hub",
            &format!("dh-{i}"),
            "acme",
            ("pat", pat),
            &[("username", "acmeops")],
        ));
    }
    let seeding = Instant::now();
    FernetFileStore::open(dir.join("integrations.json"), &key)
        .unwrap()
        .put_many(records)
        .await
        .unwrap();
    let size = std::fs::metadata(dir.join("integrations.json"))
        .unwrap()
        .len();
    println!(
        "health sweep over {} stored connections ({PER_KIND} HuggingFace + {PER_KIND} Docker Hub), upstream latency {} ms, concurrency {CONCURRENCY}",
        2 * PER_KIND,
        UPSTREAM_LATENCY.as_millis()
    );
    println!(
        "  store seeded in {:.2} s, file {} KiB",
        seeding.elapsed().as_secs_f64(),
        size / 1024
    );
    traffic.set_latency(UPSTREAM_LATENCY);

    let mut env = binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.retain(|(k, _)| *k != "ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS");
    env.extend(fakes.endpoints());
    env.extend([
        (
            "ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS",
            INTERVAL_SECONDS.to_string(),
        ),
        (
            "ALPHASWARM_ADMIN_HEALTH_CONCURRENCY",
            CONCURRENCY.to_string(),
        ),
        ("RUST_LOG", "info".to_owned()),
    ]);
    let started = Instant::now();
    let proxy = BinaryProxy::spawn(&dir, "health", &env);
    let pid = proxy.child.id();
    let idle = status_kib(pid, "VmRSS:");
    let (wall, peak) = await_sweep(&proxy, 0, started).await;
    let seen = traffic.stats();
    println!("first sweep (all healthy):");
    println!(
        "  wall time from proxy start: {:.2} s (includes the first sweep's random start delay of at most {} s)",
        wall.as_secs_f64(),
        INTERVAL_SECONDS / 10
    );
    print_report(&proxy.logs(), 0);
    println!(
        "  at the fakes: {} requests, peak {} concurrent",
        seen.requests, seen.peak_in_flight
    );
    println!(
        "  proxy RSS: idle {idle} KiB, peak during the sweep {peak} KiB, high-water {} KiB",
        status_kib(pid, "VmHWM:")
    );

    // Every HuggingFace token revoked: the next sweep finds 5,000 changes.
    for token in &hf_tokens {
        fakes.hf.revoke(token);
    }
    traffic.reset_stats();
    let since = Instant::now();
    let (wall, peak) = await_sweep(&proxy, 1, since).await;
    let seen = traffic.stats();
    println!("second sweep ({PER_KIND} HuggingFace tokens revoked upstream):");
    println!(
        "  waited {:.2} s for it (the interval is {INTERVAL_SECONDS} s ±10%)",
        wall.as_secs_f64()
    );
    print_report(&proxy.logs(), 1);
    println!(
        "  at the fakes: {} requests, peak {} concurrent",
        seen.requests, seen.peak_in_flight
    );
    let db = binary_database(&dir).await;
    let audit_rows = audit_rows(&db).await.len();
    db.close().await;
    println!(
        "  audit rows written for status changes: {audit_rows}; proxy RSS peak {peak} KiB, high-water {} KiB",
        status_kib(pid, "VmHWM:")
    );
}

fn main() {
    run_benchmark(sweep_10000());
}
