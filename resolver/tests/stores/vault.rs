//! Vault KV v2 on a real OpenBao dev server: AppRole login, a read-only
//! policy, a custom mount, a namespace, token renewal, revocation and expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alphaswarm_resolver::clock::{Clock, ShiftedClock, SystemClock};
use alphaswarm_resolver::stores::{VaultAuth, VaultConfig, VaultStore};
use alphaswarm_resolver::{CredentialResolver, SecretStore, Source};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// An AppRole whose tokens may read `paths` only (root's view: namespace
/// `ns` when given). Returns (role_id, secret_id).
async fn approle(
    ns: Option<&str>,
    paths: &[String],
    token_ttl: &str,
    token_max_ttl: &str,
) -> (String, String) {
    let prefix = ns.map(|n| format!("{n}/")).unwrap_or_default();
    // Enabling twice answers 400 "path is already in use": fine.
    bao(
        Method::POST,
        &format!("{prefix}sys/auth/approle"),
        Some(json!({"type": "approle"})),
    )
    .await;
    let name = format!("resolver-{}", random_hex(4));
    let policy: String = paths
        .iter()
        .map(|p| format!("path \"{p}\" {{ capabilities = [\"read\"] }}\n"))
        .collect();
    let (status, body) = bao(
        Method::PUT,
        &format!("{prefix}sys/policies/acl/{name}"),
        Some(json!({"policy": policy})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = bao(
        Method::POST,
        &format!("{prefix}auth/approle/role/{name}"),
        Some(json!({"token_policies": [name], "token_ttl": token_ttl, "token_max_ttl": token_max_ttl})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, role) = bao(
        Method::GET,
        &format!("{prefix}auth/approle/role/{name}/role-id"),
        None,
    )
    .await;
    let (_, secret) = bao(
        Method::POST,
        &format!("{prefix}auth/approle/role/{name}/secret-id"),
        None,
    )
    .await;
    (
        role["data"]["role_id"].as_str().unwrap().to_owned(),
        secret["data"]["secret_id"].as_str().unwrap().to_owned(),
    )
}

async fn write(path: &str, data: Value) {
    let (status, body) = bao(Method::POST, path, Some(json!({ "data": data }))).await;
    assert_eq!(status, 200, "write {path}: {body}");
}

fn store(
    role: &(String, String),
    mount: &str,
    namespace: Option<&str>,
    clock: Arc<dyn Clock>,
) -> VaultStore {
    VaultStore::new(
        VaultConfig {
            addr: peers().bao_addr.clone(),
            namespace: namespace.map(str::to_owned),
            mount: mount.to_owned(),
            prefix: "alphaswarm/".to_owned(),
            auth: VaultAuth::AppRole {
                role_id: role.0.clone(),
                secret_id: role.1.clone(),
            },
        },
        http(),
        clock,
    )
    .unwrap()
}

#[tokio::test]
async fn seed_example_resolves_through_the_default_chain_with_approle() {
    let home = TempDir::new();
    let password = canary();
    write(
        "secret/data/alphaswarm/redis/password",
        json!({ "password": password }),
    )
    .await;
    let role = approle(
        None,
        &["secret/data/alphaswarm/redis/*".to_owned()],
        "60s",
        "10m",
    )
    .await;
    let env = sandbox_env(
        &home,
        &[
            ("ALPHASWARM_VAULT_ADDR", &peers().bao_addr),
            ("ALPHASWARM_VAULT_MOUNT", "secret"),
            ("ALPHASWARM_VAULT_ROLE_ID", &role.0),
            ("ALPHASWARM_VAULT_SECRET_ID", &role.1),
        ],
    );
    let resolver = CredentialResolver::from_env(&env).unwrap();
    let credential = resolver.resolve(&key("redis:password")).await.unwrap();
    assert_eq!(credential.source(), Source::Vault);
    assert_eq!(credential.require("password").unwrap(), password);
    let located = resolver.locate(&key("redis:password"));
    assert!(located.iter().any(|(_, s, n)| *s == Source::Vault
        && n.as_deref() == Ok("secret/data/alphaswarm/redis/password")));
    assert_no_canary(
        &format!("{credential:?} {} {env:?}", resolver.describe()),
        &[&password, &role.0, &role.1],
    );
}

#[tokio::test]
async fn the_policy_allows_read_only_and_refusals_are_named() {
    let service = format!("svc{}", random_hex(3));
    write(
        &format!("secret/data/alphaswarm/{service}/token"),
        json!({ "token": "t" }),
    )
    .await;
    write(
        "secret/data/alphaswarm/forbidden/token",
        json!({ "token": "no" }),
    )
    .await;
    let role = approle(
        None,
        &[format!("secret/data/alphaswarm/{service}/*")],
        "60s",
        "10m",
    )
    .await;
    let store = store(&role, "secret", None, Arc::new(SystemClock));
    let found = store
        .fetch(&key(&format!("{service}:token")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.value.get("token"), Some(&json!("t")));
    // Allowed but absent: not found.
    assert!(
        store
            .fetch(&key(&format!("{service}:absent")))
            .await
            .unwrap()
            .is_none()
    );
    // Outside the policy: a refusal, not "absent".
    let err = store.fetch(&key("forbidden:token")).await.err().unwrap();
    assert_eq!(err.kind.code(), "store_access_denied", "{err}");
    assert!(err.detail.contains("permission denied"), "{}", err.detail);
    assert_eq!(
        store.stats().await.logins,
        1,
        "a policy refusal is not mistaken for a dead token"
    );

    // The same role's token cannot write.
    let (_, login) = bao(
        Method::POST,
        "auth/approle/login",
        Some(json!({"role_id": role.0, "secret_id": role.1})),
    )
    .await;
    let token = login["auth"]["client_token"].as_str().unwrap();
    let (status, _) = bao_as(
        token,
        Method::POST,
        &format!("secret/data/alphaswarm/{service}/token"),
        Some(json!({"data": {"token": "x"}})),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_custom_mount_and_a_namespace() {
    let id = random_hex(3);
    // A namespace-free mount at a path of its own.
    let mount = format!("kv-{id}");
    let (status, body) = bao(
        Method::POST,
        &format!("sys/mounts/{mount}"),
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    write(
        &format!("{mount}/data/alphaswarm/neo4j/basic"),
        json!({"user": "neo4j", "password": "p", "uri": "bolt://db"}),
    )
    .await;
    let role = approle(None, &[format!("{mount}/data/alphaswarm/*")], "60s", "10m").await;
    let credential = CredentialResolver::new()
        .with(50, store(&role, &mount, None, Arc::new(SystemClock)))
        .resolve(&key("neo4j:basic"))
        .await
        .unwrap();
    assert_eq!(credential.get("uri"), Some("bolt://db"));

    // The same layout inside a namespace (X-Vault-Namespace on every call).
    let ns = format!("team-{id}");
    let (status, body) = bao(
        Method::POST,
        &format!("sys/namespaces/{ns}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = bao(
        Method::POST,
        &format!("{ns}/sys/mounts/secret"),
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    write(
        &format!("{ns}/secret/data/alphaswarm/redis/password"),
        json!({"password": "in-namespace"}),
    )
    .await;
    let role = approle(
        Some(&ns),
        &["secret/data/alphaswarm/*".to_owned()],
        "60s",
        "10m",
    )
    .await;
    let in_namespace = store(&role, "secret", Some(&ns), Arc::new(SystemClock));
    let found = in_namespace
        .fetch(&key("redis:password"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.value.get("password"), Some(&json!("in-namespace")));
    // Without the namespace the role does not exist.
    let err = store(&role, "secret", None, Arc::new(SystemClock))
        .fetch(&key("redis:password"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind.code(), "store_unauthenticated", "{err}");
}

async fn lookup_accessor(accessor: &str) -> (u16, Value) {
    bao(
        Method::POST,
        "auth/token/lookup-accessor",
        Some(json!({ "accessor": accessor })),
    )
    .await
}

#[tokio::test]
async fn the_token_is_renewed_before_expiry_and_replaced_when_revoked_or_expired() {
    let service = format!("svc{}", random_hex(3));
    write(
        &format!("secret/data/alphaswarm/{service}/token"),
        json!({ "token": "t" }),
    )
    .await;
    let paths = [format!("secret/data/alphaswarm/{service}/*")];
    let k = key(&format!("{service}:token"));

    // Renewal: an hour-long token, the store's clock moved to 2/3 of its lease.
    let clock = Arc::new(ShiftedClock::default());
    let role = approle(None, &paths, "1h", "24h").await;
    let renewing = store(&role, "secret", None, clock.clone());
    renewing.fetch(&k).await.unwrap().unwrap();
    let first = renewing.stats().await;
    assert_eq!((first.logins, first.renewals), (1, 0));
    let accessor = first.accessor.clone().unwrap();
    clock.advance(Duration::from_secs(2500));
    renewing.fetch(&k).await.unwrap().unwrap();
    let renewed = renewing.stats().await;
    assert_eq!((renewed.logins, renewed.renewals), (1, 1));
    assert_eq!(
        renewed.accessor.as_deref(),
        Some(accessor.as_str()),
        "renewed, not replaced"
    );
    let (_, info) = lookup_accessor(&accessor).await;
    assert!(
        info["data"]["last_renewal_time"].as_i64().unwrap_or(0) > 0,
        "OpenBao saw the renewal: {info}"
    );

    // Revoked server-side while the store believes it valid: 403, one fresh login.
    let (status, _) = bao(
        Method::POST,
        "auth/token/revoke-accessor",
        Some(json!({ "accessor": accessor })),
    )
    .await;
    assert_eq!(status, 204);
    renewing.fetch(&k).await.unwrap().unwrap();
    let after = renewing.stats().await;
    assert_eq!(after.logins, 2);
    assert_ne!(after.accessor.as_deref(), Some(accessor.as_str()));

    // Real expiry: a 2-second token (max 2 s, so renewal cannot help).
    let role = approle(None, &paths, "2s", "2s").await;
    let expiring = store(&role, "secret", None, Arc::new(SystemClock));
    expiring.fetch(&k).await.unwrap().unwrap();
    let accessor = expiring.stats().await.accessor.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lookup_accessor(&accessor).await.0 == 200 {
        assert!(Instant::now() < deadline, "OpenBao never expired the token");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = expiring.fetch(&k).await.unwrap().unwrap();
    assert_eq!(found.value.get("token"), Some(&json!("t")));
    assert_eq!(expiring.stats().await.logins, 2);
}
