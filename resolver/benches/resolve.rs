//! `cargo bench -p alphaswarm-resolver`: resolve latency per store on
//! loopback, cold (a freshly built chain: connection, login or token
//! exchange, then the read) and cached (the same chain again: pooled
//! connection, cached token), and the chain's overhead over a direct store
//! call. Real moto and OpenBao (started like the tests), the GCP and Azure
//! fakes in-process. Prints figures, asserts nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphaswarm_fakes::azure_key_vault::{KeyVaultFake, TOKEN_EXCHANGE_AUDIENCE};
use alphaswarm_fakes::gcp_secret_manager::{GcpFake, VersionState};
use alphaswarm_fakes::oauth2::{ClientCredentialsFake, JwtIssuer};
use alphaswarm_resolver::clock::SystemClock;
use alphaswarm_resolver::stores::{
    EnvStore, M2mConfig, M2mStore, VaultAuth, VaultConfig, VaultStore,
};
use alphaswarm_resolver::{CredentialKey, CredentialResolver, Environment, SecretStore};
use serde_json::json;
use support::*;

const COLD: usize = 20;
const CACHED: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn figures(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "p50 {:>9.1} µs  p99 {:>9.1} µs",
        percentile(samples, 50.0).as_secs_f64() * 1e6,
        percentile(samples, 99.0).as_secs_f64() * 1e6
    )
}

async fn timed<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        f().await;
        samples.push(start.elapsed());
    }
    samples
}

/// Cold and cached latency of `key` through chains built by `build`.
async fn bench_store(name: &str, key: &CredentialKey, build: impl Fn() -> CredentialResolver) {
    let mut cold = timed(COLD, || {
        let resolver = build();
        async move {
            resolver.resolve(key).await.unwrap();
        }
    })
    .await;
    let resolver = build();
    resolver.resolve(key).await.unwrap();
    let mut cached = timed(CACHED, || async {
        resolver.resolve(key).await.unwrap();
    })
    .await;
    println!(
        "{name:<22} cold {}   cached {}",
        figures(&mut cold),
        figures(&mut cached)
    );
}

/// `CACHED` calls of `store.fetch`, or of `chain.resolve` when given (after one warm-up).
async fn overhead(
    name: &str,
    store: &dyn SecretStore,
    chain: Option<&CredentialResolver>,
    k: &CredentialKey,
) {
    let call = || async {
        match chain {
            Some(chain) => drop(chain.resolve(k).await.unwrap()),
            None => drop(store.fetch(k).await.unwrap().unwrap()),
        }
    };
    call().await;
    let mut samples = timed(CACHED, call).await;
    println!("{name:<22} {}", figures(&mut samples));
}

#[tokio::main]
async fn main() {
    let home = TempDir::new();
    let p = peers();
    println!(
        "resolve latency on loopback; cold = build the chain from the environment + first resolve"
    );
    println!(
        "({COLD} cold chains, then {CACHED} resolves on one chain: pooled connection, cached token)"
    );

    // env and file: in-process.
    let env_only = [("BENCH_KEY", "{\"credential\": \"x\"}")];
    bench_store("env (after file miss)", &key("bench:key"), || {
        CredentialResolver::from_env(&sandbox_env(&home, &env_only)).unwrap()
    })
    .await;
    let dir = TempDir::new();
    dir.write("bench-key.json", r#"{"credential": "x"}"#);
    let file = [("ALPHASWARM_BOOTSTRAP_STATE_DIR", dir.str())];
    let file: Vec<(&str, &str)> = file.iter().map(|(k, v)| (*k, v.as_str())).collect();
    bench_store("file", &key("bench:key"), || {
        CredentialResolver::from_env(&sandbox_env(&home, &file)).unwrap()
    })
    .await;

    // M2M against the client-credentials fake.
    let idp = ClientCredentialsFake::new(&["minio:sts"], Duration::from_secs(3600));
    idp.add_client("bench", "secret");
    let idp_running = serve(idp.router()).await;
    let token_url = format!("{}/oauth2/token", idp_running.url());
    bench_store("m2m (token fake)", &key("minio:sts"), || {
        CredentialResolver::new().with(
            10,
            M2mStore::new(
                M2mConfig {
                    token_url: token_url.clone(),
                    client_id: "bench".into(),
                    client_secret: "secret".into(),
                    scope: Some("minio:sts".into()),
                    audience: None,
                    keys: vec![key("minio:sts")],
                },
                http(),
                Arc::new(SystemClock),
            ),
        )
    })
    .await;

    // AWS Secrets Manager on moto (auth mode, static keys).
    put_aws_secret("alphaswarm/bench/key", r#"{"credential": "x"}"#).await;
    let aws = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "aws"),
        ("ALPHASWARM_AWS_REGION", REGION),
        ("AWS_ENDPOINT_URL", p.moto_url.as_str()),
        ("AWS_ACCESS_KEY_ID", p.reader.0.as_str()),
        ("AWS_SECRET_ACCESS_KEY", p.reader.1.as_str()),
    ];
    bench_store("aws (moto)", &key("bench:key"), || {
        CredentialResolver::from_env(&sandbox_env(&home, &aws)).unwrap()
    })
    .await;

    // Vault KV v2 on OpenBao with AppRole (cold includes the login).
    let (status, _) = bao(
        reqwest::Method::POST,
        "secret/data/alphaswarm/bench/key",
        Some(json!({"data": {"credential": "x"}})),
    )
    .await;
    assert_eq!(status, 200);
    bao(
        reqwest::Method::POST,
        "sys/auth/approle",
        Some(json!({"type": "approle"})),
    )
    .await;
    bao(
        reqwest::Method::PUT,
        "sys/policies/acl/bench",
        Some(json!({"policy": "path \"secret/data/alphaswarm/*\" { capabilities = [\"read\"] }"})),
    )
    .await;
    bao(
        reqwest::Method::POST,
        "auth/approle/role/bench",
        Some(json!({"token_policies": ["bench"], "token_ttl": "1h"})),
    )
    .await;
    let (_, role) = bao(
        reqwest::Method::GET,
        "auth/approle/role/bench/role-id",
        None,
    )
    .await;
    let (_, secret) = bao(
        reqwest::Method::POST,
        "auth/approle/role/bench/secret-id",
        Some(json!({})),
    )
    .await;
    let (role_id, secret_id) = (
        role["data"]["role_id"].as_str().unwrap().to_owned(),
        secret["data"]["secret_id"].as_str().unwrap().to_owned(),
    );
    let vault = [
        ("ALPHASWARM_VAULT_ADDR", p.bao_addr.as_str()),
        ("ALPHASWARM_VAULT_ROLE_ID", role_id.as_str()),
        ("ALPHASWARM_VAULT_SECRET_ID", secret_id.as_str()),
    ];
    bench_store("vault (OpenBao)", &key("bench:key"), || {
        CredentialResolver::from_env(&sandbox_env(&home, &vault)).unwrap()
    })
    .await;

    // GCP Secret Manager fake, service-account key (cold includes the RS256 assertion).
    let gcp = GcpFake::new("alphaswarm-prod", "123456789012");
    let gcp_running = serve(gcp.router()).await;
    gcp.set_base_url(&gcp_running.url());
    gcp.add_version(
        "alphaswarm-bench-key",
        br#"{"credential": "x"}"#,
        VersionState::Enabled,
    );
    gcp.grant_accessor(
        "serviceAccount:bench@alphaswarm-prod.iam.gserviceaccount.com",
        "*",
    );
    let key_path = home
        .write(
            "sa.json",
            &gcp.create_service_account_key("bench@alphaswarm-prod.iam.gserviceaccount.com"),
        )
        .display()
        .to_string();
    let gcp_url = gcp_running.url();
    let gcp_env = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "gcp"),
        ("ALPHASWARM_GCP_PROJECT_ID", "alphaswarm-prod"),
        ("ALPHASWARM_GCP_SECRETMANAGER_ENDPOINT", gcp_url.as_str()),
        ("GOOGLE_APPLICATION_CREDENTIALS", key_path.as_str()),
    ];
    bench_store("gcp (fake, SA key)", &key("bench:key"), || {
        CredentialResolver::from_env(&sandbox_env(&home, &gcp_env)).unwrap()
    })
    .await;

    // Azure Key Vault fake, workload identity.
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let kv = KeyVaultFake::new(tenant);
    let kv_running = serve(kv.router()).await;
    kv.set_base_url(&kv_running.url());
    let issuer = JwtIssuer::new("https://oidc.bench/");
    kv.grant_reader(&kv.add_federated_credential(
        "bench-client",
        &issuer,
        "system:serviceaccount:a:b",
    ));
    kv.set_secret("alphaswarm-bench-key", r#"{"credential": "x"}"#, true, None);
    let token_file = home
        .write(
            "azure-token",
            &issuer.mint(
                "system:serviceaccount:a:b",
                TOKEN_EXCHANGE_AUDIENCE,
                Duration::from_secs(3600),
            ),
        )
        .display()
        .to_string();
    let kv_url = kv_running.url();
    let azure = [
        ("ALPHASWARM_DEFAULT_CLOUD_PROVIDER", "azure"),
        ("ALPHASWARM_AZURE_KEYVAULT_URL", kv_url.as_str()),
        ("AZURE_AUTHORITY_HOST", kv_url.as_str()),
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.as_str()),
        ("AZURE_CLIENT_ID", "bench-client"),
        ("AZURE_TENANT_ID", tenant),
    ];
    bench_store("azure (fake, WI)", &key("bench:key"), || {
        CredentialResolver::from_env(&sandbox_env(&home, &azure)).unwrap()
    })
    .await;

    // Chain overhead: the same store called directly and through a chain.
    println!("\nchain overhead ({CACHED} calls each)");
    let k = key("bench:key");
    let env = Environment::from_pairs([("BENCH_KEY", "x")]);
    let direct = EnvStore::new(env.clone());
    let single = CredentialResolver::new().with(100, EnvStore::new(env.clone()));
    let default_chain = CredentialResolver::from_env(&sandbox_env(
        &home,
        &[
            ("BENCH_KEY", "x"),
            ("ALPHASWARM_BOOTSTRAP_STATE_DIR", "/nonexistent-bootstrap"),
        ],
    ))
    .unwrap();
    overhead("env: direct fetch", &direct, None, &k).await;
    overhead("env: one-store chain", &direct, Some(&single), &k).await;
    overhead("env: file miss + env", &direct, Some(&default_chain), &k).await;
    let vault_env = sandbox_env(&home, &vault);
    let vault_store = VaultStore::new(
        VaultConfig {
            addr: p.bao_addr.clone(),
            namespace: None,
            mount: "secret".into(),
            prefix: "alphaswarm/".into(),
            auth: VaultAuth::AppRole {
                role_id: role_id.clone(),
                secret_id: secret_id.clone(),
            },
        },
        http(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let vault_chain = CredentialResolver::from_env(&vault_env).unwrap();
    overhead("vault: direct fetch", &vault_store, None, &k).await;
    overhead("vault: default chain", &vault_store, Some(&vault_chain), &k).await;
    let mut build = timed(COLD, || async {
        CredentialResolver::from_env(&sandbox_env(&home, &vault)).unwrap();
    })
    .await;
    println!("{:<22} {}", "build chain from env", figures(&mut build));
}
