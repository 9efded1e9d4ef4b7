//! Minting a short-lived Azure Resource Manager token (issue 15) against
//! the loopback Entra + ARM fake: the federated exchange once more for the
//! org's subject. Entra decides the token's lifetime; the requested
//! duration caps how long the chain hands it out. The token works, resolves
//! as `integration_store`, and never appears in an answer or an audit row.

mod azure_support;
mod common;

use alphaswarm_core::ids::Guid;
use alphaswarm_proxy::azure::{ArmToken, AzureApi, RestClient};
use alphaswarm_resolver::Source;
use azure_support::*;
use serde_json::json;

#[tokio::test]
async fn a_minted_azure_token_works_resolves_and_never_leaks() {
    let w = AzureWorld::start("cred-mint-azure").await;
    let client_id = w.onboard_identity("acme", TENANT_A, SUB_A, json!({})).await;
    let token = w.proxy.stepped_up().await;
    let connect = body("managed_identity", TENANT_A, SUB_A, Some(&client_id));
    let (status, connected) = w.step(&token, "acme", "connect", connect).await;
    assert_eq!(status, 200, "{connected}");

    let (status, minted) = w
        .proxy
        .post(
            &path("acme", "mint"),
            &token,
            json!({ "credential_key": "deploy_az:org-acme", "duration_seconds": 900 }),
        )
        .await;
    assert_eq!(status, 200, "{minted}");
    assert_eq!(minted["fields"], json!(["access_token"]));
    assert_eq!(minted["metadata"]["subscription_id"], SUB_A);
    let expires_at = time::OffsetDateTime::parse(
        minted["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    // Entra's token lives about an hour; the chain hands it out for 900 s.
    let lifetime = expires_at - time::OffsetDateTime::now_utc();
    assert!(
        lifetime > time::Duration::seconds(850) && lifetime <= time::Duration::seconds(901),
        "{lifetime}"
    );

    let credential = w
        .proxy
        .state
        .credentials
        .resolve(&"deploy_az:org-acme".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(credential.source(), Source::IntegrationStore);
    let access_token = credential.require("access_token").unwrap().to_owned();
    // The token is the identity's: ARM answers with the subscription.
    let arm = RestClient::new(&w.proxy.state.config.azure);
    let bearer = ArmToken::new(access_token.clone(), String::new(), String::new(), None);
    let subscription = arm
        .subscription(&bearer, &Guid::parse_normalised(SUB_A).unwrap())
        .await
        .unwrap();
    assert_eq!(subscription.subscription_id, SUB_A);

    let piece = &access_token[access_token.len() - 12..];
    assert!(!minted.to_string().contains(piece));
    let trail = std::fs::read_to_string(w.proxy.audit_path()).unwrap();
    assert!(!trail.contains(piece));
    let run = w.proxy.audit_run(minted["audit_run_id"].as_str().unwrap());
    assert_eq!(run.len(), 2);
    assert_eq!(run[1]["phase"], "succeeded");
    assert_eq!(run[1]["cloud"], "azure");
}
