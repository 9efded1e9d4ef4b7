//! Shared test harness: an in-process proxy on 127.0.0.1:0 with the fake
//! AWS, the operator's credentials read back from the state dir, and a
//! helper that mints tokens with the proxy's own signing key (to build
//! stale, mis-scoped or expired sessions without waiting).
#![allow(dead_code)]

use alphaswarm_proxy::app::{AppState, build_state};
use alphaswarm_proxy::audit::{AuditSink, VerifyReport};
use alphaswarm_proxy::config::{self, Config};
use alphaswarm_proxy::db::audit::DbAuditSink;
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, Pool};
use alphaswarm_proxy::providers::fake_aws::{FakeAws, FakeRole, UnknownRoles};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub const PARTNER: &str = "111122223333";
pub const CUSTOMER: &str = "210987654321";
pub const EXTERNAL_ID_SECRET: &str = "test-external-id-secret-0123456789abcdef";

pub struct TestProxy {
    pub base: String,
    pub fake: Arc<FakeAws>,
    pub state: AppState,
    /// The background re-check, when the test set a health interval.
    pub sweeper: Option<alphaswarm_proxy::health::sweep::Sweeper>,
    pub http: reqwest::Client,
    pub dir: PathBuf,
    pub password: String,
    pub totp: totp_rs::TOTP,
    pub integrations_key: String,
    /// The proxy's database (SQLite in its state dir unless the test set a URL).
    pub database: Database,
    signing_key: Vec<u8>,
}

/// A test-side HTTP client (reqwest needs the process's TLS provider first).
pub fn http_client() -> reqwest::Client {
    alphaswarm_proxy::aws::ensure_tls_provider();
    reqwest::Client::new()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("alphaswarm-proxy-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

pub fn external_id_for(org: &str) -> String {
    let org = alphaswarm_core::OrgId::parse(org).unwrap();
    alphaswarm_core::external_id::derive_external_id(
        EXTERNAL_ID_SECRET.as_bytes(),
        alphaswarm_core::CloudKind::Aws,
        &org,
    )
    .unwrap()
    .to_string()
}

/// A role whose trust policy is right for `org`.
pub fn good_role(org: &str) -> FakeRole {
    FakeRole {
        account: CUSTOMER.to_owned(),
        required_external_id: Some(external_id_for(org)),
        settle_failures: 0,
        allowed_actions: vec![
            "sts:GetCallerIdentity".into(),
            "iam:GetRole".into(),
            "ec2:DescribeRegions".into(),
        ],
    }
}

/// The settings of an in-process proxy rooted at `dir`: loopback bind,
/// state, store, audit and web dir under `dir`, the partner and the secret.
pub fn in_process_env(
    dir: &std::path::Path,
    integrations_key: &str,
    partner: &str,
    external_id_secret: &str,
) -> HashMap<String, String> {
    let under = |name: &str| dir.join(name).display().to_string();
    HashMap::from([
        (config::BIND.into(), "127.0.0.1:0".into()),
        (config::STATE_DIR.into(), under("state")),
        (config::INTEGRATIONS_PATH.into(), under("integrations.json")),
        (config::INTEGRATIONS_KEY.into(), integrations_key.to_owned()),
        (config::AUDIT_PATH.into(), under("audit.jsonl")),
        (config::WEB_DIR.into(), under("web")),
        (config::PARTNER_ACCOUNT_ID.into(), partner.to_owned()),
        (
            config::EXTERNAL_ID_SECRET.into(),
            external_id_secret.to_owned(),
        ),
        // No background re-check unless a test asks for one.
        (config::HEALTH_INTERVAL.into(), "0".into()),
    ])
}

impl TestProxy {
    pub async fn start(name: &str) -> TestProxy {
        Self::start_with(name, &[]).await
    }

    /// Starts with extra env-style settings (override the defaults below).
    pub async fn start_with(name: &str, extra: &[(&str, &str)]) -> TestProxy {
        let extra: Vec<(&str, String)> = extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Self::start_seeded(name, &extra, Vec::new()).await
    }

    /// [`Self::start_with`] on a listener bound by the caller, who may need
    /// the address first (the federation issuer's URL names it).
    pub async fn start_on(
        name: &str,
        listener: tokio::net::TcpListener,
        extra: &[(&str, &str)],
    ) -> TestProxy {
        let extra: Vec<(&str, String)> = extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Self::start_seeded_on(name, listener, &extra, Vec::new()).await
    }

    /// As [`Self::start_with`], with `records` in the store before start.
    pub async fn start_seeded(
        name: &str,
        extra: &[(&str, String)],
        records: Vec<alphaswarm_proxy::store::StoredIntegration>,
    ) -> TestProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_seeded_on(name, listener, extra, records).await
    }

    async fn start_seeded_on(
        name: &str,
        listener: tokio::net::TcpListener,
        extra: &[(&str, String)],
        records: Vec<alphaswarm_proxy::store::StoredIntegration>,
    ) -> TestProxy {
        let dir = temp_dir(name);
        let integrations_key = alphaswarm_proxy::store::FernetFileStore::generate_key();
        if !records.is_empty() {
            alphaswarm_proxy::store::FernetFileStore::open(
                dir.join("integrations.json"),
                &integrations_key,
            )
            .unwrap()
            .put_many(records)
            .await
            .unwrap();
        }
        let mut vars = in_process_env(&dir, &integrations_key, PARTNER, EXTERNAL_ID_SECRET);
        vars.insert(config::AWS_SETTLE_SECONDS.into(), "0".into());
        for (k, v) in extra {
            if v.is_empty() {
                vars.remove(*k);
            } else {
                vars.insert((*k).to_owned(), (*v).to_owned());
            }
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let fake = Arc::new(FakeAws::new(UnknownRoles::NotFound));
        let (state, notes) = build_state(config, fake.clone()).await.unwrap();
        let database = state.database.clone();
        let enrollment = notes.enrollment.expect("first start enrols the operator");
        let totp = totp_rs::TOTP::from_url(&enrollment.otpauth_uri).unwrap();
        let operator: Value =
            serde_json::from_slice(&std::fs::read(dir.join("state/operator.json")).unwrap())
                .unwrap();
        let signing_key = base64::engine::general_purpose::STANDARD
            .decode(operator["token_signing_key"].as_str().unwrap())
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sweeper = alphaswarm_proxy::health::sweep::spawn(state.clone());
        let app = alphaswarm_proxy::routes::router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestProxy {
            base,
            fake,
            state,
            sweeper,
            http: http_client(),
            dir,
            password: enrollment.password,
            totp,
            integrations_key,
            database,
            signing_key,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every audit row, in order, as JSON.
    pub async fn audit_rows(&self) -> Vec<Value> {
        audit_rows(&self.database).await
    }

    pub async fn verify_audit(&self) -> VerifyReport {
        DbAuditSink::new(self.database.clone())
            .verify()
            .await
            .unwrap()
    }

    /// The proxy's store, opened beside it (as another process would).
    pub async fn store(&self) -> DbIntegrationStore {
        DbIntegrationStore::open(self.database.clone(), &self.integrations_key)
            .await
            .unwrap()
    }

    pub async fn login(&self) -> String {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": "admin", "password": self.password})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Login + TOTP step-up: a token good for steps 3-5.
    pub async fn stepped_up(&self) -> String {
        let token = self.login().await;
        let code = self.totp.generate_current().unwrap();
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/auth/step-up",
                Some(&token),
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// A token signed with the proxy's key, with the given claims changes.
    pub fn forge(
        &self,
        scope: &str,
        amr: &[&str],
        auth_age_seconds: i64,
        exp_in_seconds: i64,
    ) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "sub": "admin", "scope": scope, "amr": amr,
            "auth_time": now - auth_age_seconds, "iat": now - auth_age_seconds,
            "exp": now + exp_in_seconds,
            "iss": "alphaswarm-proxy-local", "aud": "alphaswarm-proxy-local",
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&self.signing_key),
        )
        .unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `GET /admin/accounts/{org}/integrations`, asserting 200.
    pub async fn integrations(&self, token: &str, org: &str) -> Vec<Value> {
        let path = format!("/admin/accounts/{org}/integrations");
        let (status, body) = self
            .send(reqwest::Method::GET, &path, Some(token), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["integrations"].as_array().cloned().unwrap_or_default()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }
}

/// Every audit row of a database, in order, as JSON.
pub async fn audit_rows(db: &Database) -> Vec<Value> {
    let sql = "SELECT line FROM audit_rows ORDER BY seq";
    let lines: Vec<String> = match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap();
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The code of the TOTP step after the current one (the proxy accepts one
/// step of clock skew either side), for when the current one was used.
pub fn next_totp_code(totp: &totp_rs::TOTP) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + 30)
}

/// The SQLite database of a binary proxy started with [`binary_env`] in
/// `dir`, opened beside it.
pub async fn binary_database(dir: &std::path::Path) -> Database {
    let target = alphaswarm_proxy::db::Target::Sqlite(
        dir.join("state").join(alphaswarm_proxy::db::DATABASE_FILE),
    );
    Database::open(&target, alphaswarm_proxy::db::OpenOptions::default())
        .await
        .unwrap()
}

/// Every byte of that database's files, as text (to search for leaks).
pub fn binary_database_bytes(dir: &std::path::Path) -> String {
    let file = dir.join("state").join(alphaswarm_proxy::db::DATABASE_FILE);
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::read(format!("{}{suffix}", file.display())).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

/// The federation key ring as stored (a Fernet token) in that database.
pub async fn stored_key_ring(dir: &std::path::Path) -> String {
    let db = binary_database(dir).await;
    let ring = db.meta("federation_key_ring").await.unwrap();
    db.close().await;
    ring.expect("the key ring is in the database")
}

/// Runs SQL on a database behind the proxy's back (to tamper, or to break it).
pub async fn exec_sql(db: &Database, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db.pool() {
        Pool::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        Pool::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
    }
    .unwrap();
}

/// Path of a wizard step for `org`.
pub fn step(org: &str, step: &str) -> String {
    format!("/admin/accounts/{org}/cloud/aws/{step}")
}

/// The environment every spawned binary needs: loopback bind, state, store
/// and audit under `dir`, the partner account and the given secrets.
pub fn binary_env(
    dir: &std::path::Path,
    integrations_key: &str,
    external_id_secret: &str,
) -> Vec<(&'static str, String)> {
    let under = |name: &str| dir.join(name).display().to_string();
    vec![
        ("ALPHASWARM_ADMIN_BIND", "127.0.0.1:0".to_owned()),
        ("ALPHASWARM_ADMIN_STATE_DIR", under("state")),
        (
            "ALPHASWARM_ADMIN_INTEGRATIONS_PATH",
            under("integrations.json"),
        ),
        (
            "ALPHASWARM_ADMIN_INTEGRATIONS_KEY",
            integrations_key.to_owned(),
        ),
        ("ALPHASWARM_ADMIN_AUDIT_PATH", under("audit.jsonl")),
        (
            "ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID",
            PARTNER.to_owned(),
        ),
        (
            "ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET",
            external_id_secret.to_owned(),
        ),
        // No background re-check unless a test asks for one.
        ("ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ]
}

/// The `alphaswarm-proxy` binary with exactly `env` (plus PATH, and HOME = `dir`).
pub fn proxy_command(dir: &std::path::Path, env: &[(&str, String)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir);
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// The real `alphaswarm-proxy` binary, its stdout/stderr captured to files.
pub struct BinaryProxy {
    pub child: std::process::Child,
    pub base: String,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl BinaryProxy {
    /// Spawns the binary with exactly `env` (plus PATH/HOME) and waits until it listens.
    // The child is moved into BinaryProxy, whose Drop kills and waits for it.
    #[allow(clippy::zombie_processes)]
    pub fn spawn(dir: &std::path::Path, tag: &str, env: &[(&str, String)]) -> BinaryProxy {
        let stdout_path = dir.join(format!("{tag}.stdout"));
        let stderr_path = dir.join(format!("{tag}.stderr"));
        let mut child = proxy_command(dir, env)
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            if let Some(line) = out
                .lines()
                .find(|l| l.starts_with("AlphaSwarm proxy listening on "))
            {
                let base = line
                    .trim_start_matches("AlphaSwarm proxy listening on ")
                    .trim_end_matches('/')
                    .to_owned();
                return BinaryProxy {
                    child,
                    base,
                    stdout_path,
                    stderr_path,
                };
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "proxy did not start: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub fn logs(&self) -> String {
        self.stdout() + &std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The enrolment printed at first start: (password, totp).
    pub fn enrollment(&self) -> (String, totp_rs::TOTP) {
        let out = self.stdout();
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {out}"))
                .trim()
                .to_owned()
        };
        (
            field("password:"),
            totp_rs::TOTP::from_url(field("totp uri:")).unwrap(),
        )
    }

    /// Logs in as the local operator; the token has no step-up yet.
    pub async fn login(&self, http: &reqwest::Client, password: &str) -> String {
        let login: Value = http
            .post(format!("{}/auth/login", self.base))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{login}"))
            .to_owned()
    }

    /// Login + step-up. The current code may already be used (accepted
    /// codes are remembered in the database, across restarts and
    /// replicas); then the next step's, which the proxy also accepts.
    pub async fn stepped_up(
        &self,
        http: &reqwest::Client,
        password: &str,
        totp: &totp_rs::TOTP,
    ) -> String {
        let token = self.login(http, password).await;
        let mut refused = Value::Null;
        for code in [totp.generate_current().unwrap(), next_totp_code(totp)] {
            let step: Value = http
                .post(format!("{}/auth/step-up", self.base))
                .bearer_auth(&token)
                .json(&json!({ "code": code }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match step["token"].as_str() {
                Some(stepped_up) => return stepped_up.to_owned(),
                None => refused = step,
            }
        }
        panic!("{refused}")
    }

    pub fn kill_hard(&mut self) {
        // SIGKILL: no graceful shutdown, no flush.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for BinaryProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A benchmark's `main`: runs `figures` on a multi-threaded runtime when
/// `cargo bench` ran it (it passes `--bench`); `cargo test --benches`
/// passes nothing, and then nothing runs.
pub fn run_benchmark(figures: impl std::future::Future<Output = ()>) {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(figures);
}
