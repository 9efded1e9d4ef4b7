//! No private key material, and no Google access token (STS's federated
//! token or the service account's), in any response, log line (debug
//! level) or audit row of the real binary, across the GCP wizard's
//! successes and failures.

mod common;
mod gcp_support;

use alphaswarm_fakes::gcp::GcpFake;
use common::*;
use gcp_support::{NUMBER, PROJECT, ROLES, body, path};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_and_google_tokens_never_leave_the_proxy() {
    let fake = GcpFake::new();
    fake.allow_loopback_issuers();
    fake.add_project(PROJECT, NUMBER);
    let server = fake.serve().await.unwrap();
    let url = server.url();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = temp_dir("gcp-canary");
    let key = alphaswarm_proxy::store::FernetFileStore::generate_key();
    let mut env = binary_env(&dir, &key, EXTERNAL_ID_SECRET);
    env.retain(|(k, _)| *k != "ALPHASWARM_ADMIN_BIND");
    env.extend([
        ("ALPHASWARM_ADMIN_BIND", format!("127.0.0.1:{port}")),
        (
            "ALPHASWARM_ADMIN_FEDERATION_ISSUER",
            format!("http://127.0.0.1:{port}/oidc/"),
        ),
        ("ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL", url.clone()),
        (
            "ALPHASWARM_ADMIN_GCP_IAMCREDENTIALS_ENDPOINT_URL",
            url.clone(),
        ),
        ("ALPHASWARM_ADMIN_GCP_CRM_ENDPOINT_URL", url.clone()),
        ("ALPHASWARM_ADMIN_GCP_COMPUTE_ENDPOINT_URL", url.clone()),
        ("ALPHASWARM_ADMIN_GCP_SETTLE_SECONDS", "0".to_owned()),
        ("RUST_LOG", "debug".to_owned()),
    ]);
    let proxy = BinaryProxy::spawn(&dir, "gcp-canary", &env);
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
        Some(json!({ "project_id": PROJECT, "project_number": NUMBER, "roles": ROLES })),
        &session,
    )
    .await;
    assert_eq!(status, 200, "{boot}");
    fake.apply_bundle(&serde_json::from_value(boot["bundle"].clone()).unwrap())
        .unwrap();
    let good = body("acme", PROJECT, NUMBER);
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
    let (status, health) = call(
        Method::POST,
        "/admin/accounts/acme/integrations/cloud_gcp/health",
        Some(json!({})),
        &token,
    )
    .await;
    assert_eq!(
        (status, &health["health"]["status"]),
        (200, &json!("healthy"))
    );
    // Failures: another org's assertion, the binding gone, a stale
    // assertion; then disconnect.
    let mut beta = good.clone();
    beta["pool_id"] = json!("alphaswarm-broker-acme");
    let (status, _) = call(
        Method::POST,
        &path("beta", "validate-identity"),
        Some(beta),
        &token,
    )
    .await;
    assert_eq!(status, 422);
    fake.unbind_service_account(
        "alphaswarm-acme@acme-prod.iam.gserviceaccount.com",
        "roles/iam.workloadIdentityUser",
        &gcp_support::principal("acme", NUMBER),
    );
    let (status, _) = call(
        Method::POST,
        &path("acme", "validate-identity"),
        Some(good.clone()),
        &token,
    )
    .await;
    assert_eq!(status, 422);
    fake.set_max_assertion_age(-1);
    let (status, _) = call(
        Method::POST,
        &path("acme", "validate-identity"),
        Some(good),
        &token,
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        Method::DELETE,
        "/admin/accounts/acme/cloud/gcp",
        None,
        &token,
    )
    .await;
    assert_eq!(status, 200);

    let mut haystack = bodies.join("\n");
    haystack.push_str(&proxy.logs());
    let db = binary_database(&dir).await;
    for row in audit_rows(&db).await {
        haystack.push_str(&row.to_string());
    }
    db.close().await;
    assert!(
        haystack.contains("validate_identity") && haystack.contains("impersonation_denied"),
        "the logs and audit rows were read"
    );
    assert_signing_keys_never_leaked(&dir, &key, &haystack).await;
    let tokens = fake.issued_tokens();
    // STS and generateAccessToken, for every successful chain (four steps
    // and the health check at least).
    assert!(tokens.len() >= 10, "{}", tokens.len());
    for issued in &tokens {
        assert!(
            !haystack.contains(issued.as_str()),
            "a Google access token leaked"
        );
    }
    drop(server);
}
