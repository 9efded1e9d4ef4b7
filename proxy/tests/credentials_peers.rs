//! The proxy's own secrets in real secret stores (issue 15): the
//! external-id secret and the platform's AWS keys in OpenBao (Vault KV v2),
//! the integrations key in moto's Secrets Manager. Env holds none of them;
//! the proxy resolves all three through its chain, connects an AWS org with
//! them, and shows where each came from without a value. The peers are the
//! resolver area's (resolver/tests/support/peers.py), started once here.

mod common;
#[path = "../../resolver/tests/support/mod.rs"]
mod peers;

use alphaswarm_proxy::config;
use alphaswarm_proxy::store::FernetFileStore;
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_proxy_resolves_its_secrets_from_openbao_and_secrets_manager() {
    let p = peers::peers();
    let aws = LoopbackAws::start().await;
    let integrations_key = FernetFileStore::generate_key();
    let prefix = format!("proxy-{}/", peers::random_hex(4));
    peers::put_aws_secret(
        &format!("{prefix}alphaswarm_admin/integrations_key"),
        &integrations_key,
    )
    .await;
    for (path, data) in [
        (
            "cloud_aws_external_id_secret",
            json!({ "credential": common::EXTERNAL_ID_SECRET }),
        ),
        (
            "aws_platform",
            json!({
                "access_key_id": aws.platform.access_key_id,
                "secret_access_key": aws.platform.secret_access_key,
            }),
        ),
    ] {
        let (status, body) = peers::bao(
            Method::POST,
            &format!("secret/data/alphaswarm/alphaswarm_admin/{path}"),
            Some(json!({ "data": data })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let canaries = [
        integrations_key.clone(),
        common::EXTERNAL_ID_SECRET.to_owned(),
        aws.platform.secret_access_key.clone(),
        p.bao_token.clone(),
        p.reader.1.clone(),
    ];
    let extra: Vec<(&str, String)> = vec![
        // None of the three in env (an empty value removes the default).
        (config::EXTERNAL_ID_SECRET, String::new()),
        (config::INTEGRATIONS_KEY, String::new()),
        // moto's reader: the identity of the Secrets Manager store, unknown
        // to the AWS fake, so the platform keys must come from OpenBao.
        ("AWS_ACCESS_KEY_ID", p.reader.0.clone()),
        ("AWS_SECRET_ACCESS_KEY", p.reader.1.clone()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws".to_owned()),
        ("ALPHASWARM_AWS_REGION", peers::REGION.to_owned()),
        ("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", prefix.clone()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", p.moto_url.clone()),
        ("ALPHASWARM_VAULT_ADDR", p.bao_addr.clone()),
        ("VAULT_TOKEN", p.bao_token.clone()),
    ];
    let proxy = TestProxy::start_with_aws("cred-peers", aws, &extra).await;

    let token = proxy.login().await;
    let described = proxy.describe_credentials(&token).await;
    assert_eq!(
        described.summary(),
        (
            [
                "20 integration_store",
                "30 file",
                "40 aws_secrets_manager",
                "50 vault",
                "100 env"
            ]
            .map(String::from)
            .to_vec(),
            [
                "alphaswarm_admin:aws_platform vault",
                "alphaswarm_admin:cloud_aws_external_id_secret vault",
                "alphaswarm_admin:integrations_key aws_secrets_manager",
            ]
            .map(String::from)
            .to_vec()
        )
    );
    let body = described.body;

    // The wizard works with them: the role trusts the external id derived
    // from OpenBao's secret, AssumeRole is signed with OpenBao's platform key.
    let stepped = proxy.stepped_up().await;
    let connected = proxy.connect_aws(&stepped, "acme").await;
    // ... and the store is encrypted with the key from Secrets Manager.
    let reopened = alphaswarm_proxy::db::store::DbIntegrationStore::open(
        proxy.database.clone(),
        &integrations_key,
    )
    .await
    .unwrap();
    use alphaswarm_proxy::store::IntegrationStore;
    assert!(reopened.get("cloud_aws:org:acme").await.unwrap().is_some());

    let shown = format!("{body}{connected}");
    peers::assert_no_canary(
        &shown,
        &canaries.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}
