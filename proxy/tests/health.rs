//! Connection health: the Re-check route for every kind with a provider
//! (verdict on the record, audited like a step; AWS's through the real
//! client against the AWS fake), and the background sweep (flips to failed
//! when a fake revokes or a trust policy changes, back when restored; status
//! changes audited; 1,000 connections within the interval with bounded
//! concurrency, counted at the fakes).

mod common;
mod support;

use alphaswarm_fakes::dockerhub::PatScope;
use alphaswarm_fakes::huggingface::TokenRole;
use alphaswarm_fakes::traffic::{Fault, Traffic};
use alphaswarm_proxy::config;
use alphaswarm_proxy::health::sweep::SweepReport;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::account_fakes::{AccountFakes, assert_run, health, integration, run_id, stored};

async fn integrations(proxy: &TestProxy, token: &str) -> BTreeMap<String, Value> {
    let listed = proxy.integrations(token, "acme").await;
    listed
        .into_iter()
        .map(|i| (i["kind"].as_str().unwrap_or_default().to_owned(), i))
        .collect()
}

#[tokio::test]
async fn recheck_puts_the_verdict_on_the_record_and_audits_it() {
    let fakes = AccountFakes::start().await;
    let proxy = TestProxy::start_seeded("health-route", &fakes.endpoints(), Vec::new()).await;
    let token = proxy.stepped_up().await;
    let hf = fakes.hf_token();
    let (status, _) = proxy
        .post(&integration("huggingface"), &token, json!({"token": hf}))
        .await;
    assert_eq!(status, 200);

    let (status, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["status"], "healthy");
    assert_eq!(body["health"]["changed"], false);
    let shown = &body["integration"];
    assert_eq!(shown["last_health_status"], "healthy");
    assert!(shown["last_health_at"].is_string());
    assert_run(
        &proxy.audit_rows().await,
        &run_id(&body),
        "health",
        "huggingface",
        "succeeded",
        None,
    );

    // Revoked upstream: failed, with the code, message and hint on the record.
    fakes.hf.revoke(&hf);
    let (status, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["status"], "failed");
    assert_eq!(body["health"]["changed"], true);
    assert_eq!(body["health"]["error"]["code"], "huggingface_token_refused");
    assert_run(
        &proxy.audit_rows().await,
        &run_id(&body),
        "health",
        "huggingface",
        "failed",
        Some("huggingface_token_refused"),
    );
    let listed = &integrations(&proxy, &token).await["huggingface"];
    assert_eq!(listed["status"], "failed");
    assert_eq!(listed["error"], "huggingface_token_refused");
    assert!(
        listed["error_hint"]
            .as_str()
            .unwrap()
            .contains("settings/tokens")
    );
    assert!(!listed.to_string().contains(&hf));

    // An upstream outage is not the token's fault: degraded, not failed.
    fakes.hf.reinstate(&hf);
    fakes
        .hf
        .traffic()
        .set_outage(Some(Fault::Unavailable { status: 503 }));
    let (_, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(body["health"]["status"], "degraded", "{body}");
    assert_eq!(body["health"]["error"]["code"], "upstream_unavailable");
    fakes.hf.traffic().set_outage(None);
    let (_, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(body["health"]["status"], "healthy", "{body}");

    // The user left the org the connection acts for: failed.
    let (status, _) = proxy
        .post(
            &integration("huggingface"),
            &token,
            json!({"token": hf, "namespace": "acme-quant", "replace": true}),
        )
        .await;
    assert_eq!(status, 200);
    fakes.hf.remove_member("acme-quant", "alice");
    let (_, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(
        body["health"]["error"]["code"], "namespace_not_accessible",
        "{body}"
    );

    // A token about to expire still works but needs attention.
    let expiring = fakes.hf.issue_token_with(
        "alice",
        TokenRole::Read,
        Some(
            &(time::OffsetDateTime::now_utc() + time::Duration::days(2))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
        ),
    );
    let (status, _) = proxy
        .post(
            &integration("huggingface"),
            &token,
            json!({"token": expiring, "replace": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(
        (
            body["health"]["status"].as_str(),
            body["health"]["error"]["code"].as_str()
        ),
        (Some("degraded"), Some("token_expiring_soon")),
        "{body}"
    );
}

#[tokio::test]
async fn aws_recheck_assumes_the_role_with_the_external_id() {
    let mut proxy = TestProxy::start("health-aws").await;
    let token = proxy.stepped_up().await;
    let role = "alphaswarm-broker-acme";
    let arn = proxy
        .aws
        .role("acme", role, Trust::Rendered, Grant::Baseline);
    let (status, body) = proxy.role_step(&token, "acme", "connect", &arn).await;
    assert_eq!(status, 200, "{body}");

    for kind in ["cloud_aws", "aws"] {
        let before = proxy.aws.calls();
        let (status, body) = proxy.post(&health(kind), &token, json!({})).await;
        assert_eq!(
            (status, body["health"]["status"].as_str()),
            (200, Some("healthy")),
            "{body}"
        );
        assert_run(
            &proxy.audit_rows().await,
            &run_id(&body),
            "health",
            "aws",
            "succeeded",
            None,
        );
        // What the check asked of AWS, and as whom: the platform user's
        // AssumeRole (its own sts:AssumeRole, the role's trust policy and
        // external id), then GetCallerIdentity as the role's session.
        let calls: Vec<_> = proxy.aws.state.calls()[before..]
            .iter()
            .map(|c| {
                (
                    c.action.clone(),
                    c.region.clone(),
                    c.caller.clone().unwrap_or_default(),
                    c.status,
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                (
                    "AssumeRole".to_owned(),
                    "us-east-1".to_owned(),
                    format!("arn:aws:iam::{PARTNER}:user/alphaswarm-platform"),
                    200
                ),
                (
                    "GetCallerIdentity".to_owned(),
                    "us-east-1".to_owned(),
                    format!("arn:aws:sts::{CUSTOMER}:assumed-role/{role}/alphaswarm-health-acme"),
                    200
                ),
            ]
        );
    }

    // The role's permissions are gone: still healthy, as in AWS, because
    // GetCallerIdentity needs no permission and none can deny it.
    proxy
        .aws
        .state
        .delete_role_policy(&arn, alphaswarm_core::aws::BASELINE_POLICY_NAME)
        .unwrap();
    let (_, body) = proxy.post(&health("aws"), &token, json!({})).await;
    assert_eq!(body["health"]["status"], "healthy", "{body}");

    // Throttled by AWS: inconclusive, so degraded, not failed.
    proxy.aws.state.throttle_next(1);
    let (_, body) = proxy.post(&health("aws"), &token, json!({})).await;
    assert_eq!(
        (
            body["health"]["status"].as_str(),
            body["health"]["error"]["code"].as_str()
        ),
        (Some("degraded"), Some("throttled")),
        "{body}"
    );

    // The trust policy now wants another org's external id: STS refuses.
    proxy
        .aws
        .state
        .update_trust_policy(&arn, &trust_policy("acme", Trust::OtherExternalId))
        .unwrap();
    let (_, body) = proxy.post(&health("aws"), &token, json!({})).await;
    assert_eq!(
        (
            body["health"]["status"].as_str(),
            body["health"]["error"]["code"].as_str()
        ),
        (Some("failed"), Some("assume_role_access_denied")),
        "{body}"
    );
    assert_eq!(
        integrations(&proxy, &token).await["cloud_aws"]["status"],
        "failed"
    );

    // The customer deleted the role: STS answers AccessDenied, as for any
    // role the caller may not assume.
    proxy.aws.state.delete_role(&arn).unwrap();
    let (_, body) = proxy.post(&health("aws"), &token, json!({})).await;
    assert_eq!(
        body["health"]["error"]["code"], "assume_role_access_denied",
        "{body}"
    );

    // AWS out of reach: inconclusive again.
    proxy.aws.stop();
    let (_, body) = proxy.post(&health("aws"), &token, json!({})).await;
    assert_eq!(
        (
            body["health"]["status"].as_str(),
            body["health"]["error"]["code"].as_str()
        ),
        (Some("degraded"), Some("aws_unreachable")),
        "{body}"
    );
}

/// Waits (polling, generous deadline) until `check` holds for the listing.
async fn until(
    proxy: &TestProxy,
    token: &str,
    what: &str,
    check: impl Fn(&BTreeMap<String, Value>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = integrations(proxy, token).await;
        if check(&listed) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {listed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sweep_rows(proxy: &TestProxy) -> Vec<Value> {
    proxy
        .audit_rows()
        .await
        .into_iter()
        .filter(|r| r["actor"] == "system:health-sweep")
        .collect()
}

#[tokio::test]
async fn the_background_sweep_sees_a_revoked_token_and_its_restoration() {
    let fakes = AccountFakes::start().await;
    let mut env = fakes.endpoints();
    env.push((config::HEALTH_INTERVAL, "1".to_owned()));
    let proxy = TestProxy::start_seeded("health-sweep", &env, Vec::new()).await;
    let token = proxy.stepped_up().await;
    let hf = fakes.hf_token();
    let pat = fakes.docker_pat();
    let (status, _) = proxy
        .post(&integration("huggingface"), &token, json!({"token": hf}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = proxy
        .post(
            &integration("dockerhub"),
            &token,
            json!({"username": "acmeops", "pat": pat}),
        )
        .await;
    assert_eq!(status, 200);
    // An AWS connection beside them: the sweep's check runs through the real
    // client against the AWS fake, which authorises it as IAM does.
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let (status, body) = proxy.role_step(&token, "acme", "connect", &arn).await;
    assert_eq!(status, 200, "{body}");
    let status_of = |kind: &'static str, want: &'static str| {
        move |listed: &BTreeMap<String, Value>| listed[kind]["last_health_status"] == want
    };
    until(&proxy, &token, "first sweep", |l| {
        status_of("huggingface", "healthy")(l)
            && status_of("docker_hub", "healthy")(l)
            && status_of("cloud_aws", "healthy")(l)
    })
    .await;
    assert!(
        sweep_rows(&proxy).await.is_empty(),
        "healthy at connect and at the check: no change"
    );

    fakes.hf.revoke(&hf);
    fakes.docker.revoke(&pat);
    // The customer's trust policy now names another org's external id.
    let trust_for = |trust| trust_policy("acme", trust);
    proxy
        .aws
        .state
        .update_trust_policy(&arn, &trust_for(Trust::OtherExternalId))
        .unwrap();
    until(&proxy, &token, "revoked", |l| {
        status_of("huggingface", "failed")(l)
            && status_of("docker_hub", "failed")(l)
            && status_of("cloud_aws", "failed")(l)
    })
    .await;
    let listed = integrations(&proxy, &token).await;
    assert_eq!(listed["huggingface"]["error"], "huggingface_token_refused");
    assert_eq!(listed["docker_hub"]["error"], "docker_hub_login_refused");
    assert_eq!(listed["cloud_aws"]["error"], "assume_role_access_denied");
    let rows = sweep_rows(&proxy).await;
    let changes: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["cloud"].as_str().unwrap(),
                r["phase"].as_str().unwrap(),
                r["error_code"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert!(
        changes.contains(&("huggingface", "failed", "huggingface_token_refused")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("docker_hub", "failed", "docker_hub_login_refused")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("aws", "failed", "assume_role_access_denied")),
        "{changes:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r["step"] == "health_status_change" && r["org_id"] == "acme")
    );

    fakes.hf.reinstate(&hf);
    fakes.docker.reinstate(&pat);
    proxy
        .aws
        .state
        .update_trust_policy(&arn, &trust_for(Trust::Rendered))
        .unwrap();
    until(&proxy, &token, "restored", |l| {
        status_of("huggingface", "healthy")(l)
            && status_of("docker_hub", "healthy")(l)
            && status_of("cloud_aws", "healthy")(l)
    })
    .await;
    let listed = integrations(&proxy, &token).await;
    assert_eq!(listed["huggingface"]["error"], Value::Null);
    let rows = sweep_rows(&proxy).await;
    assert_eq!(rows.len(), 6, "three changes each way: {rows:?}");
    assert_eq!(rows.iter().filter(|r| r["phase"] == "succeeded").count(), 3);
    let (status, verify) = proxy
        .send(Method::GET, "/admin/audit/verify", Some(&token), None)
        .await;
    assert_eq!(
        (status, verify["ok"].clone()),
        (200, json!(true)),
        "{verify}"
    );
}

const SWEEP_INTERVAL_SECONDS: u64 = 30;
const SWEEP_CONCURRENCY: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_of_1000_connections_fits_the_interval_with_bounded_concurrency() {
    // Both fakes count into one traffic: its peak is the sweep's concurrency
    // as the upstreams saw it.
    let traffic = Traffic::default();
    let fakes = AccountFakes::start_sharing(traffic.clone()).await;
    let mut records = Vec::new();
    for i in 0..500 {
        records.push(stored(
            "huggingface",
            &format!("hf-{i}"),
            "alice",
            ("token", fakes.hf.issue_token("alice", TokenRole::Read)),
            &[],
        ));
        records.push(stored(
            "docker_hub",
            &format!("dh-{i}"),
            "acme",
            ("pat", fakes.docker.issue_pat("acmeops", PatScope::Read)),
            &[("username", "acmeops")],
        ));
    }
    // Each answer takes 10 ms, so concurrency shows; three answers are rate
    // limits the sweep must back off from and retry.
    traffic.set_latency(Duration::from_millis(10));
    traffic.inject(
        Fault::RateLimited {
            retry_after: Duration::from_secs(1),
        },
        3,
    );
    let mut env = fakes.endpoints();
    env.push((config::HEALTH_INTERVAL, SWEEP_INTERVAL_SECONDS.to_string()));
    env.push((config::HEALTH_CONCURRENCY, SWEEP_CONCURRENCY.to_string()));
    let proxy = TestProxy::start_seeded("health-1000", &env, records).await;
    let report = first_report(&proxy).await;
    let seen = traffic.stats();
    println!("sweep of 1,000: {report:?}\nat the fakes: {seen:?}");
    assert_eq!(
        (report.records, report.checked, report.written),
        (1000, 1000, 1000),
        "{report:?}"
    );
    assert_eq!(report.healthy, 1000, "{report:?}");
    assert!(
        report.retries >= 3,
        "the rate-limited checks were retried: {report:?}"
    );
    assert!(
        Duration::from_millis(report.duration_ms) < Duration::from_secs(SWEEP_INTERVAL_SECONDS),
        "{report:?}"
    );
    // whoami once per HuggingFace record; login + namespace probe per Docker Hub record.
    assert_eq!((seen.requests, seen.faulted), (500 + 1000 + 3, 3));
    assert!(seen.peak_in_flight <= SWEEP_CONCURRENCY, "{seen:?}");
    assert!(
        seen.peak_in_flight >= SWEEP_CONCURRENCY / 2,
        "the bound is used: {seen:?}"
    );
    assert!(report.peak_in_flight <= SWEEP_CONCURRENCY, "{report:?}");
    let stored = proxy.state.store.list_all().await.unwrap();
    assert!(
        stored
            .iter()
            .all(|r| r.last_health_status.as_deref() == Some("healthy")
                && r.last_health_at.is_some())
    );
}

/// The first sweep's report of a proxy started with a sweeper.
async fn first_report(proxy: &TestProxy) -> SweepReport {
    let mut reports = proxy.sweeper.as_ref().expect("sweeper runs").reports();
    tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            reports.changed().await.unwrap();
            if let Some(report) = reports.borrow().clone() {
                return report;
            }
        }
    })
    .await
    .expect("a sweep finished")
}

#[tokio::test]
async fn an_upstream_that_keeps_failing_is_given_up_without_holding_the_sweep() {
    let fakes = AccountFakes::start().await;
    let mut records = Vec::new();
    for i in 0..50 {
        let token = fakes.hf.issue_token("alice", TokenRole::Read);
        records.push(stored(
            "huggingface",
            &format!("hf-{i}"),
            "alice",
            ("token", token),
            &[],
        ));
        let pat = fakes.docker.issue_pat("acmeops", PatScope::Read);
        let docker = stored(
            "docker_hub",
            &format!("dh-{i}"),
            "acme",
            ("pat", pat),
            &[("username", "acmeops")],
        );
        records.push(docker);
    }
    fakes
        .hf
        .traffic()
        .set_outage(Some(Fault::Unavailable { status: 503 }));
    let mut env = fakes.endpoints();
    env.push((config::HEALTH_INTERVAL, "20".to_owned()));
    env.push((config::HEALTH_CONCURRENCY, "4".to_owned()));
    let proxy = TestProxy::start_seeded("health-outage", &env, records).await;
    let report = first_report(&proxy).await;
    println!("{report:?}");
    assert_eq!(
        (report.checked, report.healthy, report.degraded),
        (100, 50, 50),
        "{report:?}"
    );
    assert_eq!(report.given_up_kinds, 1, "{report:?}");
    assert!(
        Duration::from_millis(report.duration_ms) < Duration::from_secs(10),
        "{report:?}"
    );
    // The first round in flight, then one probe per pause: not 3 calls per record.
    let hf_calls = fakes.hf.traffic().stats().requests;
    assert!(
        hf_calls <= 4 + 2,
        "{hf_calls} calls to a failing HuggingFace"
    );
    assert_eq!(
        fakes.docker.traffic().stats().requests,
        100,
        "Docker Hub went on"
    );
    let stored = proxy.state.store.list_all().await.unwrap();
    let hf: Vec<_> = stored.iter().filter(|r| r.kind == "huggingface").collect();
    assert!(
        hf.iter()
            .all(|r| r.status == "degraded" && r.error.as_deref() == Some("upstream_unavailable"))
    );
    assert!(
        hf.iter()
            .all(|r| r.error_hint.as_deref().is_some_and(|h| h.contains("later")))
    );
}
