//! The HTTP edge (issue 8, findings 5, 8, 9 and 11): security headers on
//! the UI and the API, `Cache-Control: no-store` on every API answer,
//! half-open connections closed while `/healthz` stays responsive, foreign
//! `Host` values refused (the issuer's host admitted for its two documents
//! only), and oversized, non-JSON and unfinished bodies
//! answered in the JSON error shape.

mod common;

use alphaswarm_proxy::config;
use common::*;
use serde_json::json;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn assert_browser_headers(response: &RawResponse, what: &str) {
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP in {:?}", response.headers));
    for directive in [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing from {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        response.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
}

async fn exchange(base: &str, request: &[u8]) -> RawResponse {
    raw_exchange(&mut connect_from(LOOPBACK, base).await, request).await
}

fn login_request(host: &str, password: &str) -> Vec<u8> {
    json_request(
        "POST",
        "/auth/login",
        host,
        &json!({"username": "admin", "password": password}),
    )
}

fn get(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn ui_and_api_answers_carry_the_security_headers_and_api_answers_are_not_stored() {
    let web = temp_dir("edge-web");
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>wizard</title>",
    )
    .unwrap();
    let web = web.display().to_string();
    let proxy = TestProxy::start_with("edge-headers", &[(config::WEB_DIR, &web)]).await;
    let host = authority(&proxy.base).to_owned();

    for path in ["/", "/index.html", "/accounts/acme"] {
        let ui = exchange(&proxy.base, &get(path, &host)).await;
        assert_eq!(ui.status, 200, "{path}");
        assert_browser_headers(&ui, path);
    }
    let login = exchange(&proxy.base, &login_request(&host, &proxy.password)).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let code = proxy.totp.generate_current().unwrap();
    let step_up = format!(
        "POST /auth/step-up HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        json!({"code": code}).to_string().len(),
        json!({"code": code})
    );
    let answers = [
        ("login", login),
        ("step-up", exchange(&proxy.base, step_up.as_bytes()).await),
        (
            "healthz",
            exchange(&proxy.base, &get("/healthz", &host)).await,
        ),
        (
            "401",
            exchange(&proxy.base, &get("/auth/session", &host)).await,
        ),
        (
            "404",
            exchange(&proxy.base, &get("/admin/nothing", &host)).await,
        ),
    ];
    for (what, answer) in &answers {
        assert_browser_headers(answer, what);
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
    }
    assert_eq!(answers[1].1.status, 200, "{}", answers[1].1.body);
    assert!(answers[1].1.json()["token"].is_string());
}

#[tokio::test]
async fn a_foreign_host_is_refused_and_allowed_hosts_are_served() {
    let proxy = TestProxy::start("edge-hosts").await;
    let port = authority(&proxy.base)
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    for host in [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.evil.example",
        "localhost.evil",
    ] {
        let refused = exchange(&proxy.base, &get("/auth/session", host)).await;
        assert_eq!(
            (refused.status, refused.json()["code"].as_str()),
            (421, Some("host_not_allowed")),
            "{host}: {}",
            refused.body
        );
        assert_browser_headers(&refused, host);
        // Nothing reaches a handler: not even the login.
        let login = exchange(&proxy.base, &login_request(host, &proxy.password)).await;
        assert_eq!(login.status, 421, "{host}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "LOCALHOST".to_owned(),
    ] {
        let served = exchange(&proxy.base, &get("/auth/session", &host)).await;
        assert_eq!(served.json()["code"], "unauthenticated", "{host}");
    }
    // Readiness probes name the pod's address: /healthz answers any host.
    assert_eq!(
        exchange(&proxy.base, &get("/healthz", "10.1.2.3:8787"))
            .await
            .status,
        200
    );
    let no_host = exchange(&proxy.base, b"GET /auth/session HTTP/1.0\r\n\r\n").await;
    assert_eq!(
        (no_host.status, no_host.json()["code"].as_str()),
        (400, Some("missing_host"))
    );

    let named = TestProxy::start_with(
        "edge-named",
        &[(config::ALLOWED_HOSTS, "admin.example.test")],
    )
    .await;
    assert_eq!(
        exchange(&named.base, &get("/auth/session", "admin.example.test"))
            .await
            .status,
        401
    );
    assert_eq!(
        exchange(&named.base, &get("/auth/session", authority(&named.base)))
            .await
            .status,
        421
    );
}

/// Entra and GCP fetch the issuer's documents at the issuer's host: that
/// host is admitted for those two paths, never for the admin API.
#[tokio::test]
async fn the_issuer_documents_answer_at_the_issuer_host_and_nothing_else_does() {
    let proxy = TestProxy::start_with(
        "edge-issuer",
        &[(
            alphaswarm_proxy::federation::ISSUER_VAR,
            "https://issuer.example.test/oidc/",
        )],
    )
    .await;
    let discovery = "/oidc/.well-known/openid-configuration";
    for host in [
        "issuer.example.test",
        "Issuer.Example.Test:443",
        authority(&proxy.base),
    ] {
        let served = exchange(&proxy.base, &get(discovery, host)).await;
        assert_eq!(served.status, 200, "{host}: {}", served.body);
        assert_eq!(served.json()["issuer"], "https://issuer.example.test/oidc/");
        assert_eq!(served.header("cache-control"), Some("public, max-age=3600"));
        assert_browser_headers(&served, host);
    }
    let jwks = exchange(
        &proxy.base,
        &get("/oidc/.well-known/jwks.json", "issuer.example.test"),
    )
    .await;
    assert_eq!(jwks.status, 200, "{}", jwks.body);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    let refused = exchange(&proxy.base, &get(discovery, "evil.example")).await;
    assert_eq!(
        (refused.status, refused.json()["code"].as_str()),
        (421, Some("host_not_allowed"))
    );
    for path in ["/auth/session", "/oidc/.well-known/other", "/"] {
        let admin = exchange(&proxy.base, &get(path, "issuer.example.test")).await;
        assert_eq!(admin.status, 421, "{path} at the issuer host");
    }
    let login = exchange(
        &proxy.base,
        &login_request("issuer.example.test", &proxy.password),
    )
    .await;
    assert_eq!(login.status, 421, "no login at the issuer host");
}

#[tokio::test]
async fn oversized_non_json_and_unfinished_bodies_get_json_errors() {
    let proxy = TestProxy::start_with(
        "edge-bodies",
        &[
            // The timeout must outlast every settle window.
            (config::HTTP_REQUEST_TIMEOUT, "1"),
            (config::AWS_SETTLE_SECONDS, "0"),
            (alphaswarm_proxy::azure::SETTLE_SECONDS, "0"),
            (alphaswarm_proxy::gcp::SETTLE_SECONDS, "0"),
        ],
    )
    .await;
    let token = proxy.login().await;
    let host = authority(&proxy.base).to_owned();
    let bootstrap = step("acme", "bootstrap");
    let post = |content_type: &str, body: &str, extra: &str| {
        format!(
            "POST {bootstrap} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{content_type}{extra}Connection: close\r\n\r\n{body}"
        )
    };
    let big = format!("{{\"region\": \"{}\"}}", "a".repeat(2 << 20));
    let cases = [
        (
            "over 1 MiB",
            post(
                "Content-Type: application/json\r\n",
                &big,
                &format!("Content-Length: {}\r\n", big.len()),
            ),
            413,
            "body_too_large",
        ),
        (
            "over 1 MiB, chunked",
            post(
                "Content-Type: application/json\r\n",
                &format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len()),
                "Transfer-Encoding: chunked\r\n",
            ),
            413,
            "body_too_large",
        ),
        (
            "text/plain",
            post(
                "Content-Type: text/plain\r\n",
                "{}",
                "Content-Length: 2\r\n",
            ),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            post("", "{}", "Content-Length: 2\r\n"),
            415,
            "unsupported_media_type",
        ),
    ];
    for (what, request, status, code) in cases {
        let response = exchange(&proxy.base, request.as_bytes()).await;
        assert_eq!(
            (response.status, response.json()["code"].as_str()),
            (status, Some(code)),
            "{what}: {}",
            response.body
        );
        assert!(
            response
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{what}"
        );
        assert!(response.json()["hint"].is_string(), "{what}");
    }
    // The bootstrap's empty body needs no content type.
    let empty = exchange(
        &proxy.base,
        post("", "", "Content-Length: 0\r\n").as_bytes(),
    )
    .await;
    assert_eq!(empty.status, 200, "{}", empty.body);

    // A body that never finishes is answered within the request timeout.
    let started = Instant::now();
    let mut stream = connect_from(LOOPBACK, &proxy.base).await;
    stream
        .write_all(
            post(
                "Content-Type: application/json\r\n",
                "{\"reg",
                "Content-Length: 100\r\n",
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the proxy answers an unfinished body")
        .unwrap();
    let response = parse_raw_response(&bytes);
    assert_eq!(
        (response.status, response.json()["code"].as_str()),
        (408, Some("request_timeout"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn half_open_connections_are_closed_and_healthz_stays_responsive() {
    let proxy = TestProxy::start_with(
        "edge-halfopen",
        &[
            (config::HTTP_MAX_CONNECTIONS, "64"),
            (config::HTTP_HEADER_TIMEOUT, "3"),
        ],
    )
    .await;
    // 300 connections that never send a byte, and 20 that stop mid-header.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(connect_from(LOOPBACK, &proxy.base).await);
    }
    for _ in 0..20 {
        let mut stream = connect_from(LOOPBACK, &proxy.base).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        idle.push(stream);
    }
    let opened = Instant::now();
    let health = exchange(&proxy.base, &get("/healthz", authority(&proxy.base))).await;
    let waited = opened.elapsed();
    assert_eq!(health.status, 200);
    assert!(
        waited < Duration::from_millis(1500),
        "/healthz took {waited:?} behind 320 half-open connections"
    );

    // Every half-open connection is closed by the server: the oldest made
    // room for newer ones, the rest by the 3 s header timeout.
    let deadline = opened + Duration::from_secs(8);
    for (i, stream) in idle.iter_mut().enumerate() {
        let mut rest = Vec::new();
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, stream.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "connection {i} still open after {:?}",
            opened.elapsed()
        );
    }
    // And the proxy still serves.
    assert_eq!(
        exchange(&proxy.base, &get("/healthz", authority(&proxy.base)))
            .await
            .status,
        200
    );
}
