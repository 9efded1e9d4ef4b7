//! The HuggingFace and Docker Hub fakes (crate `alphaswarm-fakes`) on
//! loopback, with one small world, and the helpers the account tests share.
//!
//! World: HuggingFace user `alice` (admin of org `acme-quant`) and `bob`;
//! Docker Hub user `acmeops` (member of org `acme`, private repositories in
//! both) and `otheruser`.

use alphaswarm_fakes::dockerhub::{DockerHub, PatScope};
use alphaswarm_fakes::huggingface::{HuggingFace, TokenRole};
use alphaswarm_fakes::server::Running;
use alphaswarm_fakes::traffic::Traffic;
use alphaswarm_proxy::config;
use alphaswarm_proxy::store::StoredIntegration;
use serde_json::Value;
use std::collections::BTreeMap;

pub const ORG: &str = "acme";

pub struct AccountFakes {
    pub hf: HuggingFace,
    pub docker: DockerHub,
    hf_server: Running,
    docker_server: Running,
}

impl AccountFakes {
    pub async fn start() -> AccountFakes {
        Self::start_with(HuggingFace::new(), DockerHub::new()).await
    }

    /// Both fakes count into (and fault from) one `traffic`.
    pub async fn start_sharing(traffic: Traffic) -> AccountFakes {
        Self::start_with(
            HuggingFace::with_traffic(traffic.clone()),
            DockerHub::with_traffic(traffic),
        )
        .await
    }

    async fn start_with(hf: HuggingFace, docker: DockerHub) -> AccountFakes {
        hf.add_user("alice", Some("alice@acme.example"));
        hf.add_user("bob", None);
        hf.add_org("acme-quant", &[("alice", "admin")]);
        docker.add_user("acmeops", "ops@acme.example", None);
        docker.add_user("otheruser", "other@example.com", None);
        docker.add_org("acme", &["acmeops"]);
        docker.add_repository("acmeops", "tools", true);
        docker.add_repository("acme", "models", true);
        docker.add_repository("acme", "public-images", false);
        let hf_server = hf.start().await.unwrap();
        let docker_server = docker.start().await.unwrap();
        AccountFakes {
            hf,
            docker,
            hf_server,
            docker_server,
        }
    }

    /// The proxy settings that point it at these fakes.
    pub fn endpoints(&self) -> Vec<(&'static str, String)> {
        vec![
            (config::HUGGINGFACE_ENDPOINT_URL, self.hf_server.url()),
            (config::DOCKERHUB_ENDPOINT_URL, self.docker_server.url()),
        ]
    }

    pub fn hf_token(&self) -> String {
        self.hf.issue_token("alice", TokenRole::Read)
    }

    pub fn docker_pat(&self) -> String {
        self.docker.issue_pat("acmeops", PatScope::Read)
    }

    /// Requests both fakes served.
    pub fn requests(&self) -> u64 {
        self.hf.traffic().stats().requests + self.docker.traffic().stats().requests
    }
}

/// `/admin/accounts/{org}/integrations/{kind}` (+ `/health` when asked).
pub fn integration(kind: &str) -> String {
    format!("/admin/accounts/{ORG}/integrations/{kind}")
}

pub fn health(kind: &str) -> String {
    format!("{}/health", integration(kind))
}

pub fn run_id(body: &Value) -> String {
    body["audit_run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no audit_run_id in {body}"))
        .to_owned()
}

/// The rows of one audit run are exactly a pending row, then the result
/// row with `phase` and `error_code`, for `step` on `cloud` by the operator.
pub fn assert_run(
    rows: &[Value],
    run_id: &str,
    step: &str,
    cloud: &str,
    phase: &str,
    code: Option<&str>,
) {
    let run: Vec<&Value> = rows
        .iter()
        .filter(|r| r["audit_run_id"] == run_id)
        .collect();
    let phases: Vec<&str> = run.iter().map(|r| r["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["pending", phase], "{step}: {run:?}");
    for row in &run {
        assert_eq!(
            (
                row["step"].as_str(),
                row["cloud"].as_str(),
                row["org_id"].as_str(),
                row["actor"].as_str()
            ),
            (Some(step), Some(cloud), Some(ORG), Some("admin")),
            "{row}"
        );
    }
    assert_eq!(run[1]["error_code"].as_str(), code, "{step}");
}

/// A record as connect would store it, to seed a store directly (many
/// connections without many connects).
pub fn stored(
    kind: &str,
    org: &str,
    namespace: &str,
    secret: (&str, String),
    metadata: &[(&str, &str)],
) -> StoredIntegration {
    StoredIntegration {
        org_id: org.to_owned(),
        kind: kind.to_owned(),
        credential_key: format!("{kind}:org:{org}"),
        status: "healthy".to_owned(),
        connected_at: "2026-01-01T00:00:00Z".to_owned(),
        namespace: Some(namespace.to_owned()),
        metadata: metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        secrets: BTreeMap::from([(secret.0.to_owned(), secret.1)]),
        ..StoredIntegration::default()
    }
}
