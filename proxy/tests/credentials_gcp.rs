//! Minting a short-lived GCP access token (issue 15) against the loopback
//! Google Cloud fake: the federation chain once more (a fresh assertion,
//! STS), then `generateAccessToken` of the connected service account for
//! the requested lifetime. The token works, resolves through the chain as
//! `integration_store`, and never appears in an answer or an audit row.

mod common;
mod gcp_support;

use alphaswarm_proxy::gcp::{AccessToken, GcpApi, RestClient};
use alphaswarm_resolver::Source;
use common::status_code;
use gcp_support::*;
use serde_json::json;

#[tokio::test]
async fn a_minted_gcp_token_works_resolves_and_never_leaks() {
    let w = GcpWorld::start("cred-mint-gcp").await;
    w.onboard("acme", PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    let (status, connected) = w
        .step(&token, "acme", "connect", body("acme", PROJECT, NUMBER))
        .await;
    assert_eq!(status, 200, "{connected}");

    let mint = |duration: u32| json!({ "credential_key": "deploy_gcp:org-acme", "duration_seconds": duration });
    // Google's limit without an organization policy: 3600 s.
    let refused = w
        .proxy
        .post(&path("acme", "mint"), &token, mint(7200))
        .await;
    assert_eq!(status_code(&refused), (400, Some("token_lifetime_refused")));
    assert_eq!(refused.1["field"], "duration_seconds");
    let (status, minted) = w
        .proxy
        .post(&path("acme", "mint"), &token, mint(1800))
        .await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(minted["fields"], json!(["access_token"]));
    assert_eq!(
        minted["metadata"]["service_account_email"],
        format!("alphaswarm-acme@{PROJECT}.iam.gserviceaccount.com")
    );
    let expires_at = time::OffsetDateTime::parse(
        minted["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let lifetime = expires_at - time::OffsetDateTime::now_utc();
    assert!(
        lifetime > time::Duration::seconds(1700) && lifetime <= time::Duration::seconds(1801),
        "{lifetime}"
    );

    let credential = w
        .proxy
        .state
        .credentials
        .resolve(&"deploy_gcp:org-acme".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(credential.source(), Source::IntegrationStore);
    let access_token = credential.require("access_token").unwrap().to_owned();
    // The token is the service account's: it reads the connected project.
    let project = RestClient::new(&w.proxy.state.config.gcp)
        .project(&AccessToken::new(access_token.clone()), PROJECT)
        .await
        .unwrap();
    assert_eq!(project.project_number, NUMBER);

    let piece = &access_token[access_token.len() - 12..];
    assert!(!minted.to_string().contains(piece));
    assert!(!refused.1.to_string().contains(piece));
    let trail = std::fs::read_to_string(w.proxy.audit_path()).unwrap();
    assert!(!trail.contains(piece));
    let run = w.proxy.audit_run(minted["audit_run_id"].as_str().unwrap());
    assert_eq!(run.len(), 2);
    assert_eq!(run[1]["phase"], "succeeded");
    assert_eq!(run[1]["cloud"], "gcp");

    // An org without a GCP connection has nothing to mint from.
    let other = w
        .proxy
        .post(
            &path("beta", "mint"),
            &token,
            json!({ "credential_key": "deploy_gcp:org-beta", "duration_seconds": 900 }),
        )
        .await;
    assert_eq!(status_code(&other), (409, Some("not_connected")));
}
