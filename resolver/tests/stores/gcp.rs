//! GCP Secret Manager against the loopback fake, with each kind of
//! Application Default Credentials: a service account key, workload identity
//! federation (with and without impersonation), the metadata server and an
//! authorized user.

use std::time::Duration;

use alphaswarm_core::CoreError;
use alphaswarm_fakes::gcp_secret_manager::{GcpFake, VersionState};
use alphaswarm_fakes::oauth2::JwtIssuer;
use alphaswarm_fakes::server::Running;
use alphaswarm_resolver::{CredentialResolver, Source};
use serde_json::json;

use crate::support::*;

const PROJECT: &str = "alphaswarm-prod";
const PROJECT_NUMBER: &str = "123456789012";
const SUBJECT: &str = "system:serviceaccount:alphaswarm:resolver";

async fn fake() -> (GcpFake, Running) {
    let fake = GcpFake::new(PROJECT, PROJECT_NUMBER);
    let running = serve(fake.router()).await;
    fake.set_base_url(&running.url());
    (fake, running)
}

fn chain(home: &TempDir, running: &Running, extra: &[(&str, &str)]) -> CredentialResolver {
    let url = running.url();
    let base = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp"),
        ("ALPHASWARM_GCP_PROJECT_ID", PROJECT),
        ("ALPHASWARM_GCP_SECRETMANAGER_ENDPOINT", url.as_str()),
    ];
    default_chain(home, &base, extra)
}

#[tokio::test]
async fn seed_example_with_a_service_account_key_and_every_refusal() {
    let (fake, running) = fake().await;
    let home = TempDir::new();
    let password = canary();
    let account = "resolver@alphaswarm-prod.iam.gserviceaccount.com";
    let principal = format!("serviceAccount:{account}");
    fake.add_version(
        "alphaswarm-postgres-password",
        json!({"password": password, "username": "alphaswarm"})
            .to_string()
            .as_bytes(),
        VersionState::Enabled,
    );
    fake.grant_accessor(&principal, "alphaswarm-postgres-password");
    let key_file = fake.create_service_account_key(account);
    let key_path = home.write("sa.json", &key_file);
    let resolver = chain(
        &home,
        &running,
        &[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            &key_path.display().to_string(),
        )],
    );
    assert!(
        resolver
            .describe()
            .to_string()
            .contains(&format!("service account {account}"))
    );

    let credential = resolver.resolve(&key("postgres:password")).await.unwrap();
    assert_eq!(credential.source(), Source::GcpSecretManager);
    assert_eq!(credential.require("password").unwrap(), password);
    assert_eq!(credential.get("username"), Some("alphaswarm"));
    resolver.resolve(&key("postgres:password")).await.unwrap();
    assert_eq!(fake.ledger.issued(), 1, "the access token is cached");

    // The fake refuses a revoked token with 401: the store takes a new one once.
    fake.ledger.revoke_all();
    resolver.resolve(&key("postgres:password")).await.unwrap();
    assert_eq!(fake.ledger.issued(), 2);

    // Absent (with access): not found, naming the full resource name.
    fake.grant_accessor(&principal, "alphaswarm-absent-key");
    let err = resolver.resolve(&key("absent:key")).await.unwrap_err();
    assert_eq!(err.code(), "credential_not_found");
    assert!(
        err.to_string()
            .contains("projects/alphaswarm-prod/secrets/alphaswarm-absent-key"),
        "{err}"
    );
    // Exists but no accessor role: 403 PERMISSION_DENIED.
    fake.add_version("alphaswarm-other-key", b"x", VersionState::Enabled);
    let err = resolver.resolve(&key("other:key")).await.unwrap_err();
    assert_eq!(err.code(), "store_access_denied", "{err}");
    assert!(err.hint().contains("roles/secretmanager.secretAccessor"));
    // The latest version disabled: FAILED_PRECONDITION.
    fake.grant_accessor(&principal, "alphaswarm-rotated-key");
    fake.add_version("alphaswarm-rotated-key", b"old", VersionState::Enabled);
    fake.add_version("alphaswarm-rotated-key", b"new", VersionState::Disabled);
    let err = resolver.resolve(&key("rotated:key")).await.unwrap_err();
    assert_eq!(err.code(), "store_invalid_payload", "{err}");
    assert!(err.to_string().contains("DISABLED"), "{err}");

    let private_key = serde_json::from_str::<serde_json::Value>(&key_file).unwrap()["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    assert_no_canary(
        &format!("{err} {credential:?} {}", resolver.describe()),
        &[&password, &private_key],
    );
}

#[tokio::test]
async fn workload_identity_federation_with_and_without_impersonation() {
    let (fake, running) = fake().await;
    let home = TempDir::new();
    let url = running.url();
    fake.add_version(
        "alphaswarm-broker-api_key",
        b"sk_live_abcdef1234567890",
        VersionState::Enabled,
    );
    let issuer = JwtIssuer::new("https://oidc.eks.eu-west-3.amazonaws.com/id/CLUSTER");
    let provider = fake.add_oidc_provider("k8s-pool", "cluster", &issuer, &[]);
    let token_path = home.write(
        "token",
        &issuer.mint(
            SUBJECT,
            &format!("https:{provider}"),
            Duration::from_secs(3600),
        ),
    );
    let config = |impersonate: Option<&str>| {
        let mut config = json!({
            "type": "external_account",
            "audience": provider,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": format!("{url}/v1/token"),
            "credential_source": {"file": token_path.display().to_string(), "format": {"type": "text"}},
        });
        if let Some(account) = impersonate {
            config["service_account_impersonation_url"] = json!(format!(
                "{url}/v1/projects/-/serviceAccounts/{account}:generateAccessToken"
            ));
        }
        home.write("wif.json", &config.to_string())
            .display()
            .to_string()
    };

    // Impersonating a service account that the federated subject may use.
    let account = "reader@alphaswarm-prod.iam.gserviceaccount.com";
    fake.create_service_account_key(account);
    fake.grant_workload_identity_user(account, &fake.federated_principal("k8s-pool", SUBJECT));
    fake.grant_accessor(
        &format!("serviceAccount:{account}"),
        "alphaswarm-broker-api_key",
    );
    let resolver = chain(
        &home,
        &running,
        &[("GOOGLE_APPLICATION_CREDENTIALS", &config(Some(account)))],
    );
    assert!(
        resolver
            .describe()
            .to_string()
            .contains("impersonating a service account")
    );
    let credential = resolver.resolve(&key("broker:api_key")).await.unwrap();
    assert_eq!(
        credential.get("credential"),
        Some("sk_live_abcdef1234567890")
    );

    // A service account without the workloadIdentityUser binding.
    let other = "other@alphaswarm-prod.iam.gserviceaccount.com";
    fake.create_service_account_key(other);
    let err = chain(
        &home,
        &running,
        &[("GOOGLE_APPLICATION_CREDENTIALS", &config(Some(other)))],
    )
    .resolve(&key("broker:api_key"))
    .await
    .unwrap_err();
    assert_eq!(err.code(), "store_unauthenticated", "{err}");
    assert!(
        err.to_string()
            .contains("iam.serviceAccounts.getAccessToken"),
        "{err}"
    );
    assert!(
        err.hint().contains("roles/iam.workloadIdentityUser"),
        "{}",
        err.hint()
    );

    // Direct access: the federated principal itself holds the accessor role.
    fake.grant_accessor(
        &fake.federated_principal("k8s-pool", SUBJECT),
        "alphaswarm-broker-api_key",
    );
    let direct = chain(
        &home,
        &running,
        &[("GOOGLE_APPLICATION_CREDENTIALS", &config(None))],
    );
    assert_eq!(
        direct
            .resolve(&key("broker:api_key"))
            .await
            .unwrap()
            .get("credential"),
        Some("sk_live_abcdef1234567890")
    );

    // A token minted for another audience is refused by STS.
    home.write(
        "token",
        &issuer.mint(SUBJECT, "https://example.com", Duration::from_secs(3600)),
    );
    let err = chain(
        &home,
        &running,
        &[("GOOGLE_APPLICATION_CREDENTIALS", &config(None))],
    )
    .resolve(&key("broker:api_key"))
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not match the expected audience"),
        "{err}"
    );
}

#[tokio::test]
async fn the_metadata_server_and_an_authorized_user() {
    let (fake, running) = fake().await;
    let home = TempDir::new();
    let account = "gke-node@alphaswarm-prod.iam.gserviceaccount.com";
    fake.set_metadata_account(account);
    fake.add_version(
        "alphaswarm-trino-basic",
        br#"{"user": "svc", "source": "alphaswarm"}"#,
        VersionState::Enabled,
    );
    fake.grant_accessor(&format!("serviceAccount:{account}"), "*");
    let host = running.addr.to_string();
    let resolver = chain(&home, &running, &[("GCE_METADATA_HOST", &host)]);
    assert!(
        resolver
            .describe()
            .to_string()
            .contains(&format!("the metadata server at {host}"))
    );
    assert_eq!(
        resolver
            .resolve(&key("trino:basic"))
            .await
            .unwrap()
            .get("user"),
        Some("svc")
    );

    // gcloud's well-known file under CLOUDSDK_CONFIG (application-default login).
    let secret = canary();
    fake.add_authorized_user("client-1", &secret, "refresh-1", "operator@example.com");
    fake.grant_accessor("user:operator@example.com", "alphaswarm-trino-basic");
    let config_dir = TempDir::new();
    config_dir.write(
        "application_default_credentials.json",
        &json!({"type": "authorized_user", "client_id": "client-1", "client_secret": secret,
                "refresh_token": "refresh-1", "token_uri": format!("{}/token", running.url())})
        .to_string(),
    );
    let resolver = chain(&home, &running, &[("CLOUDSDK_CONFIG", &config_dir.str())]);
    assert_eq!(
        resolver
            .resolve(&key("trino:basic"))
            .await
            .unwrap()
            .get("source"),
        Some("alphaswarm")
    );
    assert_no_canary(&resolver.describe().to_string(), &[&secret]);
}
