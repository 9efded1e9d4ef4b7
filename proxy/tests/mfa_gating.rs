//! Every protected route refuses missing, invalid, mis-scoped, un-stepped-up
//! and stale sessions with a structured 401/403, before any audit row is
//! written or any cloud call made.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

fn protected_routes() -> Vec<(Method, String)> {
    let mut routes: Vec<(Method, String)> = [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ]
    .iter()
    .map(|s| (Method::POST, step("acme", s)))
    .collect();
    routes.push((Method::DELETE, "/admin/accounts/acme/cloud/aws".into()));
    routes
}

#[tokio::test]
async fn step_up_routes_refuse_every_inadequate_session() {
    let proxy = TestProxy::start("gating").await;
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let login_only = proxy.login().await;
    let other_key = {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": "admin", "scope": "admin:cluster", "amr": ["mfa"], "auth_time": now, "iat": now, "exp": now + 600,
                    "iss": "alphaswarm-proxy-local", "aud": "alphaswarm-proxy-local"}),
            &jsonwebtoken::EncodingKey::from_secret(b"not the proxy's key, 32 bytes long!!"),
        )
        .unwrap()
    };
    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        ("no token", None, 401, "unauthenticated"),
        ("garbage", Some("not-a-jwt".into()), 401, "unauthenticated"),
        ("foreign signature", Some(other_key), 401, "unauthenticated"),
        (
            "expired",
            Some(proxy.forge("admin:cluster", &["pwd", "otp", "mfa"], 10, -5)),
            401,
            "unauthenticated",
        ),
        (
            "wrong scope",
            Some(proxy.forge("read:cluster", &["pwd", "otp", "mfa"], 5, 600)),
            403,
            "insufficient_scope",
        ),
        ("no step-up", Some(login_only), 403, "step_up_required"),
        (
            "stale step-up",
            Some(proxy.forge("admin:cluster", &["pwd", "otp", "mfa"], 301, 600)),
            403,
            "step_up_required",
        ),
    ];
    for (method, path) in protected_routes() {
        for (what, token, want_status, want_code) in &cases {
            let (status, body) = proxy
                .send(
                    method.clone(),
                    &path,
                    token.as_deref(),
                    Some(json!({"role_arn": arn})),
                )
                .await;
            assert_eq!(
                (status, body["code"].as_str().unwrap_or_default()),
                (*want_status, *want_code),
                "{method} {path} with {what}: {body}"
            );
            assert!(
                body["message"].is_string() && body["hint"].is_string(),
                "{body}"
            );
            assert!(
                body.get("audit_run_id").is_none(),
                "refused before auditing: {body}"
            );
        }
    }
    assert_eq!(proxy.aws.calls(), 0, "no cloud call was made");
    assert!(
        proxy.audit_rows().await.is_empty(),
        "no audit row was written"
    );

    // The same routes work with a fresh step-up (the gate is not closed for everyone).
    let token = proxy.stepped_up().await;
    let (status, _) = proxy
        .role_step(&token, "acme", "validate-identity", &arn)
        .await;
    assert_eq!(status, 200);
    assert!(proxy.aws.calls() > 0);
}

#[tokio::test]
async fn session_routes_need_a_session_with_the_admin_scope() {
    let proxy = TestProxy::start("session").await;
    let routes = [
        (Method::POST, step("acme", "bootstrap")),
        (Method::GET, "/admin/accounts/acme/integrations".to_owned()),
        (Method::GET, "/admin/audit/verify".to_owned()),
        (Method::GET, "/admin/clouds".to_owned()),
        (Method::GET, "/auth/session".to_owned()),
        (Method::POST, "/auth/step-up".to_owned()),
    ];
    let wrong_scope = proxy.forge("read:cluster", &["pwd"], 0, 600);
    for (method, path) in &routes {
        let (status, body) = proxy
            .send(method.clone(), path, None, Some(json!({})))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthenticated")),
            "{path}"
        );
        let (status, body) = proxy
            .send(
                method.clone(),
                path,
                Some(&wrong_scope),
                Some(json!({"code": "123456"})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("insufficient_scope")),
            "{path}"
        );
    }
    let session = proxy.login().await;
    let (status, body) = proxy
        .send(Method::GET, "/auth/session", Some(&session), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["mode"], "local");
    assert_eq!(body["scopes"], json!(["admin:cluster"]));
    assert_eq!(body["step_up_until"], json!(null));
    // The wizard offers exactly the clouds that have a provider.
    let (status, body) = proxy
        .send(Method::GET, "/admin/clouds", Some(&session), None)
        .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"clouds": ["aws", "azure", "cloudflare", "gcp"], "sandbox": null})
        )
    );
    let stepped = proxy.stepped_up().await;
    let (_, body) = proxy
        .send(Method::GET, "/auth/session", Some(&stepped), None)
        .await;
    assert!(body["step_up_until"].is_string());
}

#[tokio::test]
async fn wrong_passwords_and_codes_are_refused_then_rate_limited() {
    let proxy = TestProxy::start("ratelimit").await;
    let session = proxy.login().await;
    // A used code cannot be replayed.
    let code = proxy.totp.generate_current().unwrap();
    let (status, _) = proxy
        .post("/auth/step-up", &session, json!({"code": code}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = proxy
        .post("/auth/step-up", &session, json!({"code": code}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_totp_code"))
    );

    let mut codes = Vec::new();
    for _ in 0..12 {
        let (status, body) = proxy
            .send(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": "admin", "password": "wrong"})),
            )
            .await;
        codes.push((status, body["code"].as_str().unwrap().to_owned()));
    }
    assert_eq!(codes[0], (401, "unauthenticated".to_owned()));
    assert_eq!(
        codes.last().unwrap(),
        &(429, "too_many_attempts".to_owned())
    );
    // While this address is limited, even the right password waits (other
    // addresses are not: see auth_hardening.rs).
    let (status, _) = proxy
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "admin", "password": proxy.password})),
        )
        .await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn wrong_totp_codes_are_rate_limited_even_for_the_right_code() {
    let proxy = TestProxy::start("totp-limit").await;
    let session = proxy.login().await;
    // Six digits that are none of the codes of the windows around now.
    let near: Vec<String> = (-2..=2)
        .map(|w: i64| {
            let at = (time::OffsetDateTime::now_utc().unix_timestamp() + w * 30) as u64;
            proxy.totp.generate(at)
        })
        .collect();
    let wrong = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap();
    let mut answers = Vec::new();
    // A client's free failures (auth::limiter: 5), then its budget closes.
    for _ in 0..5 {
        let (status, body) = proxy
            .post("/auth/step-up", &session, json!({"code": wrong}))
            .await;
        answers.push((status, body["code"].as_str().unwrap_or_default().to_owned()));
    }
    assert!(
        answers
            .iter()
            .all(|a| *a == (401, "invalid_totp_code".to_owned())),
        "{answers:?}"
    );
    let (status, body) = proxy
        .post("/auth/step-up", &session, json!({"code": wrong}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );
    // While limited, the right code waits too: guessing cannot be told from it.
    let right = proxy.totp.generate_current().unwrap();
    let (status, body) = proxy
        .post("/auth/step-up", &session, json!({"code": right}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );
}
