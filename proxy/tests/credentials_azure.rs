//! Minting a short-lived Azure Resource Manager token (issue 15) against
//! the loopback Entra + ARM fake: the federated exchange once more for the
//! org's subject. Entra decides the token's lifetime; the requested
//! duration caps how long the chain hands it out. The token works, resolves
//! as `integration_store`, and never appears in an answer or an audit row.

mod azure_support;
mod common;

use alphaswarm_core::ids::Guid;
use alphaswarm_proxy::azure::{ArmToken, AzureApi, RestClient};
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

    let answer = w
        .proxy
        .mint(&token, "acme", "azure", "deploy_az:org-acme", 900)
        .await;
    // Entra's token lives about an hour; the chain hands it out for 900 s.
    let credential = w
        .proxy
        .assert_minted(&answer, "azure", &["access_token"], 900)
        .await;
    assert_eq!(answer.1["metadata"]["subscription_id"], SUB_A);
    // The token is the identity's: ARM answers with the subscription.
    let bearer = ArmToken::new(
        credential.require("access_token").unwrap().to_owned(),
        String::new(),
        String::new(),
        None,
    );
    let subscription = RestClient::new(&w.proxy.state.config.azure)
        .subscription(&bearer, &Guid::parse_normalised(SUB_A).unwrap())
        .await
        .unwrap();
    assert_eq!(subscription.subscription_id, SUB_A);
}
