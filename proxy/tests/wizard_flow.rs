//! The AWS wizard end to end over HTTP: the proxy's real AWS client signs
//! every call to the loopback AWS fake, whose roles are built from the
//! artifacts the core rendered and which authorises every call as IAM does.
//! Every step, each classified failure, the audit rows and the masked store.

mod common;

use alphaswarm_core::aws::{BASELINE_POLICY_FILE, BASELINE_POLICY_NAME, simulate_statement_text};
use alphaswarm_core::baseline::AWS_REQUIRED_ACTIONS;
use alphaswarm_proxy::store::IntegrationStore;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn file<'a>(bootstrap: &'a Value, name: &str) -> &'a str {
    bootstrap["bundle"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {bootstrap}"))["contents"]
        .as_str()
        .unwrap()
}

/// The independent audit oracle (tests/oracles/audit_chain.py, API.md's
/// formula in Python) on the proxy's audit file: (exit code, its report).
fn audit_oracle(path: &std::path::Path) -> (i32, Value) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/audit_chain.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 runs the audit oracle");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report)
}

#[tokio::test]
async fn a_least_privilege_role_from_the_bootstrap_walks_every_step_and_is_audited() {
    let proxy = TestProxy::start("flow").await;
    let org = "acme";
    let session = proxy.login().await;

    // Step 2 needs only a session, and calls no cloud.
    let (status, boot) = proxy
        .post(
            &step(org, "bootstrap"),
            &session,
            json!({"region": "eu-west-1"}),
        )
        .await;
    assert_eq!(status, 200, "{boot}");
    assert_eq!(boot["external_id"], external_id_for(org));
    assert_eq!(boot["role_name"], "alphaswarm-broker-acme");
    let trust = file(&boot, "trust_policy.json");
    assert!(
        trust.contains(&format!("arn:aws:iam::{PARTNER}:root"))
            && trust.contains(&external_id_for(org))
    );
    let baseline: Value = serde_json::from_str(file(&boot, BASELINE_POLICY_FILE)).unwrap();
    assert_eq!(
        baseline["Statement"][0]["Action"],
        json!(AWS_REQUIRED_ACTIONS)
    );
    assert_eq!(proxy.aws.calls(), 0, "bootstrap calls no cloud");
    assert!(
        proxy.audit_rows().await.is_empty(),
        "bootstrap writes no action rows (its single result row aside)"
    );

    // The customer applies exactly those two files, nothing else.
    let state = &proxy.aws.state;
    let arn = state
        .create_role(CUSTOMER, "alphaswarm-broker-acme", "/", trust)
        .unwrap();
    state
        .put_role_policy(
            &arn,
            BASELINE_POLICY_NAME,
            file(&boot, BASELINE_POLICY_FILE),
        )
        .unwrap();

    let token = proxy.stepped_up().await;
    let (status, body) = proxy
        .role_step(&token, org, "validate-identity", &arn)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account_id"], CUSTOMER);
    assert_eq!(body["attempts"], 1);
    assert_eq!(body["confused_deputy"]["safe"], true);
    assert_eq!(
        body["assumed_arn"],
        format!(
            "arn:aws:sts::{CUSTOMER}:assumed-role/alphaswarm-broker-acme/alphaswarm-validate-acme"
        )
    );
    let identity_run = body["audit_run_id"].as_str().unwrap().to_owned();

    let (status, body) = proxy
        .role_step(&token, org, "validate-permissions", &arn)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"], json!([]));
    assert_eq!(body["granted"], json!(AWS_REQUIRED_ACTIONS));
    assert_eq!(body["satisfied"], true);
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["decision"] == "allowed")
    );

    let (status, body) = proxy
        .role_step(&token, org, "enumerate-resources", &arn)
        .await;
    assert_eq!(status, 200, "{body}");
    let regions = body["regions"].as_array().unwrap();
    assert!(
        regions
            .iter()
            .any(|r| r["name"] == "us-east-1" && r["opt_in_status"] == "opt-in-not-required")
    );
    assert!(
        regions.iter().any(|r| r["opt_in_status"] == "not-opted-in"),
        "AllRegions=true"
    );

    let (status, body) = proxy
        .post(
            &step(org, "connect"),
            &token,
            json!({"role_arn": arn, "region": "eu-west-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let integration = &body["integration"];
    assert_eq!(integration["credential_key"], "cloud_aws:org:acme");
    assert_eq!(integration["metadata"]["account_id"], CUSTOMER);
    assert_eq!(integration["metadata"]["region"], "eu-west-1");
    let masked = integration["metadata"]["external_id_masked"]
        .as_str()
        .unwrap();
    assert!(masked.starts_with("****") && !body.to_string().contains(&external_id_for(org)));

    // Every AWS call the steps made was signed and accepted, but one: the
    // deputy check's AssumeRole without the external id, which must be refused.
    let calls = state.calls();
    let refused: Vec<_> = calls.iter().filter(|c| c.status != 200).collect();
    assert_eq!(refused.len(), 1, "{calls:?}");
    assert_eq!(
        (refused[0].action.as_str(), refused[0].error_code.as_deref()),
        ("AssumeRole", Some("AccessDenied"))
    );
    assert!(
        calls
            .iter()
            .any(|c| c.action == "SimulatePrincipalPolicy" && c.region == "us-east-1")
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.service == "sts")
            .all(|c| c.region == "us-east-1" || c.region == "eu-west-1")
    );

    let (status, body) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/accounts/acme/integrations",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["integrations"].as_array().unwrap().len(), 1);
    assert_eq!(body["integrations"][0]["status"], "never_checked");
    let (_, other) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/accounts/beta/integrations",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(other["integrations"], json!([]));

    let (status, body) = proxy
        .send(
            reqwest::Method::DELETE,
            "/admin/accounts/acme/cloud/aws",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed"], true);
    assert!(body["vendor_cleanup"][0].as_str().unwrap().contains(&arn));

    // Five protected calls: a pending and a succeeded row each, chained.
    let rows = proxy.audit_rows().await;
    let steps: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["step"].as_str().unwrap().to_owned(),
                r["phase"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        "validate_identity",
        "validate_permissions",
        "enumerate_resources",
        "connect",
        "disconnect",
    ]
    .iter()
    .flat_map(|s| {
        [
            (s.to_string(), "pending".to_string()),
            (s.to_string(), "succeeded".to_string()),
        ]
    })
    .collect();
    assert_eq!(steps, expected);
    assert_eq!(rows[0]["audit_run_id"], identity_run);
    assert_eq!(rows[1]["audit_run_id"], identity_run);
    assert!(
        rows.iter()
            .all(|r| r["actor"] == "admin" && r["org_id"] == "acme" && r["cloud"] == "aws")
    );
    let (status, body) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/audit/verify",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(
        (status, body["ok"].clone(), body["rows"].clone()),
        (200, json!(true), json!(14)),
        "the steps' 10 rows, two logins, a step-up and the bootstrap"
    );
    // The independent oracle, from API.md's formula, agrees.
    assert_eq!(
        audit_oracle(&proxy.audit_rows_file().await),
        (0, json!({"ok": true, "rows": 14, "first_bad_row": null}))
    );

    // Editing one row breaks the chain exactly there.
    exec_sql(
        &proxy.database,
        "UPDATE audit_rows SET line = REPLACE(line, '\"phase\":\"succeeded\"', '\"phase\":\"failed\"') WHERE seq = 4",
    )
    .await;
    let (_, body) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/audit/verify",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(
        (body["ok"].clone(), body["first_bad_row"].clone()),
        (json!(false), json!(4))
    );
    assert_eq!(
        audit_oracle(&proxy.audit_rows_file().await),
        (1, json!({"ok": false, "rows": 3, "first_bad_row": 4}))
    );
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_alphaswarm-proxy"))
        .arg("verify-audit")
        .env_clear()
        .env("HOME", &proxy.dir)
        .env(alphaswarm_proxy::config::STATE_DIR, proxy.dir.join("state"))
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&cli.stdout).contains("\"first_bad_row\": 4"));
}

#[tokio::test]
async fn refusals_are_classified_as_aws_refuses_them_with_hints_and_failed_audit_rows() {
    let proxy = TestProxy::start("failures").await;
    let org = "acme";
    let aws = &proxy.aws;
    let token = proxy.stepped_up().await;
    let wrong_id = aws.role(
        org,
        "wrong-external-id",
        Trust::OtherExternalId,
        Grant::Baseline,
    );
    let unsafe_role = aws.role(org, "unsafe", Trust::NoCondition, Grant::Baseline);
    // Another org's correctly rendered role: its external id is not acme's.
    let other_org = aws.role(
        "beta",
        "alphaswarm-broker-beta",
        Trust::Rendered,
        Grant::Baseline,
    );
    let missing = role_arn(CUSTOMER, "missing");

    let cases = [
        (
            wrong_id.as_str(),
            "validate-identity",
            422,
            "assume_role_access_denied",
        ),
        (
            other_org.as_str(),
            "validate-identity",
            422,
            "assume_role_access_denied",
        ),
        // STS cannot tell a missing role from an untrusting one.
        (
            missing.as_str(),
            "validate-identity",
            422,
            "assume_role_access_denied",
        ),
        (
            unsafe_role.as_str(),
            "validate-identity",
            422,
            "trust_policy_unsafe",
        ),
        (
            missing.as_str(),
            "connect",
            422,
            "assume_role_access_denied",
        ),
    ];
    for (arn, path, want_status, want_code) in cases {
        let (status, body) = proxy
            .post(&step(org, path), &token, json!({"role_arn": arn}))
            .await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (want_status, want_code),
            "{arn}: {body}"
        );
        assert_eq!(body["field"], "role_arn");
        assert!(!body["hint"].as_str().unwrap().is_empty());
        let run = body["audit_run_id"].as_str().unwrap();
        let rows: Vec<_> = proxy.audit_run(run).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0]["phase"].as_str(), rows[1]["phase"].as_str()),
            (Some("pending"), Some("failed"))
        );
        assert_eq!(rows[1]["error_code"], want_code);
    }
    let hint = proxy
        .role_step(&token, org, "validate-identity", &missing)
        .await
        .1["hint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(hint.contains("does not exist yet"), "{hint}");

    // The account check, seen by breaking the fake on purpose (AWS never
    // reports another account for the role it assumed).
    let good = aws.role(
        org,
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    aws.state.misreport_caller_account(Some("999999999999"));
    let (status, body) = proxy
        .role_step(&token, org, "validate-identity", &good)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("account_mismatch")),
        "{body}"
    );
    aws.state.misreport_caller_account(None);

    // Throttling is retried like settling, then classified.
    aws.state.throttle_next(1_000);
    let (status, body) = proxy
        .role_step(&token, org, "enumerate-resources", &good)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("throttled")),
        "{body}"
    );
    aws.state.throttle_next(0);

    // Nothing failed was stored.
    let session = proxy.login().await;
    let (_, body) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/accounts/acme/integrations",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(body["integrations"], json!([]));
}

#[tokio::test]
async fn step_4_needs_permission_to_simulate_and_says_exactly_what_to_add() {
    let proxy = TestProxy::start("simulate").await;
    let org = "acme";
    let aws = &proxy.aws;
    let token = proxy.stepped_up().await;
    let path = step(org, "validate-permissions");
    let permissions = |arn: &str| proxy.post(&path, &token, json!({"role_arn": arn}));

    // The earlier three-action baseline, or no permissions at all: IAM
    // refuses the simulation itself, and step 4 says so with its own code.
    let old_baseline = aws.role(
        org,
        "old-baseline",
        Trust::Rendered,
        Grant::BaselineWithout("iam:SimulatePrincipalPolicy"),
    );
    let bare = aws.role(org, "bare", Trust::Rendered, Grant::Nothing);
    for arn in [&old_baseline, &bare] {
        let (status, body) = permissions(arn).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("simulate_denied")),
            "{arn}: {body}"
        );
        let hint = body["hint"].as_str().unwrap();
        assert!(
            hint.contains(&simulate_statement_text()),
            "the exact statement: {hint}"
        );
        assert!(hint.contains(BASELINE_POLICY_FILE), "{hint}");
        let run = body["audit_run_id"].as_str().unwrap();
        let result = proxy.audit_run(run).await.pop().unwrap();
        assert_eq!(result["error_code"], "simulate_denied");
    }
    let refused = aws
        .state
        .calls()
        .into_iter()
        .filter(|c| c.action == "SimulatePrincipalPolicy")
        .collect::<Vec<_>>();
    assert_eq!(refused.len(), 2);
    assert!(
        refused
            .iter()
            .all(|c| c.status == 403 && c.error_code.as_deref() == Some("AccessDenied"))
    );

    // Simulation allowed, one action missing: a red badge, and the role
    // really cannot do it (step 4* is refused by EC2).
    let no_regions = aws.role(
        org,
        "no-regions",
        Trust::Rendered,
        Grant::BaselineWithout("ec2:DescribeRegions"),
    );
    let (status, body) = permissions(&no_regions).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"], json!(["ec2:DescribeRegions"]));
    assert_eq!(body["satisfied"], false);
    let decision = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "ec2:DescribeRegions")
        .unwrap();
    assert_eq!(
        (decision["decision"].as_str(), decision["granted"].as_bool()),
        (Some("implicitDeny"), Some(false))
    );
    let (status, body) = proxy
        .role_step(&token, org, "enumerate-resources", &no_regions)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("aws_access_denied")),
        "{body}"
    );
    assert!(
        body["hint"]
            .as_str()
            .unwrap()
            .contains("ec2:DescribeRegions")
    );

    // The fix the UI shows (the whole least-privilege policy, put again
    // under its name) turns every role green, and only then.
    for arn in [&old_baseline, &bare, &no_regions] {
        aws.state
            .put_role_policy(
                arn,
                BASELINE_POLICY_NAME,
                &alphaswarm_core::aws::baseline_policy_json(),
            )
            .unwrap();
        let (status, body) = permissions(arn).await;
        assert_eq!(
            (status, body["satisfied"].clone()),
            (200, json!(true)),
            "{arn}: {body}"
        );
    }
}

#[tokio::test]
async fn unreachable_aws_is_a_502() {
    let mut proxy = TestProxy::start("unreachable").await;
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let token = proxy.stepped_up().await;
    proxy.aws.stop();
    let (status, body) = proxy
        .role_step(&token, "acme", "enumerate-resources", &arn)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("aws_unreachable")),
        "{body}"
    );
}

#[tokio::test]
async fn a_fresh_role_is_retried_while_iam_settles_and_attempts_are_counted() {
    let proxy = TestProxy::start("settle").await;
    let arn = proxy
        .aws
        .role("acme", "fresh", Trust::Rendered, Grant::Baseline);
    // IAM refuses AssumeRole twice, as for a role created seconds ago.
    proxy.aws.state.settle_after(&arn, 2);
    let token = proxy.stepped_up().await;
    let (status, body) = proxy
        .role_step(&token, "acme", "validate-identity", &arn)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempts"], 3);
    // Backoff in virtual time: 1 s, then 2 s; no wall-clock time passed.
    assert_eq!(
        proxy.clock.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
    let assumes = proxy
        .aws
        .state
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRole")
        .count();
    assert_eq!(
        assumes, 4,
        "three with the external id, one without (the deputy check)"
    );

    // A wrong external id is retried until the settle window (30 s virtual)
    // ends, then reported with the number of attempts.
    let wrong = proxy
        .aws
        .role("acme", "wrong", Trust::OtherExternalId, Grant::Baseline);
    let (status, body) = proxy
        .role_step(&token, "acme", "validate-identity", &wrong)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("assume_role_access_denied"))
    );
    let pauses: Duration = proxy.clock.sleeps()[2..].iter().sum();
    assert_eq!(
        pauses,
        Duration::from_secs(30),
        "the whole window, in virtual time"
    );
    assert!(
        body["message"].as_str().unwrap().contains("attempts"),
        "{body}"
    );
}

#[tokio::test]
async fn bootstrap_without_partner_account_names_the_env_var() {
    let proxy = TestProxy::start_with(
        "nopartner",
        &[(alphaswarm_proxy::config::PARTNER_ACCOUNT_ID, "")],
    )
    .await;
    let session = proxy.login().await;
    let (status, body) = proxy
        .post(&step("acme", "bootstrap"), &session, json!({}))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "not_configured");
    assert_eq!(body["field"], "ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID");
}

#[tokio::test]
async fn an_unwritable_audit_log_stops_the_step_before_any_cloud_call() {
    let proxy = TestProxy::start("unwritable").await;
    // The database refuses every audit row (as a full disk or a revoked grant would).
    exec_sql(
        &proxy.database,
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_rows BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .await;
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    let token = proxy.stepped_up().await;
    for path in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, body) = proxy
            .post(&step("acme", path), &token, json!({"role_arn": arn}))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("audit_unavailable")),
            "{path}"
        );
    }
    let (status, _) = proxy
        .send(
            reqwest::Method::DELETE,
            "/admin/accounts/acme/cloud/aws",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 503);
    assert_eq!(proxy.aws.calls(), 0, "no cloud call without an audit row");
    assert_eq!(
        proxy.store().await.count().await.unwrap(),
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn bootstrap_renders_the_full_core_bundle_with_org_variant_and_launch_link() {
    let template = "https://alphaswarm-templates.s3.amazonaws.com/alphaswarm-broker-role.cfn.json";
    let proxy = TestProxy::start_with(
        "full-bundle",
        &[(alphaswarm_proxy::config::AWS_TEMPLATE_URL, template)],
    )
    .await;
    let session = proxy.login().await;
    let (status, body) = proxy
        .post(
            &step("acme", "bootstrap"),
            &session,
            json!({"region": "eu-central-1", "organizational_unit_ids": ["ou-ab12-cd34ef56"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let bundle = &body["bundle"];
    let files: Vec<&str> = bundle["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for want in [
        "trust_policy.json",
        BASELINE_POLICY_FILE,
        "alphaswarm-broker-role.cfn.json",
        "alphaswarm-broker-org.cfn.json",
    ] {
        assert!(files.contains(&want), "{want} missing from {files:?}");
    }
    assert!(
        bundle["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["contents"].as_str().unwrap().contains("ou-ab12-cd34ef56")),
        "the OU reaches the StackSet template"
    );
    assert!(
        bundle["terraform"]
            .as_str()
            .unwrap()
            .contains("aws_iam_role_policy")
    );
    let launch = bundle["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "cloudformation_quick_create")
        .unwrap_or_else(|| panic!("no quick-create link: {bundle}"));
    let url = launch["url"].as_str().unwrap();
    assert!(url.contains("region=eu-central-1") && url.contains(&external_id_for("acme")));

    // Without the template URL: no launch link; a bad OU is the core's error on the body field.
    let plain = TestProxy::start("plain-bundle").await;
    let session = plain.login().await;
    let (status, body) = plain
        .post(&step("acme", "bootstrap"), &session, json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.to_string().contains("cloudformation_quick_create"),
        "{body}"
    );
    let (status, body) = plain
        .post(
            &step("acme", "bootstrap"),
            &session,
            json!({"organizational_unit_ids": ["not-an-ou"]}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("organizational_unit_ids")),
        "{body}"
    );
}

#[tokio::test]
async fn the_step_region_is_where_sts_is_signed_and_a_deactivated_one_is_classified() {
    let proxy = TestProxy::start("regions").await;
    let arn = proxy.aws.role(
        "acme",
        "alphaswarm-broker-acme",
        Trust::Rendered,
        Grant::Baseline,
    );
    proxy.aws.state.deactivate_sts_region(CUSTOMER, "ap-east-1");
    let token = proxy.stepped_up().await;

    let (status, body) = proxy
        .post(
            &step("acme", "validate-identity"),
            &token,
            json!({"role_arn": arn, "region": "eu-west-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["region"], "eu-west-1");
    let regions: Vec<String> = proxy
        .aws
        .state
        .calls()
        .into_iter()
        .map(|c| c.region)
        .collect();
    assert!(
        !regions.is_empty() && regions.iter().all(|r| r == "eu-west-1"),
        "{regions:?}"
    );

    let (status, body) = proxy
        .post(
            &step("acme", "validate-identity"),
            &token,
            json!({"role_arn": arn, "region": "ap-east-1"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("region_disabled"), Some("region")),
        "{body}"
    );
    assert!(body["hint"].as_str().unwrap().contains("ap-east-1"));

    // A region outside the ARN's partition is bad input, before any call.
    let calls = proxy.aws.calls();
    let (status, body) = proxy
        .post(
            &step("acme", "connect"),
            &token,
            json!({"role_arn": arn, "region": "cn-north-1"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (400, Some("region_partition_mismatch"), Some("region")),
        "{body}"
    );
    assert_eq!(proxy.aws.calls(), calls);
}
