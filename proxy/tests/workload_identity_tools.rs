//! Settings → Workload identity through the proxy: the core's Kubernetes
//! wiring and diagnosis behind an admin session, strict bodies, coded
//! errors, and pasted manifests never written to the log, the audit rows or the
//! database.

mod common;

use common::*;
use serde_json::{Value, json};

const RENDER: &str = "/admin/tools/workload-identity/render";
const DIAGNOSE: &str = "/admin/tools/workload-identity/diagnose";

fn aks_request() -> Value {
    json!({
        "namespace": "internal-platform",
        "serviceAccount": "spec-agent-worker",
        "issuer": "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/",
        "credentialKeys": ["postgres:password"],
        "cloud": {
            "kind": "aks",
            "subscriptionId": "00000000-1111-2222-3333-444444444444",
            "resourceGroup": "aucert-foundation-rg",
            "keyVaultName": "aucertdev-kv-41e0x5"
        }
    })
}

fn seed_004_manifests() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/fixtures/k8s/seed_004_spec_agent_worker.yaml"
    );
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn render_and_diagnose_answer_an_admin_session_only() {
    let proxy = TestProxy::start("wi-tools").await;
    for path in [RENDER, DIAGNOSE] {
        let (status, body) = proxy
            .send(reqwest::Method::POST, path, None, Some(aks_request()))
            .await;
        assert_eq!(status, 401, "{path}: {body}");
    }

    let token = proxy.login().await;
    let (status, bundle) = proxy.post(RENDER, &token, aks_request()).await;
    assert_eq!(status, 200, "{bundle}");
    let file = |name: &str| {
        bundle["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["contents"].as_str())
            .unwrap_or_else(|| panic!("{name} is rendered: {bundle}"))
            .to_owned()
    };
    assert!(file("serviceaccount.yaml").contains("kind: ServiceAccount"));
    assert!(file("pod_template_patch.yaml").contains("azure.workload.identity/use: \"true\""));
    let bash = bundle["commands"]["bash"].to_string();
    assert!(bash.contains("system:serviceaccount:internal-platform:spec-agent-worker"));
    assert!(!bundle["commands"]["bash"].as_array().unwrap().is_empty());

    // Seed 004's workload: annotation present, pod label missing.
    let canary = "canary-manifest-value-7f3a9c";
    let manifests = format!("{}\n# {canary}\n", seed_004_manifests());
    let (status, diagnosis) = proxy
        .post(
            DIAGNOSE,
            &token,
            json!({ "cloud": "aks", "manifests": manifests }),
        )
        .await;
    assert_eq!(status, 200, "{diagnosis}");
    let codes: Vec<&str> = diagnosis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["aks_pod_label_missing"]);

    let audit: String = proxy
        .audit_rows()
        .await
        .iter()
        .map(|row| row.to_string())
        .collect();
    assert!(
        !audit.contains(canary),
        "pasted manifests never reach the audit rows"
    );
    assert!(
        !binary_database_bytes(&proxy.dir).contains(canary),
        "nor the database's files"
    );
    for entry in std::fs::read_dir(&proxy.dir).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&text).contains(canary));
    }
}

#[tokio::test]
async fn bad_bodies_are_coded_errors_with_their_field() {
    let proxy = TestProxy::start("wi-tools-bad").await;
    let token = proxy.login().await;

    let mut unknown = aks_request();
    unknown["namespce"] = json!("typo");
    let answer = proxy.post(RENDER, &token, unknown).await;
    assert_eq!(
        status_code(&answer),
        (400, Some("invalid_body")),
        "{}",
        answer.1
    );

    let mut bad_namespace = aks_request();
    bad_namespace["namespace"] = json!("Internal_Platform");
    let (status, body) = proxy.post(RENDER, &token, bad_namespace).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "namespace", "{body}");

    // An alias bomb (9^9 values once expanded) is refused with its code.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let previous = format!("*a{}", level - 1);
        bomb.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            vec![previous; 9].join(", ")
        ));
    }
    let answer = proxy
        .post(
            DIAGNOSE,
            &token,
            json!({ "cloud": "aks", "manifests": bomb }),
        )
        .await;
    assert_eq!(
        status_code(&answer),
        (400, Some("yaml_too_many_nodes")),
        "{}",
        answer.1
    );
}
