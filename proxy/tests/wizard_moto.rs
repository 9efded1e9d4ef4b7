//! The whole wizard against loopback AWS: the real proxy (in-process router,
//! real `QueryClient` built from the proxy's own configuration) talks SigV4
//! to a moto server in auth mode (cross-account trust policies and the
//! ExternalId condition really evaluated; see support/moto.rs), and IAM's
//! SimulatePrincipalPolicy (which moto lacks) goes to the AWS fake of
//! `alphaswarm-fakes` mirroring moto: it verifies the signature of the keys
//! moto issued and authorises the call against the role's policies in moto.
//!
//! The customer role is created with the trust policy and the least-privilege
//! policy taken from the proxy's own bootstrap answer, so the rendered
//! artifacts are what moto and the fake evaluate.
//!
//! Account mismatch (ARN names account A, the role answering is in B) cannot
//! happen in moto: AssumeRole mints the session in the ARN's own account, so
//! GetCallerIdentity always reports the ARN's account. wizard_flow.rs tests it
//! with the AWS fake, broken on purpose.

mod common;
mod support;

use alphaswarm_core::aws::{BASELINE_POLICY_FILE, simulate_statement_text};
use alphaswarm_core::baseline::AWS_REQUIRED_ACTIONS;
use alphaswarm_fakes::aws::AwsFake;
use alphaswarm_proxy::app::{aws_client, build_state_with_clock};
use alphaswarm_proxy::aws::VirtualClock;
use alphaswarm_proxy::config;
use serde_json::{Value, json};
use std::sync::Arc;
use support::moto::{
    CUSTOMER_ACCOUNT, Moto, PARTNER_ACCOUNT, RoleSpec, baseline, baseline_without, trust_policy,
};

const ORG: &str = "acme";
const GOOD_ROLE: &str = "alphaswarm-broker-acme";
const EXTERNAL_ID_SECRET: &str = "moto-test-external-id-secret-0123456789abcdef";

struct Wizard {
    base: String,
    http: reqwest::Client,
    database: alphaswarm_proxy::db::Database,
    password: String,
    totp: totp_rs::TOTP,
    /// Times step 3's retries in virtual time.
    clock: Arc<VirtualClock>,
}

impl Wizard {
    /// An in-process proxy whose AWS client is built exactly as the binary
    /// builds it, from `vars` (endpoints, platform keys, settle window).
    async fn start(name: &str, vars: &[(&str, String)]) -> Wizard {
        let dir = common::temp_dir(name);
        let integrations_key = alphaswarm_proxy::store::FernetFileStore::generate_key();
        let mut env =
            common::in_process_env(&dir, &integrations_key, PARTNER_ACCOUNT, EXTERNAL_ID_SECRET);
        env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let (config, credentials) = common::load_config(&env).await;
        let (aws, _) = aws_client(&config).unwrap();
        let clock = Arc::new(VirtualClock::new());
        let (state, notes) = build_state_with_clock(config, credentials, aws, clock.clone())
            .await
            .unwrap();
        let database = state.database.clone();
        let password = notes.enrollment.expect("first start enrols").password;
        // The second factor as an authenticator app computes it, from the
        // secret enrolled in the state dir.
        let operator: Value =
            serde_json::from_slice(&std::fs::read(dir.join("state/operator.json")).unwrap())
                .unwrap();
        let secret =
            totp_rs::Secret::Encoded(operator["totp_secret_base32"].as_str().unwrap().to_owned());
        let totp = totp_rs::TOTP::new_unchecked(
            totp_rs::Algorithm::SHA1,
            6,
            1,
            30,
            secret.to_bytes().unwrap(),
            None,
            "admin".to_owned(),
        );
        let base = common::serve_in_background(state).await;
        Wizard {
            base,
            http: common::http_client(),
            database,
            password,
            totp,
            clock,
        }
    }

    /// Against moto, with IAM on the AWS fake mirroring it.
    async fn with_moto(name: &str, moto: &Moto, iam: &AwsFake, settle_seconds: u32) -> Wizard {
        Wizard::start(
            name,
            &[
                (config::AWS_ENDPOINT_URL, moto.url.clone()),
                (config::AWS_IAM_ENDPOINT_URL, iam.url()),
                ("AWS_ACCESS_KEY_ID", moto.platform_access_key_id.clone()),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    moto.platform_secret_access_key.clone(),
                ),
                (config::AWS_SETTLE_SECONDS, settle_seconds.to_string()),
            ],
        )
        .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn step(&self, token: &str, step: &str, body: Value) -> (u16, Value) {
        self.send(
            reqwest::Method::POST,
            &format!("/admin/accounts/{ORG}/cloud/aws/{step}"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// Local login, then the TOTP step-up: a token good for steps 3-5.
    async fn stepped_up(&self) -> String {
        let (status, login) = self
            .send(
                reqwest::Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": "admin", "password": self.password})),
            )
            .await;
        assert_eq!(status, 200, "{login}");
        let code = self.totp.generate_current().unwrap();
        let (status, step_up) = self
            .send(
                reqwest::Method::POST,
                "/auth/step-up",
                login["token"].as_str(),
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(status, 200, "{step_up}");
        step_up["token"].as_str().unwrap().to_owned()
    }

    /// The rows of audited actions (the single rows of logins, step-ups
    /// and bootstraps left out).
    async fn audit_rows(&self) -> Vec<Value> {
        common::audit_rows(&self.database)
            .await
            .into_iter()
            .filter(|r| r["cloud"] != "auth" && r["step"] != "bootstrap")
            .collect()
    }

    /// The audit run's rows: exactly a pending row, then the result row.
    async fn assert_audited(
        &self,
        run_id: &str,
        step: &str,
        phase: &str,
        error_code: Option<&str>,
    ) {
        let rows: Vec<Value> = self
            .audit_rows()
            .await
            .into_iter()
            .filter(|r| r["audit_run_id"] == run_id)
            .collect();
        let phases: Vec<&str> = rows.iter().map(|r| r["phase"].as_str().unwrap()).collect();
        assert_eq!(phases, ["pending", phase], "{step}: {rows:?}");
        for row in &rows {
            assert_eq!(row["step"], step);
            assert_eq!(row["org_id"], ORG);
            assert_eq!(row["cloud"], "aws");
            assert_eq!(row["actor"], "admin");
        }
        assert_eq!(rows[1]["error_code"].as_str(), error_code, "{step}");
    }
}

/// (status, error code) of every SimulatePrincipalPolicy the fake answered.
fn simulations(iam: &AwsFake) -> Vec<(u16, Option<String>)> {
    iam.state()
        .calls()
        .into_iter()
        .filter(|c| c.action == "SimulatePrincipalPolicy")
        .map(|c| (c.status, c.error_code))
        .collect()
}

fn run_id(body: &Value) -> String {
    body["audit_run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no audit_run_id in {body}"))
        .to_owned()
}

#[tokio::test]
async fn the_bootstrapped_least_privilege_role_walks_every_step_in_moto() {
    let moto = Moto::start(&[]).await;
    let iam = moto.iam_mirror().await;
    let wizard = Wizard::with_moto("moto-happy", &moto, &iam, 10).await;
    let token = wizard.stepped_up().await;

    // Step 2: the proxy's own artifact becomes the role's trust policy.
    let (status, boot) = wizard
        .step(&token, "bootstrap", json!({"region": "eu-west-1"}))
        .await;
    assert_eq!(status, 200, "{boot}");
    let external_id = boot["external_id"].as_str().unwrap().to_owned();
    assert_eq!(boot["role_name"], GOOD_ROLE);
    let trust = boot["bundle"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "trust_policy.json")
        .expect("bundle has trust_policy.json")["contents"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        trust.contains(&format!("arn:aws:iam::{PARTNER_ACCOUNT}:root"))
            && trust.contains(&external_id)
    );
    let least_privilege = boot["bundle"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == BASELINE_POLICY_FILE)
        .expect("bundle has the least-privilege policy")["contents"]
        .as_str()
        .unwrap()
        .to_owned();
    moto.add_roles(&[RoleSpec {
        name: GOOD_ROLE,
        trust_policy: trust,
        permissions: Some(least_privilege),
    }])
    .await;
    let arn = Moto::role_arn(GOOD_ROLE);
    let role = json!({"role_arn": arn, "region": "eu-west-1"});

    // Step 3.
    let (status, identity) = wizard.step(&token, "validate-identity", role.clone()).await;
    assert_eq!(status, 200, "{identity}");
    assert!(identity["attempts"].as_u64().unwrap() >= 1);
    assert_eq!(identity["account_id"], CUSTOMER_ACCOUNT);
    assert_eq!(identity["region"], "eu-west-1");
    assert_eq!(identity["confused_deputy"]["safe"], true);
    assert!(
        identity["assumed_arn"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "arn:aws:sts::{CUSTOMER_ACCOUNT}:assumed-role/{GOOD_ROLE}/"
            )),
        "{identity}"
    );
    wizard
        .assert_audited(&run_id(&identity), "validate_identity", "succeeded", None)
        .await;

    // Step 4: the role simulates its own policies (signed with moto's keys,
    // authorised and decided from its policies in moto): all granted.
    let (status, permissions) = wizard
        .step(&token, "validate-permissions", role.clone())
        .await;
    assert_eq!(status, 200, "{permissions}");
    assert_eq!(permissions["granted"], json!(AWS_REQUIRED_ACTIONS));
    assert_eq!(permissions["missing"], json!([]));
    assert_eq!(permissions["satisfied"], true);
    assert_eq!(
        simulations(&iam),
        [(200, None)],
        "one signed, authorised simulation"
    );
    wizard
        .assert_audited(
            &run_id(&permissions),
            "validate_permissions",
            "succeeded",
            None,
        )
        .await;

    // Step 4*.
    let (status, resources) = wizard
        .step(&token, "enumerate-resources", role.clone())
        .await;
    assert_eq!(status, 200, "{resources}");
    let regions = resources["regions"].as_array().unwrap();
    assert!(regions.len() > 10, "{resources}");
    assert!(regions.iter().any(|r| r["name"] == "eu-west-1"));
    wizard
        .assert_audited(
            &run_id(&resources),
            "enumerate_resources",
            "succeeded",
            None,
        )
        .await;

    // Step 5 and the masked listing.
    let (status, connected) = wizard.step(&token, "connect", role.clone()).await;
    assert_eq!(status, 200, "{connected}");
    let metadata = &connected["integration"]["metadata"];
    assert_eq!(metadata["account_id"], CUSTOMER_ACCOUNT);
    assert_eq!(metadata["role_arn"], arn.as_str());
    assert_eq!(metadata["region"], "eu-west-1");
    assert_eq!(
        connected["integration"]["credential_key"],
        format!("cloud_aws:org:{ORG}")
    );
    wizard
        .assert_audited(&run_id(&connected), "connect", "succeeded", None)
        .await;

    let (status, listed) = wizard
        .send(
            reqwest::Method::GET,
            &format!("/admin/accounts/{ORG}/integrations"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let integration = &listed["integrations"][0];
    assert_eq!(integration["metadata"]["role_arn"], arn.as_str());
    let masked = integration["metadata"]["external_id_masked"]
        .as_str()
        .unwrap();
    assert!(masked.starts_with("****"), "{masked}");
    assert!(!listed.to_string().contains(&external_id));

    // Disconnect: the record goes, the role is the operator's to delete.
    let (status, gone) = wizard
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/accounts/{ORG}/cloud/aws"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["removed"], true);
    assert!(
        gone["vendor_cleanup"][0].as_str().unwrap().contains(&arn),
        "{gone}"
    );
    wizard
        .assert_audited(&run_id(&gone), "disconnect", "succeeded", None)
        .await;

    let (status, verify) = wizard
        .send(
            reqwest::Method::GET,
            "/admin/audit/verify",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, verify["ok"].clone()),
        (200, json!(true)),
        "{verify}"
    );
    assert_eq!(
        verify["rows"], 13,
        "the steps' 10 rows, a login, a step-up and the bootstrap"
    );
}

#[tokio::test]
async fn moto_refusals_are_classified_and_audited() {
    const WRONG_ID_ROLE: &str = "alphaswarm-broker-wrong-id";
    const UNSAFE_ROLE: &str = "alphaswarm-broker-no-condition";
    let moto = Moto::start(&[
        RoleSpec {
            name: WRONG_ID_ROLE,
            // A well-formed external id, but another org's.
            trust_policy: trust_policy(
                PARTNER_ACCOUNT,
                Some("0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"),
            ),
            permissions: baseline(),
        },
        RoleSpec {
            name: UNSAFE_ROLE,
            trust_policy: trust_policy(PARTNER_ACCOUNT, None),
            permissions: baseline(),
        },
    ])
    .await;
    let iam = moto.iam_mirror().await;
    // Refusals are retried for 3 s of virtual time: a few real attempts each.
    let wizard = Wizard::with_moto("moto-refusals", &moto, &iam, 3).await;
    let token = wizard.stepped_up().await;

    let cases = [
        (
            WRONG_ID_ROLE,
            422,
            "assume_role_access_denied",
            "ExternalId",
        ),
        // STS cannot tell a missing role from an untrusting one: AccessDenied,
        // whose hint names that cause too.
        (
            "alphaswarm-broker-missing",
            422,
            "assume_role_access_denied",
            "does not exist",
        ),
        (UNSAFE_ROLE, 422, "trust_policy_unsafe", "sts:ExternalId"),
    ];
    for (role, want_status, want_code, hint_mentions) in cases {
        let (status, body) = wizard
            .step(
                &token,
                "validate-identity",
                json!({"role_arn": Moto::role_arn(role)}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (want_status, Some(want_code)),
            "{role}: {body}"
        );
        assert_eq!(body["field"], "role_arn", "{role}");
        assert!(
            body["hint"].as_str().unwrap().contains(hint_mentions),
            "{role}: {body}"
        );
        wizard
            .assert_audited(
                &run_id(&body),
                "validate_identity",
                "failed",
                Some(want_code),
            )
            .await;
    }
    // The refused AssumeRoles were retried until the window's end, in
    // virtual time: 1 s, then the 2 s left, for each of the two refusals.
    let pauses = wizard.clock.sleeps();
    assert_eq!(
        pauses.iter().sum::<std::time::Duration>(),
        std::time::Duration::from_secs(6),
        "{pauses:?}"
    );
    let rows = wizard.audit_rows().await;
    assert_eq!(rows.len(), 6);
    assert_eq!(iam.state().call_count(), 0, "no step got as far as IAM");
}

#[tokio::test]
async fn without_permission_to_simulate_step_4_is_simulate_denied_in_moto_too() {
    const OLD_BASELINE: &str = "alphaswarm-broker-old-baseline";
    const NO_REGIONS: &str = "alphaswarm-broker-no-regions";
    let external_id = alphaswarm_core::external_id::derive_external_id(
        EXTERNAL_ID_SECRET.as_bytes(),
        alphaswarm_core::CloudKind::Aws,
        &alphaswarm_core::OrgId::parse(ORG).unwrap(),
    )
    .unwrap();
    let trust = trust_policy(PARTNER_ACCOUNT, Some(external_id.as_str()));
    let moto = Moto::start(&[
        RoleSpec {
            name: OLD_BASELINE,
            trust_policy: trust.clone(),
            permissions: baseline_without("iam:SimulatePrincipalPolicy"),
        },
        RoleSpec {
            name: NO_REGIONS,
            trust_policy: trust,
            permissions: baseline_without("ec2:DescribeRegions"),
        },
    ])
    .await;
    let iam = moto.iam_mirror().await;
    let wizard = Wizard::with_moto("moto-simulate", &moto, &iam, 10).await;
    let token = wizard.stepped_up().await;

    // moto lets the role in (step 3); the simulation is refused as IAM refuses it.
    let old = json!({"role_arn": Moto::role_arn(OLD_BASELINE)});
    let (status, identity) = wizard.step(&token, "validate-identity", old.clone()).await;
    assert_eq!(status, 200, "{identity}");
    let (status, body) = wizard.step(&token, "validate-permissions", old).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("simulate_denied")),
        "{body}"
    );
    assert!(
        body["hint"]
            .as_str()
            .unwrap()
            .contains(&simulate_statement_text())
    );
    wizard
        .assert_audited(
            &run_id(&body),
            "validate_permissions",
            "failed",
            Some("simulate_denied"),
        )
        .await;
    assert_eq!(simulations(&iam), [(403, Some("AccessDenied".to_owned()))]);

    // Allowed to simulate, not to list regions: a red badge, and moto's EC2
    // refuses step 4* for the same reason.
    let no_regions = json!({"role_arn": Moto::role_arn(NO_REGIONS)});
    let (status, body) = wizard
        .step(&token, "validate-permissions", no_regions.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"], json!(["ec2:DescribeRegions"]));
    let (status, body) = wizard.step(&token, "enumerate-resources", no_regions).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("aws_access_denied")),
        "{body}"
    );
}

#[tokio::test]
async fn without_platform_credentials_steps_answer_503_and_never_call_aws() {
    // Endpoints point at a closed port: any call made would be aws_unreachable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let wizard = Wizard::start(
        "no-platform-creds",
        &[(config::AWS_ENDPOINT_URL, format!("http://{closed}"))],
    )
    .await;
    let token = wizard.stepped_up().await;
    let (status, boot) = wizard.step(&token, "bootstrap", json!({})).await;
    assert_eq!(status, 200, "bootstrap needs no AWS call: {boot}");
    let arn = format!("arn:aws:iam::{CUSTOMER_ACCOUNT}:role/{GOOD_ROLE}");
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, body) = wizard.step(&token, step, json!({"role_arn": arn})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("platform_credentials_missing")),
            "{step}: {body}"
        );
        assert!(body["hint"].as_str().unwrap().contains("AWS_ACCESS_KEY_ID"));
        wizard
            .assert_audited(
                &run_id(&body),
                &step.replace('-', "_"),
                "failed",
                Some("platform_credentials_missing"),
            )
            .await;
    }
}

#[tokio::test]
async fn the_health_check_sees_the_role_deleted_in_moto() {
    let external_id = alphaswarm_core::external_id::derive_external_id(
        EXTERNAL_ID_SECRET.as_bytes(),
        alphaswarm_core::CloudKind::Aws,
        &alphaswarm_core::OrgId::parse(ORG).unwrap(),
    )
    .unwrap();
    let moto = Moto::start(&[RoleSpec {
        name: GOOD_ROLE,
        trust_policy: trust_policy(PARTNER_ACCOUNT, Some(external_id.as_str())),
        permissions: baseline(),
    }])
    .await;
    let iam = moto.iam_mirror().await;
    let wizard = Wizard::with_moto("moto-health", &moto, &iam, 1).await;
    let token = wizard.stepped_up().await;
    let role = json!({"role_arn": Moto::role_arn(GOOD_ROLE)});
    let (status, connected) = wizard.step(&token, "connect", role).await;
    assert_eq!(status, 200, "{connected}");
    let health = format!("/admin/accounts/{ORG}/integrations/cloud_aws/health");
    let recheck = || {
        wizard.send(
            reqwest::Method::POST,
            &health,
            Some(&token),
            Some(json!({})),
        )
    };

    let (status, body) = recheck().await;
    assert_eq!(
        (status, body["health"]["status"].as_str()),
        (200, Some("healthy")),
        "{body}"
    );
    wizard
        .assert_audited(&run_id(&body), "health", "succeeded", None)
        .await;

    moto.delete_role(GOOD_ROLE).await;
    let (status, body) = recheck().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["status"], "failed", "{body}");
    assert_eq!(body["health"]["error"]["code"], "assume_role_access_denied");
    assert_eq!(body["integration"]["status"], "failed");
    assert!(
        body["integration"]["error_hint"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{body}"
    );
    wizard
        .assert_audited(
            &run_id(&body),
            "health",
            "failed",
            Some("assume_role_access_denied"),
        )
        .await;
}
