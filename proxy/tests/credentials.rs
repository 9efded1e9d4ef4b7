//! The proxy and the CredentialResolver chain (issue 15): its own secrets
//! resolve through the chain (env last, as the safety net), describe shows
//! the chain without a value, the proxy's store is the chain's
//! `integration_store`, and minting a short-lived AWS credential is step-up
//! gated, audited, and resolves through the chain until it expires. Planted
//! canaries (the minted secret key and session token, a stored token, the
//! proxy's own secrets) never appear in a response, an audit row or a log line.

mod common;

use alphaswarm_proxy::aws::{AssumedCredentials, AwsApi, QueryClient};
use alphaswarm_proxy::config;
use alphaswarm_proxy::credentials::integration::ProxyIntegrationSecrets;
use alphaswarm_proxy::credentials::{self, AWS_PLATFORM, EXTERNAL_ID_SECRET, INTEGRATIONS_KEY};
use alphaswarm_proxy::store::StoredIntegration;
use alphaswarm_resolver::clock::ShiftedClock;
use alphaswarm_resolver::stores::IntegrationStore as ResolverIntegrationStore;
use alphaswarm_resolver::{CredentialKey, CredentialResolver, Environment, ResolveError, Source};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Every log line of this test binary (every test's proxy), at debug level.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        logs
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs_text() -> String {
    String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned()
}

fn key(text: &str) -> CredentialKey {
    text.parse().unwrap()
}

/// Asserts none of `canaries` (nor a 12-character piece of one) is in `text`.
fn assert_absent(what: &str, text: &str, canaries: &[&str]) {
    for canary in canaries {
        assert!(canary.len() >= 16, "a canary worth looking for");
        let piece = &canary[canary.len() - 12..];
        assert!(
            !text.contains(piece),
            "a secret leaked into {what} ({} characters searched)",
            text.len()
        );
    }
}

// ------------------------------------------------------------ describe

#[tokio::test]
async fn describe_lists_the_chain_and_where_each_proxy_secret_came_from_never_a_value() {
    captured_logs();
    let proxy = TestProxy::start("cred-describe").await;
    let (status, body) = proxy
        .send(Method::GET, "/admin/credentials/describe", None, None)
        .await;
    assert_eq!(status, 401, "{body}");

    let token = proxy.login().await;
    let described = proxy.describe_credentials(&token).await;
    assert_eq!(
        described.summary(),
        (
            vec![
                "20 integration_store".to_owned(),
                "30 file".to_owned(),
                "100 env".to_owned()
            ],
            vec![
                "alphaswarm_admin:aws_platform null".to_owned(),
                "alphaswarm_admin:cloud_aws_external_id_secret env".to_owned(),
                "alphaswarm_admin:integrations_key env".to_owned(),
            ]
        )
    );
    let body = described.body;
    let file = &body["chain"][1]["settings"];
    assert!(
        file.to_string()
            .contains(&proxy.dir.join("bootstrap").display().to_string()),
        "{body}"
    );
    let canaries = [
        EXTERNAL_ID_SECRET_VALUE,
        &proxy.integrations_key,
        &proxy.aws.platform.secret_access_key,
    ];
    assert_absent("the describe answer", &body.to_string(), &canaries);
    assert_absent("the logs", &logs_text(), &canaries);
}

const EXTERNAL_ID_SECRET_VALUE: &str = common::EXTERNAL_ID_SECRET;

// ------------------------------------------------------------ own secrets

/// The bootstrap file outranks env: the external ids the proxy renders are
/// derived from the file's secret, and describe says `file`.
#[tokio::test]
async fn a_higher_store_outranks_env_for_the_proxys_own_secret() {
    captured_logs();
    let bootstrap = temp_dir("cred-bootstrap");
    std::fs::write(
        bootstrap.join("alphaswarm_admin-cloud_aws_external_id_secret.json"),
        json!({ "credential": common::EXTERNAL_ID_SECRET }).to_string(),
    )
    .unwrap();
    let env_value = "env-external-id-secret-that-must-lose-0123456789";
    let proxy = TestProxy::start_with(
        "cred-file-wins",
        &[
            (
                "ALPHASWARM_BOOTSTRAP_STATE_DIR",
                bootstrap.to_str().unwrap(),
            ),
            (config::EXTERNAL_ID_SECRET, env_value),
        ],
    )
    .await;
    let token = proxy.login().await;
    let (status, body) = proxy
        .post(
            "/admin/accounts/acme/cloud/aws/bootstrap",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_id"], json!(external_id_for("acme")));
    // ... and a role trusting that external id connects.
    let stepped = proxy.stepped_up().await;
    proxy.connect_aws(&stepped, "acme").await;
    let described = proxy.describe_credentials(&token).await;
    assert_eq!(
        described.sources["\"alphaswarm_admin:cloud_aws_external_id_secret\""],
        "\"file\""
    );
    let body = described.body;
    assert_absent(
        "the describe answer",
        &body.to_string(),
        &[common::EXTERNAL_ID_SECRET, env_value],
    );
}

/// The platform's AWS keys resolve by key from a store (here the file
/// store) when the standard AWS variables are absent, and the standard
/// variables still work when no store holds the key.
#[tokio::test]
async fn platform_aws_credentials_resolve_by_key_with_the_standard_variables_as_fallback() {
    let dir = temp_dir("cred-platform");
    std::fs::write(
        dir.join("alphaswarm_admin-aws_platform.json"),
        json!({
            "access_key_id": "AKIAFROMTHEFILESTORE",
            "secret_access_key": "file-store-secret-access-key-canary-0001",
        })
        .to_string(),
    )
    .unwrap();
    let base = in_process_env(&dir, &fernet_key(), PARTNER, common::EXTERNAL_ID_SECRET);
    let mut vars = base.clone();
    vars.insert(
        "ALPHASWARM_BOOTSTRAP_STATE_DIR".into(),
        dir.display().to_string(),
    );
    let (config, credentials) = load_config(&vars).await;
    let platform = config.aws.platform.expect("resolved from the file store");
    assert_eq!(platform.access_key_id, "AKIAFROMTHEFILESTORE");
    assert_eq!(
        platform.secret_access_key,
        "file-store-secret-access-key-canary-0001"
    );
    let aws = credentials
        .own
        .iter()
        .find(|s| s.credential_key == AWS_PLATFORM.key().to_string())
        .unwrap();
    assert_eq!(aws.source, Some(Source::File));

    // No store holds the key: the standard variables, as before.
    let mut vars = base;
    vars.insert("AWS_ACCESS_KEY_ID".into(), "AKIASTANDARDVARIABLE".into());
    vars.insert("AWS_SECRET_ACCESS_KEY".into(), "standard-secret".into());
    let (config, _) = load_config(&vars).await;
    assert_eq!(
        config.aws.platform.unwrap().access_key_id,
        "AKIASTANDARDVARIABLE"
    );
}

fn fernet_key() -> String {
    alphaswarm_proxy::store::FernetFileStore::generate_key()
}

/// A store that fails for a key stops start-up: the error names the key
/// and the store, never the value env holds for it.
#[tokio::test]
async fn a_failing_store_stops_start_up_naming_key_and_store_never_a_value() {
    let dir = temp_dir("cred-failing");
    let canary = fernet_key();
    let mut vars = in_process_env(&dir, &canary, PARTNER, common::EXTERNAL_ID_SECRET);
    // Vault is configured but nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    vars.insert("ALPHASWARM_VAULT_ADDR".into(), addr);
    vars.insert("VAULT_TOKEN".into(), "vault-token-canary-0123456789".into());
    let error = match credentials::load(Environment::from_pairs(vars.clone())).await {
        Ok(_) => panic!("start-up must fail while a store is down"),
        Err(e) => e.to_string(),
    };
    // Env holds the other two; the platform key has nothing below Vault.
    assert!(
        error.contains(&AWS_PLATFORM.key().to_string()) && error.contains("vault"),
        "{error}"
    );
    assert_absent(
        "the start-up error",
        &error,
        &[
            &canary,
            common::EXTERNAL_ID_SECRET,
            "vault-token-canary-0123456789",
        ],
    );

    // With every secret in env, start-up goes on and says which store was
    // passed over for which key.
    vars.insert(
        "ALPHASWARM_ADMIN_AWS_PLATFORM_ACCESS_KEY_ID".into(),
        "AKIAPLATFORMFROMENV0".into(),
    );
    vars.insert(
        "ALPHASWARM_ADMIN_AWS_PLATFORM_SECRET_ACCESS_KEY".into(),
        "platform-secret-canary-0123456789".into(),
    );
    let (config, loaded) = credentials::load(Environment::from_pairs(vars))
        .await
        .unwrap();
    assert_eq!(
        config.aws.platform.unwrap().access_key_id,
        "AKIAPLATFORMFROMENV0"
    );
    assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
    let warnings = loaded.warnings.join("\n");
    for secret in [EXTERNAL_ID_SECRET, INTEGRATIONS_KEY, AWS_PLATFORM] {
        assert!(warnings.contains(&secret.key().to_string()), "{warnings}");
    }
    assert!(warnings.contains("resolved from env") && warnings.contains("vault"));
    assert_absent(
        "the start-up warnings",
        &warnings,
        &[
            &canary,
            common::EXTERNAL_ID_SECRET,
            "vault-token-canary-0123456789",
            "platform-secret-canary-0123456789",
        ],
    );
}

/// Production still refuses to start when neither secret resolves anywhere,
/// and says which key (and variable) is missing.
#[test]
fn production_refuses_to_start_when_the_secrets_resolve_nowhere() {
    let dir = temp_dir("cred-production");
    // The binary in production, nothing else set: its exit code and stderr.
    let start = || {
        let under = |name: &str| dir.join(name).display().to_string();
        let output = proxy_command(
            &dir,
            &[
                ("ALPHASWARM_ENV", "production".to_owned()),
                ("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0".to_owned()),
                ("ALPHASWARM_ADMIN_STATE_DIR", under("state")),
                ("ALPHASWARM_BOOTSTRAP_STATE_DIR", under("bootstrap")),
            ],
        )
        .output()
        .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = start();
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("alphaswarm_admin:cloud_aws_external_id_secret")
            && stderr.contains(config::EXTERNAL_ID_SECRET),
        "{stderr}"
    );

    // With the external-id secret in the file store, the integrations key is next.
    std::fs::create_dir_all(dir.join("bootstrap")).unwrap();
    std::fs::write(
        dir.join("bootstrap/alphaswarm_admin-cloud_aws_external_id_secret.json"),
        json!({ "credential": common::EXTERNAL_ID_SECRET }).to_string(),
    )
    .unwrap();
    let (code, stderr) = start();
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&INTEGRATIONS_KEY.key().to_string()),
        "{stderr}"
    );
    assert_absent("the start-up error", &stderr, &[common::EXTERNAL_ID_SECRET]);
}

// ------------------------------------------------------------ integration_store

/// Tokens the proxy keeps resolve as `integration_store`; a connection
/// without secrets (a cloud role) is not a value.
#[tokio::test]
async fn stored_tokens_resolve_through_the_chain_as_integration_store() {
    captured_logs();
    let token_canary = "hf_CANARYtokenValue0123456789abcdefghij";
    let records = vec![
        StoredIntegration {
            org_id: "acme".into(),
            kind: "huggingface".into(),
            credential_key: "huggingface:org:acme".into(),
            status: "healthy".into(),
            connected_at: "2026-11-30T00:00:00Z".into(),
            secrets: BTreeMap::from([("token".into(), token_canary.into())]),
            ..StoredIntegration::default()
        },
        StoredIntegration {
            org_id: "acme".into(),
            kind: "cloud_aws".into(),
            credential_key: "cloud_aws:org:acme".into(),
            status: "healthy".into(),
            connected_at: "2026-11-30T00:00:00Z".into(),
            metadata: BTreeMap::from([("role_arn".into(), "arn:aws:iam::1:role/r".into())]),
            ..StoredIntegration::default()
        },
    ];
    let proxy = TestProxy::start_seeded("cred-integration", &[], records).await;
    let credential = proxy
        .state
        .credentials
        .resolve(&key("huggingface:org:acme"))
        .await
        .unwrap();
    assert_eq!(credential.source(), Source::IntegrationStore);
    assert_eq!(credential.require("token").unwrap(), token_canary);
    let missing = proxy
        .state
        .credentials
        .resolve(&key("cloud_aws:org:acme"))
        .await;
    assert!(
        matches!(missing, Err(ResolveError::NotFound { .. })),
        "a role is not a secret"
    );
    let token = proxy.login().await;
    let (_, listing) = proxy
        .send(
            Method::GET,
            "/admin/accounts/acme/integrations",
            Some(&token),
            None,
        )
        .await;
    assert_absent("the listing", &listing.to_string(), &[token_canary]);
    assert_absent("the logs", &logs_text(), &[token_canary]);
}

// ------------------------------------------------------------ minting

fn mint_path(org: &str) -> String {
    format!("/admin/accounts/{org}/cloud/aws/mint")
}

/// A connected org, its role, and a stepped-up token.
async fn connected(name: &str) -> (TestProxy, String) {
    let proxy = TestProxy::start(name).await;
    let token = proxy.stepped_up().await;
    proxy.connect_aws(&token, "acme").await;
    (proxy, token)
}

#[tokio::test]
async fn a_minted_aws_credential_resolves_until_it_expires_and_never_leaks() {
    captured_logs();
    let (proxy, token) = connected("cred-mint").await;
    let before = proxy.aws.calls();
    let answer = proxy
        .mint(&token, "acme", "aws", "deploy_aws:org-acme", 900)
        .await;
    // It resolves through the chain, from the proxy's store (and the
    // answer and the audit trail hold no value of it).
    let minted = proxy
        .assert_minted(
            &answer,
            "aws",
            &["access_key_id", "secret_access_key", "session_token"],
            900,
        )
        .await;
    let body = answer.1;
    assert_eq!(
        body["metadata"]["assumed_role_arn"],
        format!("arn:aws:sts::{CUSTOMER}:assumed-role/alphaswarm-broker-acme/alphaswarm-mint-acme")
    );
    // One AssumeRole as the platform user, answered.
    let calls = proxy.aws.state.calls();
    let assume: Vec<_> = calls[before..]
        .iter()
        .filter(|c| c.action == "AssumeRole")
        .collect();
    assert_eq!(assume.len(), 1);
    assert_eq!(assume[0].status, 200);
    assert!(minted.expires_at().is_some());
    let secret_key = minted.require("secret_access_key").unwrap().to_owned();
    let session_token = minted.require("session_token").unwrap().to_owned();
    // ... and is a working AWS credential: the customer role's session.
    let client = QueryClient::new(proxy.state.config.aws.clone()).unwrap();
    let identity = client
        .caller_identity(&AssumedCredentials::new(
            minted.require("access_key_id").unwrap(),
            &secret_key,
            &session_token,
            "",
            "",
        ))
        .await
        .unwrap();
    assert_eq!(identity.account, CUSTOMER);

    // After its expiry it no longer resolves (the proxy's store seen
    // through the resolver's integration_store with a clock 901 s ahead).
    let clock = Arc::new(ShiftedClock::default());
    let store = ResolverIntegrationStore::new(
        Arc::new(ProxyIntegrationSecrets::new(
            proxy.state.store.clone(),
            "test",
        )),
        clock.clone(),
    );
    let later = CredentialResolver::new().with(20, store);
    assert!(later.resolve(&key("deploy_aws:org-acme")).await.is_ok());
    clock.advance(Duration::from_secs(901));
    assert!(matches!(
        later.resolve(&key("deploy_aws:org-acme")).await,
        Err(ResolveError::NotFound { .. })
    ));

    // Not a connection: the org's listing is unchanged.
    let listed = proxy.integrations(&token, "acme").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["kind"], "cloud_aws");

    let canaries = [secret_key.as_str(), session_token.as_str()];
    let logs = logs_text();
    assert!(logs.contains("credential minted"), "the logs are captured");
    assert_absent("the logs", &logs, &canaries);
    assert_absent("the listing", &Value::from(listed).to_string(), &canaries);
    // The database (and its journal) keeps the record encrypted.
    let mut state_files = 0;
    for entry in std::fs::read_dir(proxy.dir.join("state")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            state_files += 1;
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert_absent(&path.display().to_string(), &text, &canaries);
        }
    }
    assert!(state_files > 0, "the state dir was searched");
}

#[tokio::test]
async fn minting_is_step_up_gated_and_refuses_bad_input_before_any_cloud_call() {
    let (proxy, stepped) = connected("cred-mint-refusals").await;
    let body = json!({ "credential_key": "deploy_aws:org-acme", "duration_seconds": 900 });
    let plain = proxy.login().await;
    let answer = proxy.post(&mint_path("acme"), &plain, body.clone()).await;
    assert_eq!(status_code(&answer), (403, Some("step_up_required")));
    let (status, _) = proxy
        .send(Method::POST, &mint_path("acme"), None, Some(body))
        .await;
    assert_eq!(status, 401);

    let calls = proxy.aws.calls();
    let rows = proxy.audit_rows().await.len();
    for (credential_key, duration, code, field) in [
        (
            "deploy_aws:org-acme",
            60,
            "invalid_duration",
            "duration_seconds",
        ),
        (
            "deploy_aws:org-acme",
            50_000,
            "invalid_duration",
            "duration_seconds",
        ),
        ("no colon", 900, "invalid_credential_key", "credential_key"),
        (
            "cloud_aws:org:acme",
            900,
            "credential_key_reserved",
            "credential_key",
        ),
        (
            "huggingface:org:acme",
            900,
            "credential_key_reserved",
            "credential_key",
        ),
        (
            "alphaswarm_admin:integrations_key",
            900,
            "credential_key_reserved",
            "credential_key",
        ),
    ] {
        let request = json!({ "credential_key": credential_key, "duration_seconds": duration });
        let (status, answer) = proxy.post(&mint_path("acme"), &stepped, request).await;
        assert!((400..500).contains(&status), "{answer}");
        assert_eq!(answer["code"], code, "{answer}");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let (status, answer) = proxy
        .post(
            &mint_path("acme"),
            &stepped,
            json!({ "credential_key": "deploy_aws:org-acme" }),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(proxy.aws.calls(), calls, "no cloud call for bad input");
    assert_eq!(
        proxy.audit_rows().await.len(),
        rows,
        "bad input is not a run"
    );

    // No connection of that cloud, or no connection at all.
    let answer = proxy
        .post(
            "/admin/accounts/acme/cloud/azure/mint",
            &stepped,
            json!({ "credential_key": "deploy_az:org-acme", "duration_seconds": 900 }),
        )
        .await;
    assert_eq!(status_code(&answer), (409, Some("not_connected")));
    let answer = proxy
        .post(
            &mint_path("beta"),
            &stepped,
            json!({ "credential_key": "deploy_aws:org-beta", "duration_seconds": 900 }),
        )
        .await;
    assert_eq!(status_code(&answer), (409, Some("not_connected")));
    let run = proxy
        .audit_run(answer.1["audit_run_id"].as_str().unwrap())
        .await;
    assert_eq!(run.len(), 2);
    assert_eq!(run[1]["error_code"], "not_connected");

    // Longer than the role allows (1 h by default): STS refuses, nothing is kept.
    let (status, answer) = proxy
        .post(
            &mint_path("acme"),
            &stepped,
            json!({ "credential_key": "deploy_aws:org-acme", "duration_seconds": 7200 }),
        )
        .await;
    assert!((400..600).contains(&status) && status != 500, "{answer}");
    assert!(
        proxy
            .state
            .store
            .get("deploy_aws:org-acme")
            .await
            .unwrap()
            .is_none()
    );
}

/// A cloud whose provider cannot mint yet says so, audited, after the
/// connection is found.
#[tokio::test]
async fn minting_from_a_cloud_without_minting_is_refused_and_audited() {
    let cloudflare = StoredIntegration {
        org_id: "acme".into(),
        kind: "cloud_cloudflare".into(),
        credential_key: "cloud_cloudflare:org:acme".into(),
        status: "healthy".into(),
        connected_at: "2026-11-30T00:00:00Z".into(),
        ..StoredIntegration::default()
    };
    let proxy = TestProxy::start_seeded("cred-mint-cloudflare", &[], vec![cloudflare]).await;
    let token = proxy.stepped_up().await;
    let answer = proxy
        .post(
            "/admin/accounts/acme/cloud/cloudflare/mint",
            &token,
            json!({ "credential_key": "deploy_cf:org-acme", "duration_seconds": 900 }),
        )
        .await;
    assert_eq!(status_code(&answer), (501, Some("mint_not_supported")));
    let run = proxy
        .audit_run(answer.1["audit_run_id"].as_str().unwrap())
        .await;
    let phases: Vec<_> = run.iter().map(|r| r["phase"].as_str()).collect();
    assert_eq!(phases, [Some("pending"), Some("failed")]);
    assert_eq!(run[1]["error_code"], "mint_not_supported");
}

/// A key another org minted under is not this org's to replace.
#[tokio::test]
async fn another_orgs_minted_key_is_not_replaced() {
    let record = |org: &str, kind: &str, key: &str| StoredIntegration {
        org_id: org.into(),
        kind: kind.into(),
        credential_key: key.into(),
        status: "active".into(),
        connected_at: "2026-11-30T00:00:00Z".into(),
        ..StoredIntegration::default()
    };
    let proxy = TestProxy::start_seeded(
        "cred-mint-other-org",
        &[],
        vec![
            record("acme", "cloud_aws", "cloud_aws:org:acme"),
            record("beta", "minted_credential", "deploy_aws:shared"),
        ],
    )
    .await;
    let token = proxy.stepped_up().await;
    let calls = proxy.aws.calls();
    let answer = proxy
        .post(
            &mint_path("acme"),
            &token,
            json!({ "credential_key": "deploy_aws:shared", "duration_seconds": 900 }),
        )
        .await;
    assert_eq!(status_code(&answer), (422, Some("credential_key_reserved")));
    assert_eq!(proxy.aws.calls(), calls);
    let kept = proxy.state.store.get("deploy_aws:shared").await.unwrap();
    assert_eq!(kept.unwrap().org_id, "beta");
}
