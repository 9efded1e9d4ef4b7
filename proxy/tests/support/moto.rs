//! A real moto server for the tests: auth mode, two accounts.
//!
//! What moto does with accounts (moto 5.2.5, read from its docs
//! `docs/docs/multi_account.rst` and `moto/core/responses.py`,
//! `moto/iam/access_control.py`, `moto/sts/models.py`):
//! - every request runs in one account, chosen by (1) the `MOTO_ACCOUNT_ID`
//!   env var, else (2) an `x-moto-account-id` header, else (3) the account
//!   whose IAM backend holds the request's access key, else 123456789012;
//! - AssumeRole of `arn:aws:iam::<B>:role/x` mints keys in account B, so the
//!   assumed credentials then act in B (GetCallerIdentity reports B);
//! - in auth mode (`INITIAL_NO_AUTH_ACTION_COUNT`: the first N requests skip
//!   auth, the rest are signature-checked and policy-evaluated; the
//!   `/moto-api/reset-auth` endpoint sets N anew and restarts the count) the
//!   caller's identity policies are evaluated, and for AssumeRole the role's
//!   trust policy — but only for a role in the caller's own account, with the
//!   caller's exact ARN as principal, and a missing ExternalId passes a
//!   StringEquals condition. `moto_cross_account.py` beside this file patches
//!   those three points to AWS's behaviour; its docstring says how.
//!
//! Set-up therefore runs unauthenticated with `x-moto-account-id` (never set
//! `MOTO_ACCOUNT_ID`: it would override every request's account): in the
//! partner account a platform IAM user allowed `sts:AssumeRole` with an access
//! key; in the customer account roles whose trust policy is the one the core
//! renders. Then auth is switched on for every later request.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PARTNER_ACCOUNT: &str = "111122223333";
pub const CUSTOMER_ACCOUNT: &str = "444455556666";
pub const PLATFORM_USER: &str = "alphaswarm-platform";

/// The trust policy the core renders: the partner account root as principal,
/// the external id as a StringEquals condition (`None`: no condition, the
/// unsafe shape the confused-deputy check must catch).
pub fn trust_policy(partner_account: &str, external_id: Option<&str>) -> String {
    let condition = external_id
        .map(|id| format!(r#","Condition":{{"StringEquals":{{"sts:ExternalId":"{id}"}}}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{partner_account}:root"}},"Action":"sts:AssumeRole"{condition}}}]}}"#
    )
}

pub struct RoleSpec {
    pub name: &'static str,
    pub trust_policy: String,
    /// The role's inline `alphaswarm-baseline` policy; `None`: no permissions.
    pub permissions: Option<String>,
}

/// The least-privilege policy the core renders (`alphaswarm_baseline_policy.json`).
pub fn baseline() -> Option<String> {
    Some(alphaswarm_core::aws::baseline_policy_json())
}

/// That policy without `action` (e.g. an older bundle's, before step 4's
/// own permission joined the baseline).
pub fn baseline_without(action: &str) -> Option<String> {
    let mut policy = alphaswarm_core::aws::baseline_policy();
    let actions = policy["Statement"][0]["Action"].as_array_mut().unwrap();
    actions.retain(|a| a != action);
    Some(policy.to_string())
}

pub struct Moto {
    child: Child,
    pub url: String,
    pub platform_access_key_id: String,
    pub platform_secret_access_key: String,
}

impl Moto {
    /// Starts moto on a free loopback port, creates the partner user and the
    /// customer `roles`, then turns auth on.
    pub async fn start(roles: &[RoleSpec]) -> Moto {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "moto is not installed: run `bash -c 'source scripts/lib.sh; ensure_venv'` in the repository root"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .arg(root.join("proxy/tests/support/moto_cross_account.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Auth mode from the start; set-up requests are let through by reset-auth below.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "0")
            .env_remove("MOTO_ACCOUNT_ID")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let mut moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            platform_access_key_id: String::new(),
            platform_secret_access_key: String::new(),
        };
        alphaswarm_proxy::aws::ensure_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        moto.wait_ready(&http).await;

        // Let the set-up through unauthenticated (a bound far above its call count).
        moto.reset_auth(&http, 1_000_000).await;
        let partner = |action: &'static str, params: Vec<(&'static str, String)>| {
            moto.setup_call(&http, PARTNER_ACCOUNT, action, params)
        };
        partner("CreateUser", vec![("UserName", PLATFORM_USER.to_owned())]).await;
        let allow_assume = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        partner(
            "PutUserPolicy",
            vec![
                ("UserName", PLATFORM_USER.to_owned()),
                ("PolicyName", "assume-customer-roles".to_owned()),
                ("PolicyDocument", allow_assume.to_owned()),
            ],
        )
        .await;
        let key = partner(
            "CreateAccessKey",
            vec![("UserName", PLATFORM_USER.to_owned())],
        )
        .await;
        let (id, secret) = (
            element(&key, "AccessKeyId"),
            element(&key, "SecretAccessKey"),
        );
        moto.create_roles(&http, roles).await;
        moto.platform_access_key_id = id;
        moto.platform_secret_access_key = secret;
        // Every later request is authenticated and authorised.
        moto.reset_auth(&http, 0).await;
        moto
    }

    /// Creates more customer roles after start (e.g. with a trust policy
    /// taken from the proxy's own bootstrap answer); auth is off meanwhile,
    /// so nothing else may call moto concurrently.
    pub async fn add_roles(&self, roles: &[RoleSpec]) {
        let http = setup_client();
        self.reset_auth(&http, 1_000_000).await;
        self.create_roles(&http, roles).await;
        self.reset_auth(&http, 0).await;
    }

    /// Deletes a customer role (its inline baseline policy first, as IAM
    /// requires), as a customer cleaning up would.
    pub async fn delete_role(&self, name: &str) {
        let http = setup_client();
        self.reset_auth(&http, 1_000_000).await;
        let call = |action: &'static str, params: Vec<(&'static str, String)>| {
            self.setup_call(&http, CUSTOMER_ACCOUNT, action, params)
        };
        call(
            "DeleteRolePolicy",
            vec![
                ("RoleName", name.to_owned()),
                (
                    "PolicyName",
                    alphaswarm_core::aws::BASELINE_POLICY_NAME.to_owned(),
                ),
            ],
        )
        .await;
        call("DeleteRole", vec![("RoleName", name.to_owned())]).await;
        self.reset_auth(&http, 0).await;
    }

    async fn create_roles(&self, http: &reqwest::Client, roles: &[RoleSpec]) {
        for role in roles {
            let customer = |action: &'static str, params: Vec<(&'static str, String)>| {
                self.setup_call(http, CUSTOMER_ACCOUNT, action, params)
            };
            customer(
                "CreateRole",
                vec![
                    ("RoleName", role.name.to_owned()),
                    ("AssumeRolePolicyDocument", role.trust_policy.clone()),
                ],
            )
            .await;
            if let Some(document) = &role.permissions {
                customer(
                    "PutRolePolicy",
                    vec![
                        ("RoleName", role.name.to_owned()),
                        (
                            "PolicyName",
                            alphaswarm_core::aws::BASELINE_POLICY_NAME.to_owned(),
                        ),
                        ("PolicyDocument", document.clone()),
                    ],
                )
                .await;
            }
        }
    }

    /// The AWS fake mirroring this moto: moto's roles and the keys its
    /// AssumeRole issued, so IAM's SimulatePrincipalPolicy (which moto lacks)
    /// is authenticated and decided from what moto holds. Point the proxy's
    /// IAM endpoint (`ALPHASWARM_ADMIN_AWS_IAM_ENDPOINT_URL`) at it.
    pub async fn iam_mirror(&self) -> alphaswarm_fakes::aws::AwsFake {
        alphaswarm_fakes::aws::AwsFake::start(alphaswarm_fakes::aws::AwsFakeConfig {
            mirror_moto: Some(self.url.clone()),
            ..Default::default()
        })
        .await
        .expect("the AWS fake starts")
    }

    pub fn role_arn(name: &str) -> String {
        format!("arn:aws:iam::{CUSTOMER_ACCOUNT}:role/{name}")
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = http.get(format!("{}/moto-api/", self.url)).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("moto_server exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server not ready after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The next `count` requests skip auth; 0 makes every request authenticated.
    async fn reset_auth(&self, http: &reqwest::Client, count: usize) {
        let response = http
            .post(format!("{}/moto-api/reset-auth", self.url))
            .body(count.to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "reset-auth failed");
    }

    /// An unauthenticated IAM call in `account` (set-up only). The
    /// Authorization header is a placeholder: moto routes by its credential
    /// scope and, within the no-auth allowance, checks nothing else.
    async fn setup_call(
        &self,
        http: &reqwest::Client,
        account: &str,
        action: &str,
        params: Vec<(&'static str, String)>,
    ) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", "2010-05-08");
        for (name, value) in &params {
            form.append_pair(name, value);
        }
        let response = http
            .post(format!("{}/", self.url))
            .header("x-moto-account-id", account)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIASETUPONLY000000/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "moto set-up {action} failed: {status} {body}"
        );
        body
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The text of the first `<name>` element (set-up answers only).
fn element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .expect("element present");
    let end = xml[start..].find("</").expect("element closed") + start;
    xml[start..end].to_owned()
}
