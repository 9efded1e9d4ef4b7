//! Production-style sessions: ES256 JWTs from an identity provider whose
//! JWKS is served on loopback. Issuer, audience, signature, scope, `amr`,
//! `auth_time`, `nbf`, `iat` and `exp` (with at most the configured clock
//! leeway) are all enforced; local login is off. (The JWKS is plain http on
//! loopback, which only development mode accepts: production refuses
//! non-https identity-provider URLs, see config.rs.)

mod common;

use alphaswarm_proxy::app::{aws_client, build_state};
use alphaswarm_proxy::config;
use base64::Engine;
use common::*;
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;

struct Idp {
    encoding: jsonwebtoken::EncodingKey,
    kid: String,
}

impl Idp {
    fn new(kid: &str) -> (Idp, Value) {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        let key = SigningKey::from_slice(&bytes).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
        });
        (
            Idp {
                encoding: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
                kid: kid.to_owned(),
            },
            jwk,
        )
    }

    fn token(&self, claims: Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

const ISSUER: &str = "https://idp.example.test/";
const AUDIENCE: &str = "alphaswarm-admin";

fn claims(scope: &str, amr: &[&str], auth_age: i64, issuer: &str, audience: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"sub": "operator@example.test", "scope": scope, "amr": amr, "auth_time": now - auth_age,
           "iat": now - auth_age, "exp": now + 600, "iss": issuer, "aud": audience})
}

#[tokio::test]
async fn identity_provider_tokens_are_verified_against_its_jwks() {
    let (idp, jwk) = Idp::new("key-1");
    let (impostor, _) = Idp::new("key-1");
    let jwks = json!({ "keys": [jwk] });
    let jwks_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks.json", jwks_listener.local_addr().unwrap());
    let jwks_app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || async move { axum::Json(jwks) }),
    );
    tokio::spawn(async move { axum::serve(jwks_listener, jwks_app).await.unwrap() });

    let dir = temp_dir("oidc");
    let aws = LoopbackAws::start().await;
    let arn = aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let mut vars: HashMap<&str, String> = HashMap::from([
        (config::STATE_DIR, dir.join("state").display().to_string()),
        (
            config::INTEGRATIONS_PATH,
            dir.join("integrations.json").display().to_string(),
        ),
        (
            config::INTEGRATIONS_KEY,
            alphaswarm_proxy::store::FernetFileStore::generate_key(),
        ),
        (
            config::AUDIT_PATH,
            dir.join("audit.jsonl").display().to_string(),
        ),
        (config::PARTNER_ACCOUNT_ID, PARTNER.to_owned()),
        (config::EXTERNAL_ID_SECRET, EXTERNAL_ID_SECRET.to_owned()),
        (config::OIDC_ISSUER, ISSUER.to_owned()),
        (config::OIDC_JWKS_URL, jwks_url),
        (config::OIDC_AUDIENCE, AUDIENCE.to_owned()),
        (config::OIDC_LEEWAY, "30".to_owned()),
    ]);
    vars.extend(aws.env());
    let (config, credentials) = common::load_config(&vars).await;
    let (client, _) = aws_client(&config).unwrap();
    let (state, notes) = build_state(config, credentials, client).await.unwrap();
    assert!(notes.enrollment.is_none(), "no local operator in OIDC mode");
    assert!(!dir.join("state/operator.json").exists());
    let base = serve_in_background(state).await;
    let http = reqwest::Client::new();
    let call = |token: String| {
        let (http, base, arn) = (http.clone(), base.clone(), arn.clone());
        async move {
            let r = http
                .post(format!(
                    "{base}/admin/accounts/acme/cloud/aws/validate-identity"
                ))
                .bearer_auth(token)
                .json(&json!({"role_arn": arn}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body["code"].as_str().unwrap_or("").to_owned())
        }
    };

    let mfa = ["pwd", "mfa"];
    let cases = [
        (
            "wrong audience",
            idp.token(claims("admin:cluster", &mfa, 5, ISSUER, "someone-else")),
            401,
            "unauthenticated",
        ),
        (
            "wrong issuer",
            idp.token(claims(
                "admin:cluster",
                &mfa,
                5,
                "https://evil.example/",
                AUDIENCE,
            )),
            401,
            "unauthenticated",
        ),
        (
            "impostor key",
            impostor.token(claims("admin:cluster", &mfa, 5, ISSUER, AUDIENCE)),
            401,
            "unauthenticated",
        ),
        (
            "no scope",
            idp.token(claims("openid profile", &mfa, 5, ISSUER, AUDIENCE)),
            403,
            "insufficient_scope",
        ),
        (
            "no mfa",
            idp.token(claims(
                "openid admin:cluster",
                &["pwd"],
                5,
                ISSUER,
                AUDIENCE,
            )),
            403,
            "step_up_required",
        ),
        (
            "stale mfa",
            idp.token(claims("admin:cluster", &mfa, 400, ISSUER, AUDIENCE)),
            403,
            "step_up_required",
        ),
    ];
    // Times, against a 30 s leeway: not yet valid, issued in the future,
    // expired beyond the leeway.
    let timed = |change: &dyn Fn(&mut Value, i64)| {
        let mut c = claims("admin:cluster", &mfa, 5, ISSUER, AUDIENCE);
        change(&mut c, time::OffsetDateTime::now_utc().unix_timestamp());
        idp.token(c)
    };
    let time_cases = [
        (
            "nbf in the future",
            timed(&|c, now| c["nbf"] = json!(now + 120)),
            401,
            "unauthenticated",
        ),
        (
            "iat in the future",
            timed(&|c, now| c["iat"] = json!(now + 120)),
            401,
            "unauthenticated",
        ),
        (
            "expired 45 s ago",
            timed(&|c, now| c["exp"] = json!(now - 45)),
            401,
            "unauthenticated",
        ),
    ];
    for (what, token, status, code) in cases.into_iter().chain(time_cases) {
        assert_eq!(call(token).await, (status, code.to_owned()), "{what}");
    }
    assert_eq!(aws.calls(), 0);
    // Clock skew within the leeway is tolerated.
    let skewed = timed(&|c, now| {
        c["nbf"] = json!(now + 10);
        c["iat"] = json!(now + 10);
    });
    assert_eq!(
        call(skewed).await,
        (200, String::new()),
        "skew within the leeway"
    );
    let good = idp.token(claims("openid admin:cluster", &mfa, 5, ISSUER, AUDIENCE));
    assert_eq!(call(good.clone()).await, (200, String::new()));

    let session: Value = http
        .get(format!("{base}/auth/session"))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (session["mode"].as_str(), session["subject"].as_str()),
        (Some("oidc"), Some("operator@example.test"))
    );
    let login = http
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "admin", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 404);
}
