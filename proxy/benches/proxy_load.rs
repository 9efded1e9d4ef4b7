//! `cargo bench -p alphaswarm-proxy`: figures for the release binary on loopback.
//! - requests/s and latency percentiles of `bootstrap` under a bounded load;
//! - the proxy's RSS (VmRSS) idle and after the load;
//! - connect latency with 10,000 integrations already stored.
//!
//! The binary runs in its test-only fake-AWS mode, so connect latency is the
//! proxy's own cost (audit fsyncs, encryption, the atomic store rewrite),
//! not AWS's.

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

fn env_for(dir: &std::path::Path, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0".to_owned()),
        (
            "ALPHASWARM_ADMIN_STATE_DIR",
            dir.join("state").display().to_string(),
        ),
        (
            "ALPHASWARM_ADMIN_INTEGRATIONS_PATH",
            dir.join("integrations.json").display().to_string(),
        ),
        ("ALPHASWARM_ADMIN_INTEGRATIONS_KEY", key.to_owned()),
        (
            "ALPHASWARM_ADMIN_AUDIT_PATH",
            dir.join("audit.jsonl").display().to_string(),
        ),
        (
            "ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID",
            PARTNER.to_owned(),
        ),
        (
            "ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET",
            EXTERNAL_ID_SECRET.to_owned(),
        ),
        ("ALPHASWARM_ADMIN_AWS_FAKE", "1".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
        // The figures are the requests' own; no background re-check meanwhile.
        ("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ]
}

async fn bootstrap_load() {
    let dir = temp_dir("bench-load");
    let key = FernetFileStore::generate_key();
    let proxy = BinaryProxy::spawn(&dir, "load", &env_for(&dir, &key));
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
    let proxy = BinaryProxy::spawn(&dir, "store", &env_for(&dir, &key));
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let token = proxy.stepped_up(&http, &password, &totp).await;
    let mut latencies = Vec::new();
    for i in 0..CONNECTS {
        let t = Instant::now();
        let response = http
            .post(format!(
                "{}/admin/accounts/bench-{i}/cloud/aws/connect",
                proxy.base
            ))
            .bearer_auth(&token)
            .json(&json!({"role_arn": role_arn(CUSTOMER, &format!("r{i}"))}))
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

fn main() {
    run_benchmark(async {
        bootstrap_load().await;
        connect_with_many_stored().await;
    });
}
