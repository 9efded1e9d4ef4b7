//! The HuggingFace and Docker Hub fakes answer in the real wire shapes
//! (federation-formats §5-6): bodies, status codes and headers, driven
//! through their routers in process.

use alphaswarm_fakes::dockerhub::{AccessClaims, DockerHub, PatScope};
use alphaswarm_fakes::huggingface::{HuggingFace, INVALID_CREDENTIALS, TokenRole};
use alphaswarm_fakes::traffic::Fault;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(bearer) = bearer {
        request = request.header("authorization", format!("Bearer {bearer}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn post(router: &Router, path: &str, body: Value) -> (StatusCode, HeaderMap, String) {
    call(router, "POST", path, None, Some(body)).await
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

#[tokio::test]
async fn huggingface_whoami_answers_a_token_until_it_is_revoked() {
    let hub = HuggingFace::new();
    hub.add_user("alice", Some("alice@acme.example"));
    hub.add_org("acme-quant", &[("alice", "admin")]);
    let token = hub.issue_token("alice", TokenRole::Read);
    assert!(token.starts_with("hf_") && token.len() == 37);
    let router = hub.router();

    let (status, _, body) = call(&router, "GET", "/api/whoami-v2", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let me = json_of(&body);
    assert_eq!(me["type"], "user");
    assert_eq!(me["name"], "alice");
    assert_eq!(me["email"], "alice@acme.example");
    assert_eq!(me["orgs"][0]["name"], "acme-quant");
    assert_eq!(me["orgs"][0]["roleInOrg"], "admin");
    assert_eq!(me["auth"]["type"], "access_token");
    assert_eq!(me["auth"]["accessToken"]["role"], "read");

    for bearer in [
        None,
        Some("hf_unknownunknownunknownunknown1234"),
        Some(token.as_str()),
    ] {
        if bearer == Some(token.as_str()) {
            hub.revoke(&token);
        }
        let (status, headers, body) = call(&router, "GET", "/api/whoami-v2", bearer, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(&body), json!({"error": INVALID_CREDENTIALS}));
        assert_eq!(headers["x-error-message"], INVALID_CREDENTIALS);
    }
    hub.reinstate(&token);
    let (status, _, _) = call(&router, "GET", "/api/whoami-v2", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);

    let fine = hub.issue_token_with(
        "alice",
        TokenRole::FineGrained {
            readable: vec!["acme-quant".into()],
        },
        Some("2026-12-31T00:00:00.000Z"),
    );
    let (_, _, body) = call(&router, "GET", "/api/whoami-v2", Some(&fine), None).await;
    let access = &json_of(&body)["auth"]["accessToken"];
    assert_eq!(access["role"], "fineGrained");
    assert_eq!(access["expiration"], "2026-12-31T00:00:00.000Z");
    assert_eq!(access["fineGrained"]["scoped"][0]["entity"]["type"], "org");
}

#[tokio::test]
async fn huggingface_rate_limits_with_its_headers_and_an_html_page() {
    let hub = HuggingFace::new();
    hub.add_user("alice", None);
    let token = hub.issue_token("alice", TokenRole::Read);
    let router = hub.router();
    hub.traffic().set_quota(Some((2, Duration::from_secs(300))));
    for remaining in [1, 0] {
        let (status, headers, _) = call(&router, "GET", "/api/whoami-v2", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK);
        let rate = headers["ratelimit"].to_str().unwrap();
        assert!(
            rate.starts_with(&format!("\"api\";r={remaining};t=")),
            "{rate}"
        );
        assert_eq!(
            headers["ratelimit-policy"],
            "\"fixed window\";\"api\";q=2;w=300"
        );
    }
    let (status, headers, body) = call(&router, "GET", "/api/whoami-v2", Some(&token), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.starts_with("<!DOCTYPE html>"));
    assert!(headers["ratelimit"].to_str().unwrap().contains("r=0;t="));
    hub.traffic().set_quota(None);
    hub.traffic().inject(Fault::Unavailable { status: 503 }, 1);
    let (status, _, _) = call(&router, "GET", "/api/whoami-v2", Some(&token), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, _) = call(&router, "GET", "/api/whoami-v2", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "an injected fault is used once");
    assert_eq!(hub.traffic().stats().faulted, 2);
}

fn claims_of(jwt: &str) -> AccessClaims {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn docker_hub_logs_in_with_a_pat_and_checks_namespaces_with_the_jwt() {
    let hub = DockerHub::new();
    hub.add_user("acmeops", "ops@acme.example", None);
    hub.add_org("acme", &["acmeops"]);
    hub.add_repository("acme", "private-model", true);
    hub.add_repository("acme", "public-model", false);
    let pat = hub.issue_pat("acmeops", PatScope::Read);
    assert!(pat.starts_with("dckr_pat_") && pat.len() == 36);
    let router = hub.router();

    let (status, _, body) = post(
        &router,
        "/v2/auth/token",
        json!({"identifier": "acmeops", "secret": pat}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jwt = json_of(&body)["access_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&jwt);
    assert_eq!(claims.scope, "repo:read");
    assert_eq!(claims.hub.username, "acmeops");
    assert!(claims.hub.source.starts_with("docker_pat|"));
    assert_eq!(claims.exp - claims.iat, 600);

    // The JWT reads private repositories of the user's org; anonymous reads only public ones.
    let path = "/v2/namespaces/acme/repositories?page_size=1";
    let (status, _, body) = call(&router, "GET", path, Some(&jwt), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&body)["count"], 2);
    assert_eq!(json_of(&body)["results"].as_array().unwrap().len(), 1);
    let (_, _, body) = call(&router, "GET", path, None, None).await;
    assert_eq!(json_of(&body)["count"], 1);
    // Unknown namespace, the PAT itself as bearer.
    let (status, _, body) = call(
        &router,
        "GET",
        "/v2/namespaces/nobody-here/repositories",
        Some(&jwt),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&body)["message"], "not found");
    let (status, _, body) = call(&router, "GET", path, Some(&pat), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(&body),
        json!({"message": "unauthorized", "errinfo": {}})
    );

    // A revoked PAT no longer logs in; the error schema is {errinfo, detail, message}.
    hub.revoke(&pat);
    let (status, _, body) = post(
        &router,
        "/v2/auth/token",
        json!({"identifier": "acmeops", "secret": pat}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let error = json_of(&body);
    assert!(
        error["errinfo"].is_object() && error["detail"].is_string() && error["message"].is_string()
    );

    // An organization access token logs in only as its organisation.
    let oat = hub.issue_oat("acme");
    for (identifier, want) in [
        ("acmeops", StatusCode::UNAUTHORIZED),
        ("acme", StatusCode::OK),
    ] {
        let (status, _, _) = post(
            &router,
            "/v2/auth/token",
            json!({"identifier": identifier, "secret": oat}),
        )
        .await;
        assert_eq!(status, want, "{identifier}");
    }
}

#[tokio::test]
async fn docker_hub_password_logins_need_the_second_factor_when_2fa_is_on() {
    let hub = DockerHub::new();
    hub.add_user("acmeops", "ops@acme.example", Some("hunter2"));
    hub.enable_two_factor("acmeops", "123456");
    let router = hub.router();
    let (status, _, body) = post(
        &router,
        "/v2/users/login",
        json!({"username": "acmeops", "password": "hunter2"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let reply = json_of(&body);
    let pending = reply["login_2fa_token"].as_str().unwrap().to_owned();
    assert!(reply["detail"].is_string());
    // The pending token is not an access token.
    let (status, _, _) = call(
        &router,
        "GET",
        "/v2/namespaces/acmeops/repositories",
        Some(&pending),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (code, want) in [
        ("000000", StatusCode::UNAUTHORIZED),
        ("123456", StatusCode::OK),
    ] {
        let (status, _, body) = post(
            &router,
            "/v2/users/2fa-login",
            json!({"login_2fa_token": pending, "code": code}),
        )
        .await;
        assert_eq!(status, want, "{code}: {body}");
    }
    let (status, _, body) = post(
        &router,
        "/v2/users/login",
        json!({"username": "acmeops", "password": "wrong"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_of(&body),
        json!({"detail": "Incorrect authentication credentials"})
    );
}

#[tokio::test]
async fn docker_hub_rate_limits_with_documented_headers_and_body() {
    let hub = DockerHub::new();
    hub.add_user("acmeops", "ops@acme.example", None);
    let router = hub.router();
    hub.traffic().set_quota(Some((1, Duration::from_secs(60))));
    let path = "/v2/namespaces/acmeops/repositories";
    let (status, headers, _) = call(&router, "GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-ratelimit-limit"], "1");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let reset: u64 = headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, headers, body) = call(&router, "GET", path, None, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        json_of(&body),
        json!({"detail": "Rate limit exceeded", "error": false})
    );
    let retry_at: u64 = headers["x-retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_at.abs_diff(reset) <= 1, "{retry_at} vs {reset}");
}

#[tokio::test]
async fn traffic_counts_the_peak_of_concurrent_requests() {
    let hub = HuggingFace::new();
    let router = hub.router();
    hub.traffic().set_latency(Duration::from_millis(100));
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let router = router.clone();
            tokio::spawn(async move { call(&router, "GET", "/api/whoami-v2", None, None).await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().0, StatusCode::UNAUTHORIZED);
    }
    let stats = hub.traffic().stats();
    assert_eq!(
        (stats.requests, stats.peak_in_flight, stats.in_flight),
        (5, 5, 0)
    );
}
