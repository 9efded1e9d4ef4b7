//! The GCP test world: the loopback Google Cloud fake (STS, IAM
//! Credentials, Resource Manager, Compute on one listener) and an
//! in-process proxy whose federation issuer is its own loopback address,
//! so STS fetches the proxy's discovery document and JWKS over HTTP as
//! Google fetches AlphaSwarm's. Customer set-ups are made by applying the
//! bundle the proxy renders (its `workload_identity_federation.json`).
#![allow(dead_code)]

use crate::common::TestProxy;
use alphaswarm_core::Bundle;
use alphaswarm_fakes::gcp::GcpFake;
use alphaswarm_fakes::server::Running;
use alphaswarm_proxy::{federation, gcp};
use serde_json::{Value, json};

#[allow(unused_imports)] // the benchmarks include this module without using it
pub use crate::common::assert_error;

/// Two customer projects.
pub const PROJECT: &str = "acme-prod";
pub const NUMBER: &str = "123456789012";
pub const OTHER_PROJECT: &str = "beta-prod";
pub const OTHER_NUMBER: &str = "210987654321";
/// The roles the happy path grants (the default two, and Compute for 4*).
pub const ROLES: [&str; 3] = [
    "roles/browser",
    "roles/iam.securityReviewer",
    "roles/compute.viewer",
];

pub struct GcpWorld {
    pub proxy: TestProxy,
    pub fake: GcpFake,
    /// Keeps the fake's listener up.
    pub server: Running,
    /// The proxy's issuer, exactly as configured.
    pub issuer: String,
}

pub fn path(org: &str, step: &str) -> String {
    format!("/admin/accounts/{org}/cloud/gcp/{step}")
}

/// A step body for `org`'s bundle-created account in `project`.
pub fn body(org: &str, project: &str, number: &str) -> Value {
    json!({
        "project_id": project,
        "project_number": number,
        "service_account_email": format!("alphaswarm-{org}@{project}.iam.gserviceaccount.com"),
        "roles": ROLES,
    })
}

impl GcpWorld {
    pub async fn start(name: &str) -> GcpWorld {
        Self::start_with(name, &[]).await
    }

    /// `extra` overrides the settings below.
    pub async fn start_with(name: &str, extra: &[(&str, &str)]) -> GcpWorld {
        let fake = GcpFake::new();
        fake.allow_loopback_issuers();
        fake.add_project(PROJECT, NUMBER);
        fake.add_project(OTHER_PROJECT, OTHER_NUMBER);
        let server = fake.serve().await.unwrap();
        let url = server.url();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/oidc/", listener.local_addr().unwrap());
        let mut settings: Vec<(&str, &str)> = vec![
            (federation::ISSUER_VAR, issuer.as_str()),
            (gcp::STS_ENDPOINT_URL, url.as_str()),
            (gcp::IAMCREDENTIALS_ENDPOINT_URL, url.as_str()),
            (gcp::CRM_ENDPOINT_URL, url.as_str()),
            (gcp::COMPUTE_ENDPOINT_URL, url.as_str()),
            (gcp::SETTLE_SECONDS, "0"),
        ];
        for (k, v) in extra {
            settings.retain(|(key, _)| key != k);
            settings.push((k, v));
        }
        let proxy = TestProxy::start_on(name, listener, &settings).await;
        GcpWorld {
            proxy,
            fake,
            server,
            issuer,
        }
    }

    /// Step 2 through the proxy (asserting 200): the whole answer.
    pub async fn bootstrap_answer(&self, org: &str, request: Value) -> Value {
        let session = self.proxy.login().await;
        let (status, answer) = self
            .proxy
            .post(&path(org, "bootstrap"), &session, request)
            .await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// The customer's set-up for `org` in `project`: the bundle the proxy
    /// rendered, applied to the fake as running its commands would.
    pub async fn onboard(&self, org: &str, project: &str, number: &str) -> Bundle {
        let answer = self
            .bootstrap_answer(
                org,
                json!({ "project_id": project, "project_number": number, "roles": ROLES }),
            )
            .await;
        let bundle: Bundle = serde_json::from_value(answer["bundle"].clone()).unwrap();
        self.fake
            .apply_bundle(&bundle)
            .unwrap_or_else(|e| panic!("the bundle does not apply: {e:?}"));
        bundle
    }

    /// A wizard step with a stepped-up `token`.
    pub async fn step(&self, token: &str, org: &str, step: &str, body: Value) -> (u16, Value) {
        self.proxy.post(&path(org, step), token, body).await
    }

    /// `DELETE …/cloud/gcp` for `org`.
    pub async fn disconnect(&self, token: &str, org: &str) -> (u16, Value) {
        self.proxy
            .send(
                reqwest::Method::DELETE,
                &format!("/admin/accounts/{org}/cloud/gcp"),
                Some(token),
                None,
            )
            .await
    }

    /// Requests the fake has answered so far.
    pub fn fake_requests(&self) -> u64 {
        self.fake.traffic().stats().requests
    }
}

/// `principal://…/subject/org:<org>` of `org`'s pool in project `number`.
pub fn principal(org: &str, number: &str) -> String {
    format!(
        "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/alphaswarm-broker-{org}/subject/org:{org}"
    )
}

/// The pool's resource name.
pub fn pool(org: &str, number: &str) -> String {
    format!("projects/{number}/locations/global/workloadIdentityPools/alphaswarm-broker-{org}")
}
