//! Minting a short-lived GCP access token (issue 15) against the loopback
//! Google Cloud fake: the federation chain once more (a fresh assertion,
//! STS), then `generateAccessToken` of the connected service account for
//! the requested lifetime. The token works, resolves through the chain as
//! `integration_store`, and never appears in an answer or an audit row.

mod common;
mod gcp_support;

use alphaswarm_proxy::gcp::{AccessToken, GcpApi, RestClient};
use common::status_code;
use gcp_support::*;

#[tokio::test]
async fn a_minted_gcp_token_works_resolves_and_never_leaks() {
    let w = GcpWorld::start("cred-mint-gcp").await;
    w.onboard("acme", PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    let (status, connected) = w
        .step(&token, "acme", "connect", body("acme", PROJECT, NUMBER))
        .await;
    assert_eq!(status, 200, "{connected}");

    // Google's limit without an organization policy: 3600 s.
    let refused = w
        .proxy
        .mint(&token, "acme", "gcp", "deploy_gcp:org-acme", 7200)
        .await;
    assert_eq!(status_code(&refused), (400, Some("token_lifetime_refused")));
    assert_eq!(refused.1["field"], "duration_seconds");

    let answer = w
        .proxy
        .mint(&token, "acme", "gcp", "deploy_gcp:org-acme", 1800)
        .await;
    let credential = w
        .proxy
        .assert_minted(&answer, "gcp", &["access_token"], 1800)
        .await;
    assert_eq!(
        answer.1["metadata"]["service_account_email"],
        format!("alphaswarm-acme@{PROJECT}.iam.gserviceaccount.com")
    );
    // The token is the service account's: it reads the connected project.
    let access_token = AccessToken::new(credential.require("access_token").unwrap().to_owned());
    let project = RestClient::new(&w.proxy.state.config.gcp)
        .project(&access_token, PROJECT)
        .await
        .unwrap();
    assert_eq!(project.project_number, NUMBER);

    // An org without a GCP connection has nothing to mint from.
    let other = w
        .proxy
        .mint(&token, "beta", "gcp", "deploy_gcp:org-beta", 900)
        .await;
    assert_eq!(status_code(&other), (409, Some("not_connected")));
}
