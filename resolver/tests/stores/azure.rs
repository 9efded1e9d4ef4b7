//! Azure Key Vault against the loopback fake, with workload identity, managed
//! identity (IMDS and App Service) and a client secret.

use std::time::{Duration, SystemTime};

use alphaswarm_core::CoreError;
use alphaswarm_fakes::azure_key_vault::{KeyVaultFake, TOKEN_EXCHANGE_AUDIENCE};
use alphaswarm_fakes::oauth2::JwtIssuer;
use alphaswarm_fakes::server::Running;
use alphaswarm_resolver::{CredentialResolver, Source};

use crate::support::*;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "0f4a1a9e-1d42-4d55-9a53-3e3b2f9e6c01";
const SUBJECT: &str = "system:serviceaccount:alphaswarm:resolver";

async fn fake() -> (KeyVaultFake, Running) {
    let fake = KeyVaultFake::new(TENANT);
    let running = serve(fake.router()).await;
    fake.set_base_url(&running.url());
    (fake, running)
}

fn chain(home: &TempDir, running: &Running, extra: &[(&str, &str)]) -> CredentialResolver {
    let url = running.url();
    let base = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "azure"),
        ("ALPHASWARM_AZURE_KEYVAULT_URL", url.as_str()),
        ("AZURE_AUTHORITY_HOST", url.as_str()),
    ];
    default_chain(home, &base, extra)
}

fn workload_identity(token_file: &str) -> [(&'static str, &str); 3] {
    [
        ("AZURE_FEDERATED_TOKEN_FILE", token_file),
        ("AZURE_CLIENT_ID", CLIENT_ID),
        ("AZURE_TENANT_ID", TENANT),
    ]
}

#[tokio::test]
async fn seed_example_with_workload_identity_and_every_refusal() {
    let (fake, running) = fake().await;
    let home = TempDir::new();
    let secret = canary();
    let issuer =
        JwtIssuer::new("https://oidc.prod-aks.azure.com/3f1c5a52-4b7e-4d3e-9a4b-1c2d3e4f5a6b/");
    let object_id = fake.add_federated_credential(CLIENT_ID, &issuer, SUBJECT);
    fake.grant_reader(&object_id);
    let expiry = 4_102_444_800; // 2100-01-01
    fake.set_secret(
        "alphaswarm-msal-clientsecret",
        &format!(r#"{{"client_secret": "{secret}"}}"#),
        true,
        Some(expiry),
    );
    let token = issuer.mint(SUBJECT, TOKEN_EXCHANGE_AUDIENCE, Duration::from_secs(3600));
    let token_file = home
        .write("azure-identity-token", &token)
        .display()
        .to_string();
    let resolver = chain(&home, &running, &workload_identity(&token_file));
    assert!(
        resolver
            .describe()
            .to_string()
            .contains("workload identity (AZURE_FEDERATED_TOKEN_FILE)")
    );

    let credential = resolver.resolve(&key("msal:client_secret")).await.unwrap();
    assert_eq!(credential.source(), Source::AzureKeyVault);
    assert_eq!(credential.require("client_secret").unwrap(), secret);
    assert_eq!(
        credential.expires_at(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(expiry))
    );
    resolver.resolve(&key("msal:client_secret")).await.unwrap();
    assert_eq!(fake.ledger.issued(), 1, "the token is cached");

    // A revoked token meets the vault's 401 challenge; one fresh token follows.
    fake.ledger.revoke_all();
    resolver.resolve(&key("msal:client_secret")).await.unwrap();
    assert_eq!(fake.ledger.issued(), 2);

    // 404 SecretNotFound: not found, naming the vault's secret name.
    let err = resolver.resolve(&key("absent:key")).await.unwrap_err();
    assert_eq!(err.code(), "credential_not_found");
    assert!(
        err.to_string()
            .contains("azure_key_vault alphaswarm-absent-key"),
        "{err}"
    );
    // A disabled secret.
    fake.set_secret("alphaswarm-old-key", "x", false, None);
    let err = resolver.resolve(&key("old:key")).await.unwrap_err();
    assert_eq!(err.code(), "store_invalid_payload", "{err}");
    assert_no_canary(
        &format!("{credential:?} {err} {}", resolver.describe()),
        &[&secret, &token],
    );
}

#[tokio::test]
async fn identities_entra_or_the_vault_refuse() {
    let (fake, running) = fake().await;
    let home = TempDir::new();
    fake.set_secret("alphaswarm-msal-clientsecret", "x", true, None);
    let issuer = JwtIssuer::new("https://oidc.prod-aks.azure.com/cluster/");
    // The federated credential names another service account: AADSTS700213.
    fake.add_federated_credential(CLIENT_ID, &issuer, "system:serviceaccount:other:sa");
    let token_file = home
        .write(
            "t",
            &issuer.mint(SUBJECT, TOKEN_EXCHANGE_AUDIENCE, Duration::from_secs(3600)),
        )
        .display()
        .to_string();
    let err = chain(&home, &running, &workload_identity(&token_file))
        .resolve(&key("msal:client_secret"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_unauthenticated", "{err}");
    assert!(err.to_string().contains("AADSTS700213"), "{err}");

    // An expired projected token: AADSTS700024.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fake.add_federated_credential(CLIENT_ID, &issuer, SUBJECT);
    home.write(
        "t",
        &issuer.mint_claims(serde_json::json!({"iss": issuer.issuer, "sub": SUBJECT, "aud": TOKEN_EXCHANGE_AUDIENCE, "iat": now - 7200, "exp": now - 3600})),
    );
    let err = chain(&home, &running, &workload_identity(&token_file))
        .resolve(&key("msal:client_secret"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS700024"), "{err}");

    // A valid identity without the Key Vault Secrets User role: 403.
    home.write(
        "t",
        &issuer.mint(SUBJECT, TOKEN_EXCHANGE_AUDIENCE, Duration::from_secs(3600)),
    );
    let err = chain(&home, &running, &workload_identity(&token_file))
        .resolve(&key("msal:client_secret"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_access_denied", "{err}");
    assert!(err.to_string().contains("ForbiddenByRbac"), "{err}");
    assert!(err.hint().contains("Key Vault Secrets User"));

    // The vault itself answers a bare request with the bearer challenge.
    let response = http()
        .get(format!(
            "{}/secrets/alphaswarm-msal-clientsecret?api-version=7.5",
            running.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(&format!(
            "Bearer authorization=\"{}/{TENANT}\"",
            running.url()
        )),
        "{challenge}"
    );
    assert!(
        challenge.contains("resource=\"https://vault.azure.net\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn managed_identity_and_a_client_secret() {
    let (fake, running) = fake().await;
    let home = TempDir::new();
    fake.set_secret(
        "alphaswarm-neo4j-basic",
        r#"{"user": "neo4j", "password": "p", "uri": "bolt://db"}"#,
        true,
        None,
    );
    let url = running.url();

    // IMDS, system-assigned (AZURE_POD_IDENTITY_AUTHORITY_HOST moves IMDS).
    fake.grant_reader(&fake.add_managed_identity(None));
    let resolver = chain(
        &home,
        &running,
        &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &url)],
    );
    assert!(
        resolver
            .describe()
            .to_string()
            .contains("system-assigned managed identity (IMDS")
    );
    assert_eq!(
        resolver
            .resolve(&key("neo4j:basic"))
            .await
            .unwrap()
            .get("uri"),
        Some("bolt://db")
    );

    // App Service / Container Apps, user-assigned.
    fake.grant_reader(&fake.add_managed_identity(Some("uami-client")));
    let endpoint = format!("{url}/msi/token");
    let header = fake.identity_header();
    let resolver = chain(
        &home,
        &running,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", &header),
            ("AZURE_CLIENT_ID", "uami-client"),
        ],
    );
    assert_eq!(
        resolver
            .resolve(&key("neo4j:basic"))
            .await
            .unwrap()
            .get("user"),
        Some("neo4j")
    );

    // A service principal's client secret.
    let secret = canary();
    fake.grant_reader(&fake.add_app_with_secret("sp-client", &secret));
    let env = [
        ("AZURE_CLIENT_ID", "sp-client"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_SECRET", secret.as_str()),
    ];
    let resolver = chain(&home, &running, &env);
    assert_eq!(
        resolver
            .resolve(&key("neo4j:basic"))
            .await
            .unwrap()
            .get("password"),
        Some("p")
    );
    assert_no_canary(&resolver.describe().to_string(), &[&secret]);
    // The wrong secret: AADSTS7000215, without echoing it.
    let wrong = canary();
    let env = [
        ("AZURE_CLIENT_ID", "sp-client"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_SECRET", wrong.as_str()),
    ];
    let err = chain(&home, &running, &env)
        .resolve(&key("neo4j:basic"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert_no_canary(&format!("{err} {err:?}"), &[&wrong, &secret]);
}
