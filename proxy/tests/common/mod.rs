//! Shared test harness: an in-process proxy on 127.0.0.1:0 whose real AWS
//! client (`QueryClient`, SigV4 over HTTP) talks to the loopback AWS fake of
//! `alphaswarm-fakes`, roles in that fake built from the artifacts the core
//! renders, the operator's credentials read back from the state dir, and a
//! helper that mints tokens with the proxy's own signing key (to build
//! stale, mis-scoped or expired sessions without waiting).
#![allow(dead_code)]

use alphaswarm_core::aws::{self as core_aws, AwsBootstrapRequest};
use alphaswarm_fakes::aws::{AccessKey, AwsFake, AwsFakeConfig, AwsState};
use alphaswarm_proxy::app::{AppState, aws_client, build_state_in};
use alphaswarm_proxy::audit::{AuditSink, VerifyReport};
use alphaswarm_proxy::aws::VirtualClock;
use alphaswarm_proxy::config::{self, Config};
use alphaswarm_proxy::db::audit::DbAuditSink;
use alphaswarm_proxy::db::store::DbIntegrationStore;
use alphaswarm_proxy::db::{Database, Pool};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub const PARTNER: &str = "111122223333";
pub const CUSTOMER: &str = "210987654321";
pub const EXTERNAL_ID_SECRET: &str = "test-external-id-secret-0123456789abcdef";

/// What the platform's IAM user may do: assume roles, nothing else.
pub const ALLOW_ASSUME_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;

/// The trust policy a test role gets: the rendered one, or a deliberate variant.
#[derive(Clone, Copy)]
pub enum Trust {
    /// `trust_policy.json` exactly as the core renders it for the org.
    Rendered,
    /// The rendered policy with another org's external id.
    OtherExternalId,
    /// The rendered policy without its `sts:ExternalId` condition (unsafe).
    NoCondition,
}

/// What the role may do.
#[derive(Clone, Copy)]
pub enum Grant {
    /// The rendered least-privilege policy `alphaswarm_baseline_policy.json`.
    Baseline,
    /// That policy with one action removed (e.g. an older bundle's).
    BaselineWithout(&'static str),
    /// No permissions policy at all.
    Nothing,
}

/// The loopback AWS fake with AlphaSwarm's platform user in the partner
/// account (its access key is what the proxy signs AssumeRole with).
pub struct LoopbackAws {
    server: Option<AwsFake>,
    pub state: AwsState,
    url: String,
    pub platform: AccessKey,
}

impl LoopbackAws {
    pub async fn start() -> LoopbackAws {
        Self::start_with(AwsFakeConfig::default()).await
    }

    pub async fn start_with(config: AwsFakeConfig) -> LoopbackAws {
        let server = AwsFake::start(config).await.unwrap();
        let state = server.state().clone();
        let platform = state
            .create_user(PARTNER, "alphaswarm-platform", ALLOW_ASSUME_ROLE)
            .unwrap();
        LoopbackAws {
            url: server.url(),
            state,
            server: Some(server),
            platform,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The proxy's settings that point its real AWS client here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (config::AWS_ENDPOINT_URL, self.url.clone()),
            ("AWS_ACCESS_KEY_ID", self.platform.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.platform.secret_access_key.clone(),
            ),
        ]
    }

    /// Stops the server: every later call fails to connect.
    pub fn stop(&mut self) {
        self.server = None;
    }

    /// How many requests reached the fake.
    pub fn calls(&self) -> usize {
        self.state.call_count()
    }

    /// Creates `name` in the customer account for `org`, from the artifacts
    /// the core renders for it (the proxy's own renderer and inputs).
    pub fn role(&self, org: &str, name: &str, trust: Trust, grant: Grant) -> String {
        self.role_in(CUSTOMER, org, name, trust, grant)
    }

    pub fn role_in(
        &self,
        account: &str,
        org: &str,
        name: &str,
        trust: Trust,
        grant: Grant,
    ) -> String {
        let arn = self
            .state
            .create_role(account, name, "/", &trust_policy(org, trust))
            .unwrap();
        let baseline = rendered_file(org, core_aws::BASELINE_POLICY_FILE);
        let permissions = match grant {
            Grant::Baseline => Some(baseline),
            Grant::BaselineWithout(action) => {
                let mut policy: Value = serde_json::from_str(&baseline).unwrap();
                let actions = policy["Statement"][0]["Action"].as_array_mut().unwrap();
                let before = actions.len();
                actions.retain(|a| a != action);
                assert_eq!(actions.len(), before - 1, "{action} is in the baseline");
                Some(policy.to_string())
            }
            Grant::Nothing => None,
        };
        if let Some(document) = permissions {
            self.state
                .put_role_policy(&arn, core_aws::BASELINE_POLICY_NAME, &document)
                .unwrap();
        }
        arn
    }
}

/// A file of the bundle the core renders for `org` (the proxy's own
/// renderer and inputs).
pub fn rendered_file(org: &str, file: &str) -> String {
    let bundle = core_aws::render(&AwsBootstrapRequest {
        org_id: org.to_owned(),
        partner_account_id: PARTNER.to_owned(),
        external_id: external_id_for(org),
        ..Default::default()
    })
    .unwrap();
    bundle
        .files
        .into_iter()
        .find(|f| f.name == file)
        .unwrap()
        .contents
}

/// The role trust policy for `org`: as rendered, or a deliberate variant.
pub fn trust_policy(org: &str, trust: Trust) -> String {
    let mut policy: Value =
        serde_json::from_str(&rendered_file(org, core_aws::TRUST_POLICY_FILE)).unwrap();
    let statement = &mut policy["Statement"][0];
    match trust {
        Trust::Rendered => {}
        Trust::OtherExternalId => {
            statement["Condition"]["StringEquals"]["sts:ExternalId"] =
                json!(external_id_for("someone-else"));
        }
        Trust::NoCondition => {
            statement.as_object_mut().unwrap().remove("Condition");
        }
    }
    policy.to_string()
}

pub struct TestProxy {
    pub base: String,
    /// The AWS the proxy talks to.
    pub aws: LoopbackAws,
    /// Times step 3's retries: virtual, so attempts are counted, not waited for.
    pub clock: Arc<VirtualClock>,
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

/// The proxy's configuration from `vars`, its own secrets resolved
/// through the CredentialResolver chain built from the same variables.
pub async fn load_config<K: ToString>(
    vars: &HashMap<K, String>,
) -> (Config, alphaswarm_proxy::credentials::Credentials) {
    let env = alphaswarm_resolver::Environment::from_pairs(
        vars.iter().map(|(k, v)| (k.to_string(), v.clone())),
    );
    alphaswarm_proxy::credentials::load(env).await.unwrap()
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
        // The resolver's file store, private to this test.
        ("ALPHASWARM_BOOTSTRAP_STATE_DIR".into(), under("bootstrap")),
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
        let aws = LoopbackAws::start().await;
        Self::start_full(name, listener, aws, extra, records, None).await
    }

    /// In sandbox mode: every cloud is the sandbox's fakes (its settings
    /// laid over the defaults), and "Apply in the sandbox" is served.
    pub async fn start_sandbox(name: &str) -> TestProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox = alphaswarm_proxy::sandbox::Sandbox::start(listener.local_addr().unwrap())
            .await
            .unwrap();
        let settings = sandbox.settings();
        let aws = LoopbackAws::start().await;
        Self::start_full(
            name,
            listener,
            aws,
            &settings,
            Vec::new(),
            Some(Arc::new(sandbox)),
        )
        .await
    }

    /// As [`Self::start_with`], against an AWS fake the caller started
    /// (whose platform key it may have stored somewhere first).
    pub async fn start_with_aws(
        name: &str,
        aws: LoopbackAws,
        extra: &[(&str, String)],
    ) -> TestProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_full(name, listener, aws, extra, Vec::new(), None).await
    }

    async fn start_full(
        name: &str,
        listener: tokio::net::TcpListener,
        aws: LoopbackAws,
        extra: &[(&str, String)],
        records: Vec<alphaswarm_proxy::store::StoredIntegration>,
        sandbox: Option<Arc<alphaswarm_proxy::sandbox::Sandbox>>,
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
        vars.extend(aws.env().into_iter().map(|(k, v)| (k.to_owned(), v)));
        for (k, v) in extra {
            if v.is_empty() {
                vars.remove(*k);
            } else {
                vars.insert((*k).to_owned(), (*v).to_owned());
            }
        }
        let (config, credentials) = load_config(&vars).await;
        let state_dir = config.state_dir.clone();
        let (client, _) = aws_client(&config).unwrap();
        let clock = Arc::new(VirtualClock::new());
        let (state, notes) = build_state_in(config, credentials, client, clock.clone(), sandbox)
            .await
            .unwrap();
        let database = state.database.clone();
        let enrollment = notes.enrollment.expect("first start enrols the operator");
        let totp = totp_rs::TOTP::from_url(&enrollment.otpauth_uri).unwrap();
        let operator: Value =
            serde_json::from_slice(&std::fs::read(state_dir.join("operator.json")).unwrap())
                .unwrap();
        let signing_key = base64::engine::general_purpose::STANDARD
            .decode(operator["token_signing_key"].as_str().unwrap())
            .unwrap();
        let sweeper = alphaswarm_proxy::health::sweep::spawn(state.clone());
        let base = serve_on(listener, state.clone());
        TestProxy {
            base,
            aws,
            clock,
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

    /// The chain's rows as stored (each line byte for byte) in a JSON-lines
    /// file, for checkers that read the file format (the Python oracle).
    pub async fn audit_rows_file(&self) -> PathBuf {
        let path = self.dir.join("audit-rows-export.jsonl");
        write_lines(&path, &audit_lines(&self.database).await);
        path
    }

    /// The whole trail, rows and signed checkpoints, exported from the
    /// database to the file format (`<path>` and its checkpoints file), for
    /// `verify-audit <path>` and the offline script.
    pub async fn audit_export(&self) -> PathBuf {
        let path = self.dir.join("audit-export.jsonl");
        write_lines(&path, &audit_lines(&self.database).await);
        write_lines(
            &alphaswarm_proxy::audit::checkpoints_path(&path),
            &checkpoint_lines(&self.database).await,
        );
        path
    }

    /// `verify-audit` on this proxy's chain, with its checkpoint key.
    pub async fn verify_audit(&self) -> VerifyReport {
        DbAuditSink::verifier(self.database.clone(), self.audit_key())
            .verify()
            .await
            .unwrap()
    }

    pub fn audit_key(&self) -> ed25519_dalek::VerifyingKey {
        alphaswarm_proxy::audit::AuditSigner::load(
            &self
                .state
                .config
                .state_dir
                .join(alphaswarm_proxy::audit::SIGNING_KEY_FILE),
        )
        .unwrap()
        .verifying_key()
    }

    /// The rows of audited actions (wizard steps, connects, health checks):
    /// the single rows of logins, step-ups and step-2 bootstraps are left
    /// out (see [`Self::all_audit_rows`]).
    pub async fn audit_rows(&self) -> Vec<Value> {
        self.all_audit_rows()
            .await
            .into_iter()
            .filter(|r| r["cloud"] != "auth" && r["step"] != "bootstrap")
            .collect()
    }

    /// Every row of the trail, in order, as JSON.
    pub async fn all_audit_rows(&self) -> Vec<Value> {
        audit_rows(&self.database).await
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

    /// A wizard step of `org` for the role `arn` (`{"role_arn": arn}`).
    pub async fn role_step(&self, token: &str, org: &str, name: &str, arn: &str) -> (u16, Value) {
        self.post(&step(org, name), token, json!({ "role_arn": arn }))
            .await
    }

    /// Connects `org`'s AWS role (the rendered trust policy and baseline)
    /// with a stepped-up `token`, asserting 200.
    pub async fn connect_aws(&self, token: &str, org: &str) -> Value {
        let name = format!("alphaswarm-broker-{org}");
        let arn = self.aws.role(org, &name, Trust::Rendered, Grant::Baseline);
        let (status, body) = self.role_step(token, org, "connect", &arn).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// `POST /admin/accounts/{org}/cloud/{cloud}/mint`.
    pub async fn mint(
        &self,
        token: &str,
        org: &str,
        cloud: &str,
        credential_key: &str,
        duration_seconds: u32,
    ) -> (u16, Value) {
        self.post(
            &format!("/admin/accounts/{org}/cloud/{cloud}/mint"),
            token,
            json!({ "credential_key": credential_key, "duration_seconds": duration_seconds }),
        )
        .await
    }

    /// What every successful mint must show: 200 with `fields` (names
    /// only), an expiry `lifetime` seconds away (±60 s), a pending and a
    /// succeeded `mint` row for `cloud`, and the credential resolving
    /// through the chain as `integration_store`; no value of it in the
    /// answer or the audit trail. Returns the resolved credential.
    pub async fn assert_minted(
        &self,
        answer: &(u16, Value),
        cloud: &str,
        fields: &[&str],
        lifetime: i64,
    ) -> alphaswarm_resolver::Credential {
        let (status, body) = answer;
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["source"], "integration_store");
        assert_eq!(body["fields"], json!(fields));
        let left = seconds_until(&body["expires_at"]);
        assert!(
            (lifetime - 60..=lifetime + 1).contains(&left),
            "expires in {left} s, not {lifetime}"
        );
        let run = self.audit_run(body["audit_run_id"].as_str().unwrap()).await;
        let rows: Vec<_> = run
            .iter()
            .map(|r| (r["step"].as_str(), r["cloud"].as_str(), r["phase"].as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (Some("mint"), Some(cloud), Some("pending")),
                (Some("mint"), Some(cloud), Some("succeeded"))
            ]
        );
        let key = body["credential_key"].as_str().unwrap().parse().unwrap();
        let credential = self.state.credentials.resolve(&key).await.unwrap();
        assert_eq!(
            credential.source(),
            alphaswarm_resolver::Source::IntegrationStore
        );
        let trail = audit_lines(&self.database).await.join("\n");
        for field in fields {
            let value = credential.require(field).unwrap();
            let piece = &value[value.len().saturating_sub(12)..];
            assert!(!body.to_string().contains(piece), "{field} in the answer");
            assert!(!trail.contains(piece), "{field} in the audit trail");
        }
        credential
    }

    /// `GET /admin/credentials/describe`, asserting 200.
    pub async fn describe_credentials(&self, token: &str) -> Described {
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                "/admin/credentials/describe",
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let list = |name: &str| body[name].as_array().cloned().unwrap_or_default();
        Described {
            chain: list("chain")
                .iter()
                .map(|s| (s["priority"].as_u64().unwrap(), s["source"].to_string()))
                .collect(),
            sources: list("proxy_secrets")
                .iter()
                .map(|s| (s["credential_key"].to_string(), s["source"].to_string()))
                .collect(),
            body,
        }
    }

    /// The audit rows of one run, in order.
    pub async fn audit_run(&self, run_id: &str) -> Vec<Value> {
        self.audit_rows()
            .await
            .into_iter()
            .filter(|r| r["audit_run_id"] == run_id)
            .collect()
    }
}

/// The describe answer: the chain as `(priority, "\"source\"")`, which store
/// answered each of the proxy's own secrets (JSON text: `"\"env\""`, or
/// `null` when none did), and the whole body.
pub struct Described {
    pub chain: Vec<(u64, String)>,
    pub sources: std::collections::BTreeMap<String, String>,
    pub body: Value,
}

impl Described {
    /// `chain` and `sources` as plain text, for one comparison.
    pub fn summary(&self) -> (Vec<String>, Vec<String>) {
        (
            self.chain
                .iter()
                .map(|(priority, source)| format!("{priority} {}", source.trim_matches('"')))
                .collect(),
            self.sources
                .iter()
                .map(|(key, source)| {
                    format!("{} {}", key.trim_matches('"'), source.trim_matches('"'))
                })
                .collect(),
        )
    }
}

/// Seconds from now until the RFC 3339 time `at`.
pub fn seconds_until(at: &Value) -> i64 {
    let at = time::OffsetDateTime::parse(
        at.as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|_| panic!("{at} is not an RFC 3339 time"));
    (at - time::OffsetDateTime::now_utc()).whole_seconds()
}

/// An answer's status and error code, for one-line assertions.
pub fn status_code(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

/// Serves `state` on 127.0.0.1:0 through the proxy's own accept loop
/// (timeouts, connection cap, client addresses) until the test ends.
pub async fn serve_in_background(state: alphaswarm_proxy::app::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, state)
}

/// [`serve_in_background`] on a listener the caller bound.
pub fn serve_on(
    listener: tokio::net::TcpListener,
    state: alphaswarm_proxy::app::AppState,
) -> String {
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        alphaswarm_proxy::serve::serve(listener, state, std::future::pending())
            .await
            .unwrap();
    });
    base
}

/// The code of the next 30 s window (accepted now: one window either side
/// is allowed), for a second step-up without waiting.
pub fn next_totp_code(totp: &totp_rs::TOTP) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    totp.generate(now + 30)
}

/// Every audit row of a database, in order, as stored.
pub async fn audit_lines(db: &Database) -> Vec<String> {
    let sql = "SELECT line FROM audit_rows ORDER BY seq";
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap()
}

/// Every signed checkpoint of a database, in order, as stored.
pub async fn checkpoint_lines(db: &Database) -> Vec<String> {
    let sql = "SELECT line FROM audit_checkpoints ORDER BY seq";
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap()
}

fn write_lines(path: &std::path::Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// Every audit row of a database, in order, as JSON.
pub async fn audit_rows(db: &Database) -> Vec<Value> {
    audit_lines(db)
        .await
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
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

/// The JWKS a proxy at `base` publishes at the default issuer path.
pub async fn published_jwks(http: &reqwest::Client, base: &str) -> Value {
    http.get(format!("{base}/oidc/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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

/// The proxy binary to spawn: this build's, or another one named by
/// `ALPHASWARM_PROXY_BINARY` (the benchmark compares builds with it).
pub fn proxy_binary() -> std::ffi::OsString {
    std::env::var_os("ALPHASWARM_PROXY_BINARY")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_alphaswarm-proxy").into())
}

/// The proxy binary with exactly `env` (plus PATH, and HOME = `dir`).
pub fn proxy_command(dir: &std::path::Path, env: &[(&str, String)]) -> std::process::Command {
    let mut command = std::process::Command::new(proxy_binary());
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

    /// POSTs a JSON body (with a bearer token if given) and reads the JSON answer.
    pub async fn post_json(
        &self,
        http: &reqwest::Client,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Value {
        let mut request = http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Logs in as the local operator; the token has no step-up yet.
    pub async fn login(&self, http: &reqwest::Client, password: &str) -> String {
        let login = self
            .post_json(
                http,
                "/auth/login",
                None,
                json!({"username": "admin", "password": password}),
            )
            .await;
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
            let step = self
                .post_json(http, "/auth/step-up", Some(&token), json!({"code": code}))
                .await;
            match step["token"].as_str() {
                Some(stepped_up) => return stepped_up.to_owned(),
                None => refused = step,
            }
        }
        panic!("{refused}")
    }

    /// Login + step-up with a given code (a code is accepted once, even
    /// across restarts: a restarted proxy needs the next window's code,
    /// see [`next_totp_code`]).
    pub async fn stepped_up_with_code(
        &self,
        http: &reqwest::Client,
        password: &str,
        code: &str,
    ) -> String {
        let token = self.login(http, password).await;
        let step = self
            .post_json(http, "/auth/step-up", Some(&token), json!({"code": code}))
            .await;
        step["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{step}"))
            .to_owned()
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

/// A response read off a raw socket (for what reqwest will not send: a
/// chosen source address without a client per address, a foreign Host,
/// a body that never finishes).
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// The `host:port` of a base URL.
pub fn authority(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// A TCP connection to `base` from the loopback address `from`.
pub async fn connect_from(from: std::net::Ipv4Addr, base: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((from, 0).into()).unwrap();
    socket
        .connect(authority(base).parse().unwrap())
        .await
        .unwrap()
}

/// `method path` with `Host: host` and a JSON body, asking the server to close after.
pub fn json_request(method: &str, path: &str, host: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes `request` and reads the whole response (the server closes).
pub async fn raw_exchange(stream: &mut tokio::net::TcpStream, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    parse_raw_response(&bytes)
}

pub fn parse_raw_response(bytes: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Fires one wrong login from each address at once: every connection is
/// open before the first request is written, so the burst arrives together.
pub async fn wrong_login_burst(
    from: &[std::net::Ipv4Addr],
    base: &str,
) -> Vec<(reqwest::StatusCode, String)> {
    let request = json_request(
        "POST",
        "/auth/login",
        authority(base),
        &json!({"username": "admin", "password": "wrong-password"}),
    );
    let mut connections = Vec::new();
    for ip in from {
        connections.push(connect_from(*ip, base).await);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(from.len()));
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut stream| {
            let (request, start) = (request.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let response = raw_exchange(&mut stream, &request).await;
                let code = response.json()["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (
                    reqwest::StatusCode::from_u16(response.status).unwrap(),
                    code,
                )
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

/// VmHWM (peak resident set) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
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

/// Asserts a coded error on a field.
pub fn assert_error(
    status: u16,
    body: &serde_json::Value,
    expected_status: u16,
    code: &str,
    field: Option<&str>,
) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["field"].as_str(), field, "{body}");
    assert!(
        !body["hint"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
}

/// Every 24-character window (stride 12) of `secret`: a leak of any part shows.
fn windows(secret: &str) -> Vec<String> {
    (0..secret.len().saturating_sub(24))
        .step_by(12)
        .map(|i| secret[i..i + 24].to_owned())
        .collect()
}

/// The private parts of an RSA key (d, p, q) in every encoding a leak would
/// use: base64 and base64url at each of the three byte alignments (a PEM or
/// DER dump holds them at some offset), and hex. The modulus is public (it
/// is in the JWKS), so the DER as a whole is not a usable canary.
fn private_encodings(pkcs1_der_base64: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PrivateKeyParts;
    let der = STANDARD.decode(pkcs1_der_base64).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs1_der(&der).unwrap();
    let mut parts = vec![key.d().to_bytes_be()];
    parts.extend(key.primes().iter().map(|p| p.to_bytes_be()));
    let mut out = Vec::new();
    for part in parts {
        for skip in 0..3 {
            out.push(STANDARD.encode(&part[skip..]));
            out.push(URL_SAFE_NO_PAD.encode(&part[skip..]));
        }
        out.push(hex::encode(&part));
    }
    out
}

/// Reads the federation signing keys back from the database in `dir`'s
/// state and asserts that no part of any private key appears in `haystack`
/// (responses, logs, audit rows) nor unencrypted in the database's files.
pub async fn assert_signing_keys_never_leaked(dir: &std::path::Path, key: &str, haystack: &str) {
    let ring = fernet::Fernet::new(key)
        .unwrap()
        .decrypt(&stored_key_ring(dir).await)
        .unwrap();
    let ring: Value = serde_json::from_slice(&ring).unwrap();
    let privates: Vec<String> = ring["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["private_pkcs1_der"].as_str().unwrap().to_owned())
        .collect();
    assert!(!privates.is_empty() && privates.iter().all(|p| p.len() > 1000));
    let on_disk = binary_database_bytes(dir);
    for private in &privates {
        // The check can fail: a dump of the DER itself would be caught.
        assert!(
            private_encodings(private)
                .iter()
                .flat_map(|e| windows(e))
                .any(|w| private.contains(&w)),
            "the canary detects a DER dump"
        );
        for encoding in private_encodings(private) {
            for window in windows(&encoding) {
                assert!(!haystack.contains(&window), "private key material leaked");
                assert!(!on_disk.contains(&window), "not encrypted at rest");
            }
        }
    }
    assert!(!haystack.contains("PRIVATE KEY"));
}

/// Asserts that `rows` begin with a pending and a succeeded row for each of
/// `steps`, in order, every one for `cloud` and `org`.
pub fn assert_steps_audited(rows: &[Value], cloud: &str, org: &str, steps: &[&str]) {
    let seen: Vec<(&str, &str)> = rows
        .iter()
        .take(2 * steps.len())
        .map(|r| (r["step"].as_str().unwrap(), r["phase"].as_str().unwrap()))
        .collect();
    let expected: Vec<(&str, &str)> = steps
        .iter()
        .flat_map(|s| [(*s, "pending"), (*s, "succeeded")])
        .collect();
    assert_eq!(seen, expected);
    assert!(
        rows.iter()
            .take(2 * steps.len())
            .all(|r| r["cloud"] == cloud && r["org_id"] == org)
    );
}

/// The audited wizard steps after step 2, in order.
pub const AUDITED_STEPS: [&str; 4] = [
    "validate_identity",
    "validate_permissions",
    "enumerate_resources",
    "connect",
];
