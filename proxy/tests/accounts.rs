//! HuggingFace and Docker Hub account integrations (seed 003) end to end:
//! the in-process proxy with its real reqwest clients against the loopback
//! fakes. Connect with and without a namespace, both Docker Hub spellings,
//! re-connect, refusals (formats before any call, then what the product
//! says), disconnect guidance, step-up gating and the audit rows.

mod common;
mod support;

use alphaswarm_core::accounts::AccountKind;
use alphaswarm_fakes::dockerhub::PatScope;
use alphaswarm_fakes::traffic::Fault;
use common::TestProxy;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::account_fakes::{AccountFakes, assert_run, health, integration, run_id};

/// Connects with `body`, which must be refused with `(status, code, field)`,
/// audited as a failed connect, with none of `secrets` in the answer.
async fn refused(
    proxy: &TestProxy,
    token: &str,
    segment: &str,
    body: Value,
    (status, code, field): (u16, &str, &str),
    secrets: &[&str],
) -> Value {
    let (got, answer) = proxy.post(&integration(segment), token, body).await;
    assert_eq!(
        (got, answer["code"].as_str(), answer["field"].as_str()),
        (status, Some(code), Some(field)),
        "{answer}"
    );
    let text = answer.to_string();
    assert!(secrets.iter().all(|s| !text.contains(s)), "{answer}");
    let kind = AccountKind::from_segment(segment)
        .unwrap()
        .integration_kind();
    assert_run(
        &proxy.audit_rows().await,
        &run_id(&answer),
        "connect",
        kind,
        "failed",
        Some(code),
    );
    answer
}

async fn start(name: &str) -> (AccountFakes, TestProxy) {
    let fakes = AccountFakes::start().await;
    let proxy = TestProxy::start_seeded(name, &fakes.endpoints(), Vec::new()).await;
    (fakes, proxy)
}

#[tokio::test]
async fn huggingface_connects_with_and_without_a_namespace_and_reconnect_replaces() {
    let (fakes, proxy) = start("hf-connect").await;
    let token = proxy.stepped_up().await;
    let first = fakes.hf_token();

    // No namespace: the token's user.
    let (status, body) = proxy
        .post(&integration("huggingface"), &token, json!({"token": first}))
        .await;
    assert_eq!(status, 200, "{body}");
    let shown = &body["integration"];
    assert_eq!(shown["org_id"], "acme");
    assert_eq!(shown["kind"], "huggingface");
    assert_eq!(shown["credential_key"], "huggingface:org:acme");
    assert_eq!(shown["namespace"], "alice");
    assert_eq!(shown["status"], "never_checked");
    assert!(shown["connected_at"].is_string());
    assert_eq!(shown["last_health_at"], Value::Null, "never checked yet");
    assert_eq!(shown["error"], Value::Null);
    assert_eq!(shown["metadata"]["type"], "user");
    assert_eq!(shown["metadata"]["auth_email"], "alice@acme.example");
    assert_eq!(shown["metadata"]["orgs"], json!(["acme-quant"]));
    assert_eq!(shown["metadata"]["token_role"], "read");
    assert!(!body.to_string().contains(&first));
    assert_run(
        &proxy.audit_rows().await,
        &run_id(&body),
        "connect",
        "huggingface",
        "succeeded",
        None,
    );

    // An org namespace, typed in another case: HuggingFace's spelling is kept.
    let second = fakes.hf_token();
    let (status, body) = proxy
        .post(
            &integration("huggingface"),
            &token,
            json!({"token": second, "namespace": "ACME-Quant", "replace": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["integration"]["namespace"], "acme-quant");
    assert_eq!(body["integration"]["metadata"]["type"], "org");

    // Re-connecting replaced the record (one row) and the token: with the
    // first token revoked upstream, a check still passes.
    let rows = proxy.integrations(&token, "acme").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["namespace"], "acme-quant");
    fakes.hf.revoke(&first);
    let (status, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["status"], "healthy", "{body}");
}

#[tokio::test]
async fn huggingface_refusals_are_coded_audited_and_formats_never_reach_the_hub() {
    let (fakes, proxy) = start("hf-refusals").await;
    let token = proxy.stepped_up().await;
    let good = fakes.hf_token();
    let docker_pat = fakes.docker_pat();

    // Format refusals: 400, audited, and HuggingFace never called.
    let before = fakes.requests();
    let format_cases = [
        (json!({}), "missing_token", "token"),
        (
            json!({"token": "hf_short"}),
            "invalid_token_format",
            "token",
        ),
        (
            json!({"token": docker_pat}),
            "invalid_token_format",
            "token",
        ),
        (
            json!({"token": "my-password-1"}),
            "invalid_token_format",
            "token",
        ),
        (
            json!({"token": good, "namespace": "../etc"}),
            "invalid_namespace",
            "namespace",
        ),
    ];
    for (body, code, field) in format_cases {
        let secrets = ["hf_short", docker_pat.as_str()];
        refused(
            &proxy,
            &token,
            "huggingface",
            body,
            (400, code, field),
            &secrets,
        )
        .await;
    }
    let (status, answer) = proxy
        .post(
            &integration("huggingface"),
            &token,
            json!({"token": good, "extra": 1}),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_body"))
    );
    assert_eq!(
        fakes.requests(),
        before,
        "no refused form reached HuggingFace"
    );

    // What HuggingFace says.
    let answer = refused(
        &proxy,
        &token,
        "huggingface",
        json!({"token": good, "namespace": "someone-else"}),
        (422, "namespace_not_accessible", "namespace"),
        &[&good],
    )
    .await;
    let hint = answer["hint"].as_str().unwrap();
    assert!(
        hint.contains("alice") && hint.contains("acme-quant"),
        "{hint}"
    );
    let revoked = fakes.hf_token();
    fakes.hf.revoke(&revoked);
    refused(
        &proxy,
        &token,
        "huggingface",
        json!({"token": revoked}),
        (422, "huggingface_token_refused", "token"),
        &[&revoked],
    )
    .await;

    fakes.hf.traffic().inject(
        Fault::RateLimited {
            retry_after: Duration::from_secs(42),
        },
        1,
    );
    let (status, answer) = proxy
        .post(&integration("huggingface"), &token, json!({"token": good}))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (502, Some("upstream_rate_limited")),
        "{answer}"
    );
    assert!(
        answer["hint"].as_str().unwrap().contains("42 s"),
        "{answer}"
    );
    fakes
        .hf
        .traffic()
        .inject(Fault::Unavailable { status: 503 }, 1);
    let (status, answer) = proxy
        .post(&integration("huggingface"), &token, json!({"token": good}))
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (502, Some("upstream_unavailable")),
        "{answer}"
    );
    assert!(
        proxy.integrations(&token, "acme").await.is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn docker_hub_connects_user_and_org_namespaces_under_both_spellings() {
    let (fakes, proxy) = start("docker-connect").await;
    let token = proxy.stepped_up().await;
    let pat = fakes.docker_pat();

    let (status, body) = proxy
        .post(
            &integration("dockerhub"),
            &token,
            json!({"username": "AcmeOps", "pat": pat}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let shown = &body["integration"];
    assert_eq!(shown["kind"], "docker_hub");
    assert_eq!(shown["credential_key"], "docker_hub:org:acme");
    assert_eq!(
        shown["namespace"], "acmeops",
        "defaults to the (lowercased) Docker ID"
    );
    assert_eq!(shown["metadata"]["type"], "user");
    assert_eq!(shown["metadata"]["username"], "acmeops");
    assert_eq!(shown["metadata"]["token_kind"], "personal_access_token");
    assert_eq!(shown["metadata"]["token_scope"], "repo:read");
    assert_eq!(shown["metadata"]["repositories"], "1");
    assert!(!body.to_string().contains(&pat));
    assert_run(
        &proxy.audit_rows().await,
        &run_id(&body),
        "connect",
        "docker_hub",
        "succeeded",
        None,
    );

    let (status, body) = proxy
        .post(
            &integration("docker_hub"),
            &token,
            json!({"username": "acmeops", "pat": pat, "namespace": "acme", "replace": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["integration"]["namespace"], "acme");
    assert_eq!(body["integration"]["metadata"]["type"], "org");
    assert_eq!(
        body["integration"]["metadata"]["repositories"], "2",
        "private ones too"
    );
    let rows = proxy.integrations(&token, "acme").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["kind"], "docker_hub");

    // Both spellings on the health route.
    for kind in ["dockerhub", "docker_hub"] {
        let (status, body) = proxy.post(&health(kind), &token, json!({})).await;
        assert_eq!(
            (status, body["health"]["status"].as_str()),
            (200, Some("healthy")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn docker_hub_refusals_are_clear() {
    let (fakes, proxy) = start("docker-refusals").await;
    let token = proxy.stepped_up().await;
    let pat = fakes.docker_pat();

    let before = fakes.requests();
    let format_cases = [
        (json!({"pat": pat}), "missing_username", "username"),
        (
            json!({"username": " ", "pat": pat}),
            "missing_username",
            "username",
        ),
        (
            json!({"username": "ops@acme.example", "pat": pat}),
            "invalid_username",
            "username",
        ),
        (json!({"username": "acmeops"}), "missing_token", "pat"),
        (
            json!({"username": "acmeops", "pat": "hunter2hunter2"}),
            "invalid_token_format",
            "pat",
        ),
        (
            json!({"username": "acmeops", "pat": pat, "namespace": "a/b"}),
            "invalid_namespace",
            "namespace",
        ),
    ];
    for (body, code, field) in format_cases {
        let secrets = [pat.as_str(), "hunter2"];
        refused(
            &proxy,
            &token,
            "dockerhub",
            body,
            (400, code, field),
            &secrets,
        )
        .await;
    }
    let (_, answer) = proxy
        .post(&integration("dockerhub"), &token, json!({"pat": pat}))
        .await;
    assert!(
        answer["hint"].as_str().unwrap().contains("Docker ID"),
        "{answer}"
    );
    assert_eq!(
        fakes.requests(),
        before,
        "no refused form reached Docker Hub"
    );

    let other_pat = fakes.docker.issue_pat("otheruser", PatScope::Read);
    let revoked = fakes.docker_pat();
    fakes.docker.revoke(&revoked);
    let cases = [
        (
            json!({"username": "acmeops", "pat": pat, "namespace": "no-such-org"}),
            422,
            "namespace_not_found",
            "namespace",
        ),
        (
            json!({"username": "acmeops", "pat": revoked}),
            422,
            "docker_hub_login_refused",
            "pat",
        ),
        (
            json!({"username": "acmeops", "pat": other_pat}),
            422,
            "docker_hub_username_mismatch",
            "username",
        ),
    ];
    for (body, status, code, field) in cases {
        refused(
            &proxy,
            &token,
            "dockerhub",
            body,
            (status, code, field),
            &[&pat],
        )
        .await;
    }

    fakes.docker.traffic().inject(
        Fault::RateLimited {
            retry_after: Duration::from_secs(30),
        },
        1,
    );
    let (status, answer) = proxy
        .post(
            &integration("dockerhub"),
            &token,
            json!({"username": "acmeops", "pat": pat}),
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (502, Some("upstream_rate_limited"))
    );
    let hint = answer["hint"].as_str().unwrap();
    assert!(
        hint.contains("30 s") || hint.contains("29 s"),
        "X-Retry-After read: {hint}"
    );
    assert!(
        proxy.integrations(&token, "acme").await.is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn disconnect_drops_the_record_and_says_what_to_revoke_upstream() {
    let (fakes, proxy) = start("accounts-disconnect").await;
    let token = proxy.stepped_up().await;
    let (status, _) = proxy
        .post(
            &integration("huggingface"),
            &token,
            json!({"token": fakes.hf_token()}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = proxy
        .post(
            &integration("dockerhub"),
            &token,
            json!({"username": "acmeops", "pat": fakes.docker_pat()}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(proxy.integrations(&token, "acme").await.len(), 2);

    let cases = [
        (
            "huggingface",
            "huggingface",
            "huggingface.co/settings/tokens",
        ),
        ("dockerhub", "docker_hub", "no API"),
    ];
    for (segment, kind, guidance) in cases {
        let (status, body) = proxy
            .send(Method::DELETE, &integration(segment), Some(&token), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["removed"], true);
        let cleanup = body["vendor_cleanup"].to_string();
        assert!(cleanup.contains(guidance), "{cleanup}");
        assert_run(
            &proxy.audit_rows().await,
            &run_id(&body),
            "disconnect",
            kind,
            "succeeded",
            None,
        );
    }
    assert!(proxy.integrations(&token, "acme").await.is_empty());
    // Again, under the other spelling: nothing left to remove, still guidance.
    let (status, body) = proxy
        .send(
            Method::DELETE,
            &integration("docker_hub"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((status, body["removed"].clone()), (200, json!(false)));
    assert!(body["vendor_cleanup"].to_string().contains("no API"));
    // A health check of what is gone is a clear 404.
    let (status, body) = proxy.post(&health("huggingface"), &token, json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("integration_not_found"))
    );
}

#[tokio::test]
async fn unknown_kinds_and_cloud_kinds_get_clear_answers() {
    let (_fakes, proxy) = start("accounts-kinds").await;
    let token = proxy.stepped_up().await;
    let (status, body) = proxy.post(&integration("gitlab"), &token, json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("integration_kind_not_supported"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("docker_hub"),
        "{body}"
    );
    let (status, body) = proxy
        .post(&integration("cloud_aws"), &token, json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("integration_kind_not_supported"))
    );
    assert!(
        body["hint"].as_str().unwrap().contains("/cloud/aws/"),
        "{body}"
    );
    let (status, body) = proxy
        .post(
            "/admin/accounts/Not%20An%20Org/integrations/huggingface",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_org_id"))
    );
}

#[tokio::test]
async fn every_integration_route_needs_a_fresh_step_up_before_any_audit_or_call() {
    let (fakes, proxy) = start("accounts-gating").await;
    let login_only = proxy.login().await;
    let stale = proxy.forge("admin:cluster", &["pwd", "otp", "mfa"], 301, 600);
    let wrong_scope = proxy.forge("read:cluster", &["pwd", "otp", "mfa"], 5, 600);
    let body = json!({"token": fakes.hf_token(), "username": "acmeops", "pat": fakes.docker_pat()});
    let before = fakes.requests();
    for kind in ["huggingface", "dockerhub", "docker_hub", "cloud_aws"] {
        for (method, path) in [
            (Method::POST, integration(kind)),
            (Method::DELETE, integration(kind)),
            (Method::POST, health(kind)),
        ] {
            let cases = [
                (None, 401, "unauthenticated"),
                (Some(login_only.as_str()), 403, "step_up_required"),
                (Some(stale.as_str()), 403, "step_up_required"),
                (Some(wrong_scope.as_str()), 403, "insufficient_scope"),
            ];
            for (bearer, want_status, want_code) in cases {
                let (status, answer) = proxy
                    .send(method.clone(), &path, bearer, Some(body.clone()))
                    .await;
                assert_eq!(
                    (status, answer["code"].as_str()),
                    (want_status, Some(want_code)),
                    "{method} {path}: {answer}"
                );
                assert!(answer.get("audit_run_id").is_none());
            }
        }
    }
    assert!(
        proxy.audit_rows().await.is_empty(),
        "no audit row was written"
    );
    assert_eq!(fakes.requests(), before, "no upstream call was made");
}

/// Every file under `dir`, recursively, as bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_appear_in_no_response_log_audit_row_or_unencrypted_file() {
    let fakes = AccountFakes::start().await;
    let dir = common::temp_dir("accounts-canary");
    let key = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let mut env = common::binary_env(&dir, &key, common::EXTERNAL_ID_SECRET);
    env.extend(fakes.endpoints());
    env.push(("RUST_LOG", "debug".to_owned()));
    // The background sweep runs too, and logs at debug.
    env.push(("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "1".to_owned()));
    let proxy = common::BinaryProxy::spawn(&dir, "canary", &env);
    let (password, totp) = proxy.enrollment();
    let http = common::http_client();
    let session = proxy.stepped_up(&http, &password, &totp).await;
    let (hf, hf_next, pat) = (fakes.hf_token(), fakes.hf_token(), fakes.docker_pat());
    let oat = fakes.docker.issue_oat("acme");
    let canaries = [hf.as_str(), hf_next.as_str(), pat.as_str(), oat.as_str()];

    let bodies = std::cell::RefCell::new(Vec::new());
    let call = async |method: Method, path: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{}{path}", proxy.base))
            .bearer_auth(&session);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        bodies.borrow_mut().push(text);
        status
    };
    let hf_path = integration("huggingface");
    let dh_path = integration("dockerhub");
    assert_eq!(
        call(
            Method::POST,
            &hf_path,
            Some(json!({"token": hf, "namespace": "acme-quant"}))
        )
        .await,
        200
    );
    assert_eq!(
        call(
            Method::POST,
            &dh_path,
            Some(json!({"username": "acmeops", "pat": pat, "namespace": "acme"}))
        )
        .await,
        200
    );
    assert_eq!(
        call(Method::POST, &health("huggingface"), Some(json!({}))).await,
        200
    );
    assert_eq!(
        call(Method::POST, &health("docker_hub"), Some(json!({}))).await,
        200
    );
    // Re-connect with a new token; the old one is revoked upstream.
    assert_eq!(
        call(
            Method::POST,
            &hf_path,
            Some(json!({"token": hf_next, "replace": true}))
        )
        .await,
        200
    );
    fakes.hf.revoke(&hf);
    assert_eq!(
        call(
            Method::POST,
            &dh_path,
            Some(json!({"username": "acme", "pat": oat, "replace": true}))
        )
        .await,
        200
    );
    // Tokens pasted into the wrong places.
    for token in canaries {
        for body in [
            json!({"token": hf_next, "namespace": token}),
            json!({"token": [token]}),
            json!({ token: 1 }),
            json!({"username": token, "pat": pat}),
            json!({"username": "acmeops", "pat": pat, "namespace": token}),
            json!({"username": "acmeops", "pat": token.to_uppercase()}),
        ] {
            call(Method::POST, &hf_path, Some(body.clone())).await;
            call(Method::POST, &dh_path, Some(body)).await;
        }
    }
    // Two more sweeps (1 s apart): the second at least found both records
    // due (not checked within half an interval) and checked them.
    let sweeps = || proxy.logs().matches("health sweep finished").count();
    let before = sweeps();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sweeps() < before + 2 {
        assert!(std::time::Instant::now() < deadline, "no sweep ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    call(Method::GET, "/admin/accounts/acme/integrations", None).await;
    let listed: Value = serde_json::from_str(bodies.borrow().last().unwrap()).unwrap();
    assert_eq!(
        listed["integrations"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    assert_eq!(
        call(Method::DELETE, &integration("huggingface"), None).await,
        200
    );
    assert_eq!(
        call(Method::DELETE, &integration("docker_hub"), None).await,
        200
    );

    let bodies = bodies.into_inner();
    assert!(
        bodies.len() > 6 + canaries.len() * 12,
        "every call was answered"
    );
    let logs = proxy.logs();
    assert!(
        logs.contains("wizard step") && logs.contains("DEBUG"),
        "debug logs were captured"
    );
    let files = files_under(&dir);
    // The database holds the store and the audit trail (its WAL the latest writes).
    assert!(files.iter().any(|(p, _)| p.ends_with("alphaswarm.db")));
    for canary in canaries {
        for body in &bodies {
            assert!(!body.contains(canary), "a token in a response body: {body}");
        }
        assert!(!logs.contains(canary), "a token in the logs");
        // Audit trail, store (encrypted), operator file, captured logs: every file.
        for (path, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).contains(canary),
                "a token in {}",
                path.display()
            );
        }
    }
}

/// `GET /admin/accounts`: every organisation with connections, each
/// connection's kind, status and last check; AlphaSwarm's own accounts
/// are not an organisation; nothing sensitive appears; sign-in required.
#[tokio::test]
async fn the_overview_lists_organisations_with_their_connections() {
    use alphaswarm_proxy::store::StoredIntegration;
    const CANARY: &str = "hf_overviewCanary0123456789";
    let record = |org: &str, kind: &str, status: &str, checked: Option<&str>| StoredIntegration {
        org_id: org.to_owned(),
        kind: kind.to_owned(),
        credential_key: format!("{kind}:org:{org}"),
        status: status.to_owned(),
        connected_at: "2026-11-01T10:00:00Z".to_owned(),
        last_health_at: checked.map(str::to_owned),
        last_health_status: checked.map(|_| status.to_owned()),
        sensitive: [("token".to_owned(), CANARY.to_owned())].into(),
        secrets: [("token".to_owned(), CANARY.to_owned())].into(),
        ..StoredIntegration::default()
    };
    let records = vec![
        record(
            "zeta",
            "huggingface",
            "failed",
            Some("2026-11-02T09:00:00Z"),
        ),
        record(
            "acme",
            "huggingface",
            "healthy",
            Some("2026-11-03T08:00:00Z"),
        ),
        record("acme", "cloud_aws", "healthy", None),
        record("__platform__", "cloud_aws", "healthy", None),
    ];
    let proxy = TestProxy::start_seeded("overview", &[], records).await;

    let (status, body) = proxy.send(Method::GET, "/admin/accounts", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );

    let token = proxy.login().await;
    let (status, body) = proxy
        .send(Method::GET, "/admin/accounts", Some(&token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let orgs = body["organisations"].as_array().unwrap();
    let ids: Vec<&str> = orgs.iter().map(|o| o["org_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme", "zeta"], "sorted, without AlphaSwarm's own");
    let acme = &orgs[0];
    assert_eq!(
        acme["last_health_at"], "2026-11-03T08:00:00Z",
        "the latest check"
    );
    let kinds: Vec<&str> = acme["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cloud_aws", "huggingface"]);
    assert_eq!(acme["connections"][0]["status"], "healthy");
    assert_eq!(
        acme["connections"][0]["last_health_at"],
        Value::Null,
        "never checked"
    );
    assert_eq!(orgs[1]["connections"][0]["status"], "failed");
    assert_eq!(orgs[1]["connections"][0]["last_health_status"], "failed");
    let text = body.to_string();
    assert!(!text.contains(CANARY) && !text.contains("hf_ov"), "{text}");
}
