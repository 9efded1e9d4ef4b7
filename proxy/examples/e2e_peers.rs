//! The loopback peers of the web UI's end-to-end run (scripts/test-web.sh):
//! the moto server of the proxy's tests (auth mode, cross-account trust
//! policies and ExternalId really evaluated) and the SigV4-verifying
//! SimulatePrincipalPolicy fake, deciding from each role's own policies in
//! moto. No customer role exists yet: the e2e creates them by running the
//! commands the wizard rendered, as the customer administrator made here.
//!
//! Prints one JSON line (endpoints, account ids, the platform user's keys
//! for the proxy, the customer administrator's keys for the awscli) and
//! stays up until stdin closes or SIGTERM/SIGINT arrives; moto goes with it.
//! Start it with `MOTO_IAM_LOAD_MANAGED_POLICIES=true` (the rendered commands
//! attach AWS managed policies) and `ALPHASWARM_MOTO_MANAGED_POLICIES` naming
//! the few to load, which keeps moto's model dump small (see
//! moto_cross_account.py).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::Read;
use support::iam_sim_fake::{FakeConfig, IamSimFake, KnownKeys, RolePolicies};
use support::moto::{CUSTOMER_ACCOUNT, Moto, PARTNER_ACCOUNT};

/// The managed policies the fake can evaluate: the bundle's default.
const MANAGED_POLICIES: [&str; 1] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"];
const CUSTOMER_ADMIN: &str = "e2e-customer-admin";

#[tokio::main]
async fn main() {
    let moto = Moto::start(&[]).await;
    let mut managed = HashMap::new();
    for arn in MANAGED_POLICIES {
        managed.insert(arn.to_owned(), moto.managed_policy_document(arn).await);
    }
    let (admin_key_id, admin_secret) = moto
        .create_admin_user(CUSTOMER_ACCOUNT, CUSTOMER_ADMIN)
        .await;
    let iam = IamSimFake::start_with_role_policies(
        FakeConfig {
            keys: KnownKeys::default().issued_by_moto(&moto.url),
            policy_source_arn: String::new(),
            allowed: Default::default(),
            page_size: 100,
        },
        RolePolicies {
            moto_url: moto.url.clone(),
            managed,
        },
    )
    .await;
    let env = serde_json::json!({
        "moto_url": moto.url,
        "iam_url": iam.url,
        "partner_account_id": PARTNER_ACCOUNT,
        "customer_account_id": CUSTOMER_ACCOUNT,
        "platform_access_key_id": moto.platform_access_key_id,
        "platform_secret_access_key": moto.platform_secret_access_key,
        "customer_access_key_id": admin_key_id,
        "customer_secret_access_key": admin_secret,
    });
    println!("{env}");

    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = stdin_closed => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // Dropping them stops the fake and kills moto.
    drop(iam);
    drop(moto);
}
