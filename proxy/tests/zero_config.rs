//! The embedded default: the binary with (almost) no environment enrols
//! an operator, mints a per-install external-id secret and store key kept
//! 0600, creates its SQLite database 0600, and gives the same external id
//! after a restart. Bad settings stop it with the
//! variable named and the value never printed.

mod common;

use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

async fn bootstrap_external_id(
    proxy: &BinaryProxy,
    http: &reqwest::Client,
    password: &str,
) -> Value {
    let token = proxy.login(http, password).await;
    let body = proxy
        .post_json(
            http,
            "/admin/accounts/acme/cloud/aws/bootstrap",
            Some(&token),
            serde_json::json!({}),
        )
        .await;
    body["external_id"].clone()
}

#[tokio::test]
async fn zero_config_enrols_once_and_keeps_external_ids_stable() {
    let dir = temp_dir("zero");
    let env = [
        ("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0".to_owned()),
        (
            "ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID",
            PARTNER.to_owned(),
        ),
    ];
    let http = common::http_client();
    let first = BinaryProxy::spawn(&dir, "first", &env);
    let (password, totp) = first.enrollment();
    assert!(
        first.logs().contains("DEVELOPMENT external-id secret"),
        "{}",
        first.logs()
    );
    assert!(
        first.logs().contains("DEVELOPMENT store key"),
        "{}",
        first.logs()
    );
    // The example partner account is flagged, not taken for AlphaSwarm's.
    assert!(
        first.logs().contains("is the placeholder 111122223333"),
        "{}",
        first.logs()
    );
    let external_id = bootstrap_external_id(&first, &http, &password).await;
    assert!(
        external_id.as_str().is_some_and(|s| s.len() >= 16),
        "{external_id}"
    );
    // An audited step (refused: no platform credentials) writes the audit
    // trail and the TOTP replay guard into the state directory too.
    let token = first.stepped_up(&http, &password, &totp).await;
    let refused = first
        .post_json(
            &http,
            "/admin/accounts/acme/cloud/aws/validate-identity",
            Some(&token),
            serde_json::json!({"role_arn": role_arn(CUSTOMER, "alphaswarm-broker-acme")}),
        )
        .await;
    assert_eq!(refused["code"], "platform_credentials_missing", "{refused}");
    drop(first);

    // Every state file, the audit trail and its key included, is 0600.
    let state = dir.join(".alphaswarm");
    let mut files: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for file in [
        "alphaswarm.db",
        "audit_signing_key.pem",
        "external_id_secret",
        alphaswarm_proxy::federation::DEV_KEY_FILE,
        "operator.json",
    ] {
        assert!(files.iter().any(|f| f == file), "{file} not in {files:?}");
    }
    for file in &files {
        let mode = std::fs::metadata(state.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let operator = std::fs::read_to_string(state.join("operator.json")).unwrap();
    assert!(
        !operator.contains(&password),
        "the password is stored hashed only"
    );

    let second = BinaryProxy::spawn(&dir, "second", &env);
    assert!(!second.stdout().contains("password:"));
    assert!(
        !second.logs().contains("DEVELOPMENT store key"),
        "the development key is minted once: {}",
        second.logs()
    );
    assert!(second.stdout().contains("Log in as admin"));
    assert_eq!(
        bootstrap_external_id(&second, &http, &password).await,
        external_id
    );
}

#[test]
fn bad_settings_stop_the_proxy_naming_the_variable_only() {
    let dir = temp_dir("badenv");
    let cases = [
        (
            "ALPHASWARM_ADMIN_INTEGRATIONS_KEY",
            "CANARY-not-a-fernet-key",
        ),
        (
            "ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET",
            "CANARY-short",
        ),
        ("ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID", "CANARY"),
        ("ALPHASWARM_ADMIN_AWS_ROLE_NAME_PATTERN", "CANARY/{org_id}"),
        (
            "ALPHASWARM_ADMIN_AWS_TEMPLATE_URL",
            "ftp://CANARY.example/t.json",
        ),
        ("ALPHASWARM_ADMIN_AWS_ENDPOINT_URL", "CANARY"),
    ];
    for (var, value) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
            .env_clear()
            .env("HOME", &dir)
            .env("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0")
            .env(var, value)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{var}: {text}");
        assert!(text.contains(var), "{var}: {text}");
        assert!(!text.contains("CANARY"), "{var} value echoed: {text}");
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
        .env_clear()
        .env("HOME", &dir)
        .env("ALPHASWARM_ENV", "production")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET")
    );
}
