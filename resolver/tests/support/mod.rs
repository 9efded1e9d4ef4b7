//! Shared by the resolver's integration tests: the real peers (moto and
//! OpenBao, started once per test binary or once per test area by
//! scripts/test-resolver.sh via `ALPHASWARM_TEST_PEERS`), loopback fakes,
//! temporary directories, canaries and environments that can reach nothing
//! but loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use alphaswarm_resolver::auth::aws::{AwsCredentialChain, AwsCredentials};
use alphaswarm_resolver::clock::SystemClock;
use alphaswarm_resolver::stores::AwsSecretsManagerStore;
use alphaswarm_resolver::{CredentialKey, CredentialResolver, Environment};
use serde_json::Value;

pub const REGION: &str = "us-east-1";

pub struct Peers {
    pub moto_url: String,
    pub admin: (String, String),
    pub reader: (String, String),
    pub denied: (String, String),
    pub irsa_role_arn: String,
    pub irsa_issuer: String,
    pub irsa_subject: String,
    pub bao_addr: String,
    pub bao_token: String,
}

static PEERS: OnceLock<Peers> = OnceLock::new();
/// The launcher, kept for the life of the test process: its stdin closes when
/// the process exits, however it exits, and the launcher then stops both peers.
static LAUNCHER: Mutex<Option<Child>> = Mutex::new(None);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// moto and OpenBao: the area's shared ones (`ALPHASWARM_TEST_PEERS`), else
/// started once for this test binary.
pub fn peers() -> &'static Peers {
    PEERS.get_or_init(|| {
        let line = match std::env::var("ALPHASWARM_TEST_PEERS") {
            Ok(line) if !line.trim().is_empty() => line,
            _ => launch(),
        };
        let v: Value = serde_json::from_str(&line).expect("peers JSON");
        let pair = |name: &str| {
            (
                v["moto_keys"][name][0].as_str().unwrap().to_owned(),
                v["moto_keys"][name][1].as_str().unwrap().to_owned(),
            )
        };
        let text = |name: &str| v[name].as_str().unwrap().to_owned();
        Peers {
            moto_url: text("moto_url"),
            admin: pair("admin"),
            reader: pair("reader"),
            denied: pair("denied"),
            irsa_role_arn: text("irsa_role_arn"),
            irsa_issuer: text("irsa_issuer"),
            irsa_subject: text("irsa_subject"),
            bao_addr: text("bao_addr"),
            bao_token: text("bao_token"),
        }
    })
}

fn launch() -> String {
    let python = root().join(".venv/bin/python");
    assert!(
        root().join(".venv/bin/bao").exists(),
        "moto/OpenBao are not installed: run `bash scripts/test.sh resolver` once (or `source scripts/lib.sh; ensure_openbao`)"
    );
    let mut child = Command::new(python)
        .arg(root().join("resolver/tests/support/peers.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the peers launcher");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("peers line");
    assert!(
        !line.trim().is_empty(),
        "the peers launcher exited without starting"
    );
    // Keep draining so the launcher never blocks on a full pipe.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    *LAUNCHER.lock().unwrap() = Some(child);
    line
}

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("alphaswarm-resolver-{}", random_hex(8)));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
    pub fn str(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::Rng::fill(&mut rand::rng(), &mut buf[..]);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A unique secret-looking value that must never be printed.
pub fn canary() -> String {
    format!("CANARY{}", random_hex(12))
}

/// An environment that can reach nothing but loopback: no home directory
/// with real cloud credentials, and every metadata service moved to a closed
/// loopback port, so no identity chain ever tries a link-local address.
pub fn sandbox_env(home: &TempDir, pairs: &[(&str, &str)]) -> Environment {
    let mut env = Environment::from_pairs([
        ("HOME", home.str()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://127.0.0.1:9".to_owned(),
        ),
        ("GCE_METADATA_HOST", "127.0.0.1:9".to_owned()),
        (
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "http://127.0.0.1:9".to_owned(),
        ),
    ]);
    for (name, value) in pairs {
        env.set(*name, *value);
    }
    env
}

pub fn key(text: &str) -> CredentialKey {
    text.parse().unwrap()
}

/// The default chain for `base` + `extra` in a sandbox, with an empty file store.
pub fn default_chain(
    home: &TempDir,
    base: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> CredentialResolver {
    let mut pairs = base.to_vec();
    pairs.push(("ALPHASWARM_BOOTSTRAP_STATE_DIR", "/nonexistent-bootstrap"));
    pairs.extend_from_slice(extra);
    CredentialResolver::from_env(&sandbox_env(home, &pairs)).unwrap()
}

pub fn http() -> reqwest::Client {
    alphaswarm_resolver::http::client().unwrap()
}

/// A Secrets Manager client as moto's administrator, to seed secrets.
pub fn moto_admin() -> (AwsSecretsManagerStore, AwsCredentials) {
    let p = peers();
    let home = TempDir::new();
    let env = sandbox_env(
        &home,
        &[
            ("AWS_ACCESS_KEY_ID", &p.admin.0),
            ("AWS_SECRET_ACCESS_KEY", &p.admin.1),
        ],
    );
    let chain = AwsCredentialChain::from_env(&env, REGION, http(), Arc::new(SystemClock)).unwrap();
    let credentials = AwsCredentials {
        access_key_id: p.admin.0.clone(),
        secret_access_key: p.admin.1.clone(),
        session_token: None,
    };
    let store = AwsSecretsManagerStore::new("", REGION, p.moto_url.clone(), chain, http()).unwrap();
    (store, credentials)
}

/// Creates (or overwrites) a Secrets Manager secret as the administrator.
pub async fn put_aws_secret(name: &str, value: &str) {
    let (admin, credentials) = moto_admin();
    let (status, body) = admin
        .call(
            &credentials,
            "CreateSecret",
            &serde_json::json!({ "Name": name, "SecretString": value }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "CreateSecret {name}: {body}");
}

/// A root-token call to OpenBao; returns status and JSON body.
pub async fn bao(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    bao_as(&peers().bao_token, method, path, body).await
}

pub async fn bao_as(
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http()
        .request(method, format!("{}/v1/{path}", peers().bao_addr))
        .header("x-vault-token", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Serves a fake router on loopback.
pub async fn serve(router: axum::Router) -> alphaswarm_fakes::server::Running {
    alphaswarm_fakes::server::serve(router, 0).await.unwrap()
}

/// Asserts that `text` carries none of `canaries`.
pub fn assert_no_canary(text: &str, canaries: &[&str]) {
    for canary in canaries {
        assert!(!text.contains(canary), "a secret leaked into: {text}");
    }
}
