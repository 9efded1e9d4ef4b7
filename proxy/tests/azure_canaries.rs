//! No private key material — nor a minted assertion or an ARM access token —
//! in any response, log line (debug level) or audit row of the real binary,
//! across the Azure wizard's successes and failures; and the key file keeps
//! the private keys encrypted at rest.

mod azure_support;
mod common;

use alphaswarm_fakes::azure::AzureFake;
use azure_support::*;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_assertions_and_tokens_never_leave_the_proxy() {
    let fake = AzureFake::start().await.unwrap();
    fake.add_subscription(TENANT_A, SUB_A, "Contoso production");
    fake.register_app(PLATFORM_TENANT, APP_OBJECT_ID, APP_CLIENT_ID);
    // The issuer names the proxy's own address, so it is chosen first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}/oidc/");
    let dir = temp_dir("azure-canary");
    let key = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let mut env = binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.retain(|(k, _)| *k != "ALPHASWARM_ADMIN_BIND");
    env.extend([
        ("ALPHASWARM_ADMIN_BIND", format!("127.0.0.1:{port}")),
        ("ALPHASWARM_ADMIN_FEDERATION_ISSUER", issuer.clone()),
        (
            "ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL",
            fake.login_url(),
        ),
        ("ALPHASWARM_ADMIN_AZURE_ARM_ENDPOINT_URL", fake.arm_url()),
        (
            "ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID",
            APP_CLIENT_ID.to_owned(),
        ),
        (
            "ALPHASWARM_ADMIN_AZURE_APP_OBJECT_ID",
            APP_OBJECT_ID.to_owned(),
        ),
        ("ALPHASWARM_ADMIN_AZURE_SETTLE_SECONDS", "0".to_owned()),
        ("RUST_LOG", "debug".to_owned()),
    ]);
    let proxy = BinaryProxy::spawn(&dir, "azure-canary", &env);
    let (password, totp) = proxy.enrollment();
    let http = http_client();
    let session = proxy.login(&http, &password).await;
    let token = proxy.stepped_up(&http, &password, &totp).await;
    let mut bodies = Vec::new();
    let mut call = async |method: Method, path: &str, body: Option<Value>, bearer: &str| {
        let mut request = http
            .request(method, format!("{}{path}", proxy.base))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        bodies.push(text.clone());
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };

    let (status, boot) = call(
        Method::POST,
        &path("acme", "bootstrap"),
        Some(json!({"tenant_id": TENANT_A, "subscription_id": SUB_A})),
        &session,
    )
    .await;
    assert_eq!(status, 200, "{boot}");
    let bundle = serde_json::from_value(boot["bundle"].clone()).unwrap();
    let outputs = fake
        .apply_bundle(&customer(TENANT_A, SUB_A), None, &bundle)
        .unwrap();
    let client_id = outputs.last().unwrap().trim().to_owned();
    let good = body("managed_identity", TENANT_A, SUB_A, Some(&client_id));
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, answer) = call(
            Method::POST,
            &path("acme", step),
            Some(good.clone()),
            &token,
        )
        .await;
        assert_eq!(status, 200, "{step}: {answer}");
    }
    // Failures: another org's assertion, an unknown identity, shared app
    // without consent, an expired assertion, then disconnect.
    for (org, request) in [
        ("beta", good.clone()),
        (
            "acme",
            body("managed_identity", TENANT_A, SUB_A, Some(APP_OBJECT_ID)),
        ),
        ("acme", body("shared_app", TENANT_A, SUB_A, None)),
    ] {
        let (status, _) = call(
            Method::POST,
            &path(org, "validate-identity"),
            Some(request),
            &token,
        )
        .await;
        assert_eq!(status, 422);
    }
    fake.set_clock_skew(7200);
    let (status, _) = call(
        Method::POST,
        &path("acme", "validate-identity"),
        Some(good.clone()),
        &token,
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        Method::DELETE,
        "/admin/accounts/acme/cloud/azure",
        None,
        &token,
    )
    .await;
    assert_eq!(status, 200);
    for public in [
        "/oidc/.well-known/openid-configuration",
        "/oidc/.well-known/jwks.json",
    ] {
        let (status, _) = call(Method::GET, public, None, &session).await;
        assert_eq!(status, 200);
    }

    let mut haystack = bodies.join("\n");
    haystack.push_str(&proxy.logs());
    let db = binary_database(&dir).await;
    for row in audit_rows(&db).await {
        haystack.push_str(&row.to_string());
    }
    db.close().await;
    assert!(
        haystack.contains("validate_identity"),
        "the logs and audit rows were read"
    );
    assert_signing_keys_never_leaked(&dir, &key, &haystack).await;
    let seen = fake.seen_assertions();
    assert!(seen.len() >= 10);
    for assertion in &seen {
        assert!(
            !haystack.contains(&assertion.signature),
            "an assertion leaked"
        );
    }
    let tokens = fake.issued_token_signatures();
    assert!(!tokens.is_empty());
    for signature in &tokens {
        assert!(!haystack.contains(signature), "an ARM access token leaked");
    }
}
