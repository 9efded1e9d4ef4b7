//! Chain semantics (seed 002 "Testing"): priority order, first non-empty hit,
//! default fallback, `source`, failures, field maps, `describe()`, and the
//! default chain built from the environment — with the env, file, M2M and
//! integration stores (loopback only; the cloud stores are in stores.rs).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use alphaswarm_core::CoreError;
use alphaswarm_fakes::oauth2::ClientCredentialsFake;
use alphaswarm_resolver::clock::{Clock, ShiftedClock, SystemClock};
use alphaswarm_resolver::config::{self, ChainConfig};
use alphaswarm_resolver::stores::{
    EnvStore, FileStore, IntegrationSecrets, IntegrationStore, M2mConfig, M2mStore, StoredSecret,
};
use alphaswarm_resolver::{
    CredentialKey, CredentialResolver, Environment, Fetched, ResolveError, SecretStore,
    SecretValue, Source, StoreError, StoreErrorKind,
};
use async_trait::async_trait;
use support::*;

/// A store that always fails, standing in for a cloud store that is down.
struct Broken(Source);

#[async_trait]
impl SecretStore for Broken {
    fn source(&self) -> Source {
        self.0
    }
    fn settings(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::new()
    }
    fn locate(&self, key: &CredentialKey) -> Result<String, alphaswarm_core::keys::KeyError> {
        Ok(format!("broken/{key}"))
    }
    async fn fetch(&self, _: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        Err(StoreError::unreachable(
            "the store could not connect",
            "Check the network.",
        ))
    }
}

fn env_store(pairs: &[(&str, &str)]) -> EnvStore {
    EnvStore::new(Environment::from_pairs(pairs.iter().copied()))
}

#[tokio::test]
async fn lower_priority_numbers_answer_first_and_say_their_source() {
    let dir = TempDir::new();
    dir.write("broker-api_key.json", r#"{"credential": "from-file"}"#);
    let resolver = CredentialResolver::new()
        .with(100, env_store(&[("BROKER_API_KEY", "from-env")]))
        .with(30, FileStore::new(&dir.str()).unwrap());
    let credential = resolver.resolve(&key("broker:api_key")).await.unwrap();
    assert_eq!(credential.source(), Source::File);
    assert_eq!(credential.get("credential"), Some("from-file"));

    // The same two stores the other way round: env wins.
    let resolver = CredentialResolver::new()
        .with(10, env_store(&[("BROKER_API_KEY", "from-env")]))
        .with(30, FileStore::new(&dir.str()).unwrap());
    let credential = resolver.resolve(&key("broker:api_key")).await.unwrap();
    assert_eq!(credential.source(), Source::Env);
    assert_eq!(credential.require("credential").unwrap(), "from-env");
}

#[tokio::test]
async fn empty_values_are_not_hits() {
    let dir = TempDir::new();
    let resolver = CredentialResolver::new()
        .with(30, FileStore::new(&dir.str()).unwrap())
        .with(100, env_store(&[("SVC_P", "from-env")]));
    for empty in [
        "",
        "   \n",
        "{}",
        r#"{"credential": ""}"#,
        r#"{"a": null, "b": "  "}"#,
    ] {
        dir.write("svc-p.json", empty);
        let credential = resolver.resolve(&key("svc:p")).await.unwrap();
        assert_eq!(
            credential.source(),
            Source::Env,
            "{empty:?} counted as a hit"
        );
    }
    dir.write("svc-p.json", r#"{"port": 0}"#);
    assert_eq!(
        resolver.resolve(&key("svc:p")).await.unwrap().source(),
        Source::File
    );
}

#[tokio::test]
async fn the_default_answers_only_when_no_store_has_the_key() {
    let dir = TempDir::new();
    let resolver = CredentialResolver::new()
        .with(30, FileStore::new(&dir.str()).unwrap())
        .with(100, env_store(&[]));
    let default = SecretValue::parse(r#"{"client_id": "root", "client_secret": "s3cr3t"}"#);
    let credential = resolver
        .resolve_or(&key("polaris:oauth"), default.clone())
        .await
        .unwrap();
    assert_eq!(credential.source(), Source::Default);
    assert_eq!(credential.get("client_id"), Some("root"));

    // Without a default: not found, naming every place looked, in order.
    let err = resolver.resolve(&key("polaris:oauth")).await.unwrap_err();
    assert_eq!(err.code(), "credential_not_found");
    let ResolveError::NotFound { looked, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(looked[0], format!("file {}/polaris-oauth.json", dir.str()));
    assert_eq!(looked[1], "env POLARIS_OAUTH");

    // A bootstrap file wins over the default (the seed's motivating bug).
    dir.write(
        "polaris-oauth.json",
        r#"{"client_id": "alphaswarm_runtime", "client_secret": "minted"}"#,
    );
    let credential = resolver
        .resolve_or(&key("polaris:oauth"), default)
        .await
        .unwrap();
    assert_eq!(credential.source(), Source::File);
    assert_eq!(credential.get("client_id"), Some("alphaswarm_runtime"));
}

#[tokio::test]
async fn a_failed_store_is_passed_over_but_never_hidden_by_the_default() {
    let resolver = CredentialResolver::new()
        .with(40, Broken(Source::AwsSecretsManager))
        .with(100, env_store(&[("BROKER_API_KEY", "from-env")]));
    let resolution = resolver
        .resolve_detailed(&key("broker:api_key"), None)
        .await
        .unwrap();
    assert_eq!(resolution.credential.source(), Source::Env);
    assert_eq!(resolution.passed_over.len(), 1);
    assert_eq!(resolution.passed_over[0].source, Source::AwsSecretsManager);

    // Nothing else holds the key: the failure is the answer, not the default.
    let err = resolver
        .resolve_or(&key("other:key"), SecretValue::parse("fallback"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_unreachable");
    let shown = format!("{err} {}", err.hint());
    assert!(
        shown.contains("aws_secrets_manager (priority 40, broken/other:key)"),
        "{shown}"
    );
    assert!(!shown.contains("fallback"), "{shown}");
}

#[tokio::test]
async fn field_maps_assemble_env_fields_and_refuse_incomplete_values() {
    let secret = canary();
    let dir = TempDir::new();
    // A half-written bootstrap file: passed over, and named.
    dir.write("polaris-oauth.json", r#"{"client_id": "runtime"}"#);
    let resolver = CredentialResolver::new()
        .with(30, FileStore::new(&dir.str()).unwrap())
        .with(
            100,
            env_store(&[
                ("POLARIS_OAUTH_CLIENT_ID", "from-env"),
                ("POLARIS_OAUTH_CLIENT_SECRET", &secret),
            ]),
        );
    let resolution = resolver
        .resolve_detailed(&key("polaris:oauth"), None)
        .await
        .unwrap();
    let credential = &resolution.credential;
    assert_eq!(credential.source(), Source::Env);
    assert_eq!(credential.require("client_id").unwrap(), "from-env");
    assert_eq!(credential.require("client_secret").unwrap(), secret);
    assert_eq!(credential.get("principal"), None);
    let failure = &resolution.passed_over[0];
    assert_eq!(failure.error.kind, StoreErrorKind::Incomplete);
    assert!(
        failure.error.detail.contains("lacks client_secret"),
        "{}",
        failure.error.detail
    );

    // Only the incomplete file: an error that names the key and the field.
    let resolver = CredentialResolver::new().with(30, FileStore::new(&dir.str()).unwrap());
    let err = resolver.resolve(&key("polaris:oauth")).await.unwrap_err();
    assert_eq!(err.code(), "credential_incomplete");
    assert!(
        err.to_string()
            .contains("polaris:oauth lacks client_secret"),
        "{err}"
    );
}

#[tokio::test]
async fn require_names_key_and_field_never_the_value() {
    let secret = canary();
    let resolver = CredentialResolver::new().with(100, env_store(&[("BROKER_API_KEY", &secret)]));
    let credential = resolver.resolve(&key("broker:api_key")).await.unwrap();
    // The seed's plain-string payload is exposed as `credential`.
    assert_eq!(credential.get("credential"), Some(secret.as_str()));
    let err = credential.require("api_key").unwrap_err();
    let shown = format!("{err} {err:?} {} {credential:?}", err.hint());
    assert!(
        shown.contains("broker:api_key") && shown.contains("api_key"),
        "{shown}"
    );
    assert_no_canary(&shown, &[&secret]);
}

#[tokio::test]
async fn file_store_reads_json_and_plain_text_and_reports_unreadable_files() {
    let dir = TempDir::new();
    dir.write(
        "neo4j-basic.json",
        r#"{"user": "neo4j", "password": "p", "uri": "bolt://db:7687"}"#,
    );
    dir.write("broker-api_key.json", "sk_live_abcdef1234567890\n");
    std::fs::create_dir_all(dir.path().join("svc-dir.json")).unwrap();
    let store = FileStore::new(&dir.str()).unwrap();
    let resolver = CredentialResolver::new().with(30, FileStore::new(&dir.str()).unwrap());
    assert_eq!(
        resolver
            .resolve(&key("neo4j:basic"))
            .await
            .unwrap()
            .get("uri"),
        Some("bolt://db:7687")
    );
    assert_eq!(
        resolver
            .resolve(&key("broker:api_key"))
            .await
            .unwrap()
            .get("credential"),
        Some("sk_live_abcdef1234567890\n")
    );
    let err = store.fetch(&key("svc:dir")).await.err().unwrap();
    assert_eq!(err.kind, StoreErrorKind::InvalidPayload);
    assert!(store.fetch(&key("svc:absent")).await.unwrap().is_none());
    assert!(FileStore::new("/data/../etc").is_err());
}

// ---------------------------------------------------------------- M2M

async fn m2m_fixture(
    lifetime: Duration,
    clock: Arc<dyn Clock>,
    secret: &str,
) -> (
    M2mStore,
    ClientCredentialsFake,
    alphaswarm_fakes::server::Running,
) {
    let fake = ClientCredentialsFake::new(&["minio:sts"], lifetime);
    fake.add_client("alphaswarm-api", "right-secret");
    let running = serve(fake.router()).await;
    let store = M2mStore::new(
        M2mConfig {
            token_url: format!("{}/oauth2/token", running.url()),
            client_id: "alphaswarm-api".to_owned(),
            client_secret: secret.to_owned(),
            scope: Some("minio:sts".to_owned()),
            audience: None,
            keys: vec![key("minio:sts")],
        },
        http(),
        clock,
    );
    (store, fake, running)
}

#[tokio::test]
async fn m2m_token_wins_and_is_cached_until_near_expiry() {
    let clock = Arc::new(ShiftedClock::default());
    let (store, fake, _running) =
        m2m_fixture(Duration::from_secs(3600), clock.clone(), "right-secret").await;
    let dir = TempDir::new();
    dir.write("minio-sts.json", r#"{"session_token": "stale-bootstrap"}"#);
    let resolver = CredentialResolver::new()
        .with(10, store)
        .with(30, FileStore::new(&dir.str()).unwrap());

    let first = resolver.resolve(&key("minio:sts")).await.unwrap();
    assert_eq!(first.source(), Source::M2m);
    let token = first.require("session_token").unwrap().to_owned();
    assert_eq!(first.get("access_token"), Some(token.as_str()));
    assert!(
        fake.ledger.check(&token).is_some(),
        "the token is one the endpoint issued"
    );
    assert!(first.expires_at().unwrap() > SystemTime::now() + Duration::from_secs(3500));

    // Cached: no second request while far from expiry.
    for _ in 0..5 {
        let again = resolver.resolve(&key("minio:sts")).await.unwrap();
        assert_eq!(again.get("session_token"), Some(token.as_str()));
    }
    assert_eq!(fake.ledger.issued(), 1);

    // Within five minutes of expiry: fetched anew.
    clock.advance(Duration::from_secs(3600 - 299));
    let renewed = resolver.resolve(&key("minio:sts")).await.unwrap();
    assert_ne!(renewed.get("session_token"), Some(token.as_str()));
    assert_eq!(fake.ledger.issued(), 2);

    // Keys the M2M store does not issue fall through to the rest of the chain.
    dir.write("trino-basic.json", r#"{"user": "u", "source": "s"}"#);
    assert_eq!(
        resolver
            .resolve(&key("trino:basic"))
            .await
            .unwrap()
            .source(),
        Source::File
    );
}

#[tokio::test]
async fn m2m_refused_client_is_a_failure_that_names_no_secret() {
    let secret = canary();
    let (store, fake, _running) =
        m2m_fixture(Duration::from_secs(3600), Arc::new(SystemClock), &secret).await;
    let resolver = CredentialResolver::new()
        .with(10, store)
        .with(100, env_store(&[("MINIO_STS_SESSION_TOKEN", "static")]));
    // The env safety net answers, and the M2M failure is reported with it.
    let resolution = resolver
        .resolve_detailed(&key("minio:sts"), None)
        .await
        .unwrap();
    assert_eq!(resolution.credential.source(), Source::Env);
    let failure = &resolution.passed_over[0];
    assert_eq!(failure.error.kind, StoreErrorKind::Unauthenticated);
    assert!(
        failure.error.detail.contains("invalid_client"),
        "{}",
        failure.error.detail
    );
    assert_no_canary(&format!("{failure} {failure:?}"), &[&secret]);
    assert_eq!(fake.ledger.issued(), 0);
}

// ---------------------------------------------------------------- integration store

struct Minted(BTreeMap<String, StoredSecret>);

#[async_trait]
impl IntegrationSecrets for Minted {
    async fn read_secret(&self, key: &CredentialKey) -> Result<Option<StoredSecret>, StoreError> {
        Ok(self.0.get(&key.to_string()).cloned())
    }
    fn settings(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([("backend", "in-memory test store".to_owned())])
    }
}

#[tokio::test]
async fn minted_credentials_resolve_until_they_expire() {
    let clock = Arc::new(ShiftedClock::default());
    let expires_at = SystemTime::now() + Duration::from_secs(900);
    let minted = Minted(BTreeMap::from([(
        "cloud_aws:org:org-acme".to_owned(),
        StoredSecret {
            raw:
                r#"{"access_key_id": "ASIAMINTED", "secret_access_key": "s", "session_token": "t"}"#
                    .to_owned(),
            expires_at: Some(expires_at),
        },
    )]));
    let resolver = CredentialResolver::new()
        .with(20, IntegrationStore::new(Arc::new(minted), clock.clone()))
        .with(100, env_store(&[("CLOUD_AWS_ORG_ORG_ACME", "static")]));
    let k = key("cloud_aws:org:org-acme");
    let credential = resolver.resolve(&k).await.unwrap();
    assert_eq!(credential.source(), Source::IntegrationStore);
    assert_eq!(credential.get("access_key_id"), Some("ASIAMINTED"));
    assert_eq!(credential.expires_at(), Some(expires_at));
    clock.advance(Duration::from_secs(901));
    assert_eq!(resolver.resolve(&k).await.unwrap().source(), Source::Env);
}

// ---------------------------------------------------------------- default chain

fn sources(resolver: &CredentialResolver) -> Vec<(u32, &'static str)> {
    resolver
        .describe()
        .stores
        .iter()
        .map(|s| (s.priority, s.source.as_str()))
        .collect()
}

#[test]
fn the_default_chain_follows_the_environment() {
    let home = TempDir::new();
    let build = |pairs: &[(&str, &str)]| CredentialResolver::from_env(&sandbox_env(&home, pairs));

    // Nothing configured: file then env.
    assert_eq!(sources(&build(&[]).unwrap()), [(30, "file"), (100, "env")]);

    // A cloud's variables without the provider selecting it add nothing.
    let aws_vars = [
        ("ALPHASWARM_AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIA1"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
    ];
    assert_eq!(
        sources(&build(&aws_vars).unwrap()),
        [(30, "file"), (100, "env")]
    );
    let mut gcp = aws_vars.to_vec();
    gcp.extend([
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp"),
        ("ALPHASWARM_GCP_PROJECT_ID", "alphaswarm-prod"),
    ]);
    assert_eq!(
        sources(&build(&gcp).unwrap()),
        [(30, "file"), (40, "gcp_secret_manager"), (100, "env")]
    );

    // Everything: M2M in front, the matching cloud, Vault, env last.
    let mut all = aws_vars.to_vec();
    all.extend([
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
        ("ALPHASWARM_AUTH_M2M_ENABLED", "true"),
        (
            "ALPHASWARM_AUTH_M2M_TOKEN_URL",
            "https://idp.example.com/oauth2/token",
        ),
        ("ALPHASWARM_AUTH_M2M_CLIENT_ID", "api"),
        ("ALPHASWARM_AUTH_M2M_CLIENT_SECRET", "s"),
        ("ALPHASWARM_VAULT_ADDR", "https://vault.example.com"),
        ("ALPHASWARM_VAULT_ROLE_ID", "r"),
        ("ALPHASWARM_VAULT_SECRET_ID", "s"),
    ]);
    assert_eq!(
        sources(&build(&all).unwrap()),
        [
            (10, "m2m"),
            (30, "file"),
            (40, "aws_secrets_manager"),
            (50, "vault"),
            (100, "env")
        ]
    );
    let azure = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "Azure"),
        (
            "ALPHASWARM_AZURE_KEYVAULT_URL",
            "https://alphaswarm-vault.vault.azure.net/",
        ),
        (
            "ALPHASWARM_AZURE_TENANT_ID",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
        ),
    ];
    assert_eq!(
        sources(&build(&azure).unwrap()),
        [(30, "file"), (40, "azure_key_vault"), (100, "env")]
    );
}

#[test]
fn describe_lists_settings_and_never_a_value() {
    let home = TempDir::new();
    let secrets = [canary(), canary(), canary(), canary()];
    let env = sandbox_env(
        &home,
        &[
            ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
            ("ALPHASWARM_AWS_REGION", "eu-west-3"),
            ("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", "team/"),
            ("AWS_ACCESS_KEY_ID", "AKIADESCRIBE"),
            ("AWS_SECRET_ACCESS_KEY", &secrets[0]),
            ("ALPHASWARM_AUTH_M2M_ENABLED", "1"),
            (
                "ALPHASWARM_AUTH_M2M_TOKEN_URL",
                "https://idp.example.com/token",
            ),
            ("ALPHASWARM_AUTH_M2M_CLIENT_ID", "api"),
            ("ALPHASWARM_AUTH_M2M_CLIENT_SECRET", &secrets[1]),
            ("ALPHASWARM_VAULT_ADDR", "https://vault.example.com"),
            ("ALPHASWARM_VAULT_NAMESPACE", "team-a"),
            ("ALPHASWARM_VAULT_ROLE_ID", &secrets[2]),
            ("ALPHASWARM_VAULT_SECRET_ID", &secrets[3]),
            ("BROKER_API_KEY", &secrets[0]),
        ],
    );
    let resolver = CredentialResolver::from_env(&env).unwrap();
    let description = resolver.describe();
    let shown = format!(
        "{description}\n{}",
        serde_json::to_string(&description).unwrap()
    );
    assert_no_canary(
        &shown,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for expected in [
        "region=eu-west-3",
        "prefix=team/",
        "endpoint=https://secretsmanager.eu-west-3.amazonaws.com",
        "credentials=environment (AWS_ACCESS_KEY_ID)",
        "token_url=https://idp.example.com/token",
        "namespace=team-a",
        "auth=approle",
        "mount=secret",
    ] {
        assert!(
            shown.contains(expected),
            "{expected} missing from:\n{shown}"
        );
    }
}

/// Variables set, and the variables the errors must name, in order.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn every_misconfiguration_is_named_once_without_its_value() {
    let home = TempDir::new();
    let secret = canary();
    let cases: &[Case] = &[
        (
            &[("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "oracle")],
            &["ALPHASWARM_DEFAULT_CLOUD_PROVIDER"],
        ),
        (
            &[("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws")],
            &["ALPHASWARM_AWS_REGION"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
                ("ALPHASWARM_AWS_REGION", "mars"),
            ],
            &["ALPHASWARM_AWS_REGION"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
                ("ALPHASWARM_AWS_REGION", "us-east-1"),
                ("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", "bad prefix/"),
            ],
            &["ALPHASWARM_AWS_SECRETSMANAGER_PREFIX"],
        ),
        // No AWS credentials at all (metadata disabled in the sandbox).
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
                ("ALPHASWARM_AWS_REGION", "us-east-1"),
            ],
            &["AWS_ACCESS_KEY_ID"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
                ("ALPHASWARM_AWS_REGION", "us-east-1"),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ],
            &["AWS_ROLE_ARN"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
                ("ALPHASWARM_AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "A"),
                ("AWS_SECRET_ACCESS_KEY", "S"),
                ("AWS_ENDPOINT_URL", "http://proxy.example.com"),
            ],
            &["AWS_ENDPOINT_URL"],
        ),
        (
            &[("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp")],
            &["ALPHASWARM_GCP_PROJECT_ID"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp"),
                ("ALPHASWARM_GCP_PROJECT_ID", "Not_A_Project"),
            ],
            &["ALPHASWARM_GCP_PROJECT_ID"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp"),
                ("ALPHASWARM_GCP_PROJECT_ID", "alphaswarm-prod"),
                ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json"),
            ],
            &["GOOGLE_APPLICATION_CREDENTIALS"],
        ),
        (
            &[("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "azure")],
            &["ALPHASWARM_AZURE_KEYVAULT_URL"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "azure"),
                ("ALPHASWARM_AZURE_KEYVAULT_URL", "http://vault.example.com"),
            ],
            &["ALPHASWARM_AZURE_KEYVAULT_URL"],
        ),
        (
            &[
                ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "azure"),
                ("ALPHASWARM_AZURE_KEYVAULT_URL", "https://v.vault.azure.net"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/t"),
                ("AZURE_CLIENT_ID", "c"),
            ],
            &["AZURE_TENANT_ID"],
        ),
        (
            &[("ALPHASWARM_VAULT_ROLE_ID", "r")],
            &["ALPHASWARM_VAULT_ADDR"],
        ),
        (
            &[
                ("ALPHASWARM_VAULT_ADDR", "https://vault.example.com"),
                ("ALPHASWARM_VAULT_ROLE_ID", "r"),
            ],
            &["ALPHASWARM_VAULT_SECRET_ID"],
        ),
        (
            &[("ALPHASWARM_VAULT_ADDR", "https://vault.example.com")],
            &["ALPHASWARM_VAULT_ROLE_ID"],
        ),
        (
            &[
                ("ALPHASWARM_VAULT_ADDR", "https://vault.example.com"),
                ("VAULT_TOKEN", "t"),
                ("ALPHASWARM_VAULT_MOUNT", "/secret"),
            ],
            &["ALPHASWARM_VAULT_MOUNT"],
        ),
        (
            &[("ALPHASWARM_AUTH_M2M_ENABLED", "maybe")],
            &["ALPHASWARM_AUTH_M2M_ENABLED"],
        ),
        (
            &[("ALPHASWARM_AUTH_M2M_ENABLED", "true")],
            &[
                "ALPHASWARM_AUTH_M2M_TOKEN_URL",
                "ALPHASWARM_AUTH_M2M_CLIENT_ID",
                "ALPHASWARM_AUTH_M2M_CLIENT_SECRET",
            ],
        ),
        (
            &[("ALPHASWARM_BOOTSTRAP_STATE_DIR", "/data/../etc")],
            &["ALPHASWARM_BOOTSTRAP_STATE_DIR"],
        ),
    ];
    for (pairs, variables) in cases {
        // Plant the canary as the value of an unrelated secret variable.
        let mut pairs = pairs.to_vec();
        pairs.push(("ALPHASWARM_AUTH_M2M_CLIENT_SECRET_UNUSED", &secret));
        let env = sandbox_env(&home, &pairs);
        let Err(errors) = CredentialResolver::from_env(&env) else {
            panic!("{pairs:?} was accepted")
        };
        let named: Vec<&str> = errors.0.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(&named, variables, "{pairs:?}: {errors}");
        for error in &errors.0 {
            assert_eq!(error.code(), "invalid_resolver_config");
            assert!(!error.hint.is_empty());
        }
        assert_no_canary(&errors.to_string(), &[&secret]);
    }
    // Errors of different areas are reported together.
    let env = sandbox_env(
        &home,
        &[
            ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp"),
            ("ALPHASWARM_VAULT_ROLE_ID", "r"),
        ],
    );
    assert_eq!(ChainConfig::from_env(&env).unwrap_err().0.len(), 2);
    assert_eq!(config::PRIORITY_INTEGRATION_STORE, 20);
}
