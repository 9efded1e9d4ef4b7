//! The rendered `gcloud` commands through the real gcloud (on this machine
//! kind's image at /usr/bin/gcloud): its own flag parser must accept every
//! argv, and the request it then sends must carry what
//! `workload_identity_federation.json` says — the condition, the audience,
//! the uploaded keys, the exact member. The API endpoints point at a
//! loopback listener that records each request and refuses it, so nothing
//! is created and gcloud stops after its first call.

use alphaswarm_core::gcp::{self, GcpBootstrapRequest};
use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const GCLOUD: &str = "/usr/bin/gcloud";
const JWKS: &str = r#"{"keys":[{"kty":"RSA","use":"sig","kid":"k1","alg":"RS256","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}"#;

type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn recorder() -> (String, Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let router = Router::new().fallback(move |method: axum::http::Method, uri: Uri, body: Bytes| {
        let log = log.clone();
        async move {
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            log.lock().unwrap().push((method.to_string(), uri.path().to_owned(), body));
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error":{"code":400,"message":"recorded by the test","status":"INVALID_ARGUMENT"}})),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen, task)
}

#[tokio::test]
async fn real_gcloud_parses_every_rendered_command_and_sends_the_configured_values() {
    assert!(
        std::path::Path::new(GCLOUD).exists(),
        "the Google Cloud CLI is required at {GCLOUD} (it ships with this machine kind's image)"
    );
    let (url, seen, server) = recorder().await;
    let dir = std::env::temp_dir().join(format!("gcloud-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let req = GcpBootstrapRequest {
        org_id: "org-acme".into(),
        project_id: "acme-prod".into(),
        project_number: "123456789012".into(),
        issuer: "https://alpha-swarm.ai/oidc/".into(),
        allowed_audience: "https://alpha-swarm.ai/gcp/org-acme".into(),
        jwks: Some(JWKS.into()),
        ..GcpBootstrapRequest::default()
    };
    let v = req.validate().unwrap();
    let bundle = gcp::render_validated(&v).unwrap();
    for file in &bundle.files {
        std::fs::write(dir.join(&file.name), &file.contents).unwrap();
    }
    let runs = gcp::commands(&v).into_iter().map(|command| {
        let argv = command.argv();
        let mut process = tokio::process::Command::new(GCLOUD);
        process
            .args(&argv[1..])
            .current_dir(&dir)
            .env("CLOUDSDK_CONFIG", dir.join("config"))
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_AUTH_DISABLE_CREDENTIALS", "true")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER", &url)
            .kill_on_drop(true);
        async move { (argv, process.output().await.unwrap()) }
    });
    for (argv, output) in futures_join(runs).await {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // 2 is gcloud's usage error; 1 is the recorded refusal.
        assert_eq!(output.status.code(), Some(1), "{argv:?}\n{stderr}");
        assert!(
            stderr.contains("recorded by the test"),
            "{argv:?}\n{stderr}"
        );
    }
    let seen = seen.lock().unwrap().clone();
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);

    let config: Value = serde_json::from_str(&bundle.files[0].contents).unwrap();
    let find = |suffix: &str| {
        seen.iter()
            .find(|(m, p, _)| m == "POST" && p.ends_with(suffix))
            .map(|(_, _, b)| b.clone())
            .unwrap_or_else(|| panic!("no POST …{suffix} in {seen:?}"))
    };
    let account = find("/v1/projects/acme-prod/serviceAccounts");
    assert_eq!(account["accountId"], config["serviceAccount"]["accountId"]);
    let pool = find("/v1/projects/acme-prod/locations/global/workloadIdentityPools");
    assert_eq!(pool["displayName"], config["pool"]["displayName"]);
    let provider = find("/workloadIdentityPools/alphaswarm-broker-org-acme/providers");
    assert_eq!(
        provider["attributeCondition"],
        config["provider"]["attributeCondition"]
    );
    assert_eq!(
        provider["attributeMapping"],
        config["provider"]["attributeMapping"]
    );
    assert_eq!(
        provider["oidc"]["issuerUri"],
        config["provider"]["oidc"]["issuerUri"]
    );
    assert_eq!(
        provider["oidc"]["allowedAudiences"],
        config["provider"]["oidc"]["allowedAudiences"]
    );
    let uploaded: Value =
        serde_json::from_str(provider["oidc"]["jwksJson"].as_str().unwrap()).unwrap();
    assert_eq!(uploaded, serde_json::from_str::<Value>(JWKS).unwrap());
    // Both add-iam-policy-binding commands start by reading the policy of
    // the account and of the project.
    assert!(
        seen.iter().any(|(_, p, _)| p.ends_with(&format!(
            "serviceAccounts/{}:getIamPolicy",
            v.service_account.email
        ))),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(_, p, _)| p == "/v1/projects/acme-prod:getIamPolicy"),
        "{seen:?}"
    );
}

/// Runs the futures concurrently (gcloud takes seconds to start).
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
