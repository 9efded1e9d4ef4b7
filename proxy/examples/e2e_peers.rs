//! The loopback AWS of the web UI's end-to-end run (scripts/test-web.sh):
//! the AWS fake of `alphaswarm-fakes` (STS, IAM, EC2 on one endpoint; its
//! own SigV4 verification; every call authorised as IAM does), with
//! AlphaSwarm's platform user in the partner account and a customer
//! administrator in the customer account. No customer role exists yet: the
//! e2e creates them by running the commands the wizard rendered, as that
//! administrator, with the venv's awscli.
//!
//! Prints one JSON line (the endpoint, account ids, the platform user's
//! keys for the proxy, the administrator's keys for the awscli) and stays
//! up until stdin closes or SIGTERM/SIGINT arrives.

use alphaswarm_fakes::aws::{AwsFake, AwsFakeConfig};
use std::io::Read;

const PARTNER_ACCOUNT: &str = "111122223333";
const CUSTOMER_ACCOUNT: &str = "444455556666";
const ALLOW_ASSUME_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
/// The customer's administrator may do anything in the customer account.
const ALLOW_EVERYTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[tokio::main]
async fn main() {
    let aws = AwsFake::start(AwsFakeConfig::default())
        .await
        .expect("the AWS fake starts on loopback");
    let platform = aws
        .state()
        .create_user(PARTNER_ACCOUNT, "alphaswarm-platform", ALLOW_ASSUME_ROLE)
        .expect("platform user");
    let admin = aws
        .state()
        .create_user(CUSTOMER_ACCOUNT, "e2e-customer-admin", ALLOW_EVERYTHING)
        .expect("customer administrator");
    let env = serde_json::json!({
        "aws_url": aws.url(),
        "partner_account_id": PARTNER_ACCOUNT,
        "customer_account_id": CUSTOMER_ACCOUNT,
        "platform_access_key_id": platform.access_key_id,
        "platform_secret_access_key": platform.secret_access_key,
        "customer_access_key_id": admin.access_key_id,
        "customer_secret_access_key": admin.secret_access_key,
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
    drop(aws);
}
