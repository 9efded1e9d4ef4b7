//! The AWS wizard end to end over HTTP against the in-process fake AWS:
//! every step, each classified failure, the audit rows and the masked store.

mod common;

use alphaswarm_proxy::store::IntegrationStore;

use alphaswarm_proxy::providers::fake_aws::FakeRole;
use common::*;
use serde_json::json;

#[tokio::test]
async fn the_whole_wizard_succeeds_and_is_audited() {
    let proxy = TestProxy::start("flow").await;
    let org = "acme";
    let arn = role_arn(CUSTOMER, "alphaswarm-broker-acme");
    proxy.fake.add_role(&arn, good_role(org));
    let session = proxy.login().await;

    // Step 2 needs only a session.
    let (status, body) = proxy
        .post(
            &step(org, "bootstrap"),
            &session,
            json!({"region": "eu-west-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["external_id"], external_id_for(org));
    assert_eq!(body["role_name"], "alphaswarm-broker-acme");
    let policy = body["bundle"]["files"][0]["contents"].as_str().unwrap();
    assert!(
        policy.contains(&format!("arn:aws:iam::{PARTNER}:root"))
            && policy.contains(&external_id_for(org))
    );
    assert_eq!(proxy.fake.calls(), 0, "bootstrap calls no cloud");
    assert!(
        proxy.audit_rows().await.is_empty(),
        "bootstrap writes no audit row"
    );

    let token = proxy.stepped_up().await;
    let (status, body) = proxy
        .post(
            &step(org, "validate-identity"),
            &token,
            json!({"role_arn": arn}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account_id"], CUSTOMER);
    assert_eq!(body["attempts"], 1);
    assert_eq!(body["confused_deputy"]["safe"], true);
    assert!(
        body["assumed_arn"]
            .as_str()
            .unwrap()
            .starts_with(&format!("arn:aws:sts::{CUSTOMER}:assumed-role/"))
    );
    let identity_run = body["audit_run_id"].as_str().unwrap().to_owned();

    let (status, body) = proxy
        .post(
            &step(org, "validate-permissions"),
            &token,
            json!({"role_arn": arn}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"], json!([]));
    assert_eq!(body["granted"].as_array().unwrap().len(), 3);

    let (status, body) = proxy
        .post(
            &step(org, "enumerate-resources"),
            &token,
            json!({"role_arn": arn}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "us-east-1")
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
    assert_eq!(body["integrations"][0]["status"], "healthy");
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
    let (_, body) = proxy
        .send(
            reqwest::Method::GET,
            "/admin/accounts/acme/integrations",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(body["integrations"], json!([]));

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
        (200, json!(true), json!(10))
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
async fn classified_failures_are_422_with_hints_and_failed_audit_rows() {
    let proxy = TestProxy::start("failures").await;
    let org = "acme";
    let token = proxy.stepped_up().await;
    let wrong_id = role_arn(CUSTOMER, "wrong-external-id");
    proxy.fake.add_role(
        &wrong_id,
        FakeRole {
            required_external_id: Some("some-other-external-id".into()),
            ..good_role(org)
        },
    );
    let mismatch = role_arn(CUSTOMER, "elsewhere");
    proxy.fake.add_role(
        &mismatch,
        FakeRole {
            account: "999999999999".into(),
            ..good_role(org)
        },
    );
    let unsafe_role = role_arn(CUSTOMER, "unsafe");
    proxy.fake.add_role(
        &unsafe_role,
        FakeRole {
            required_external_id: None,
            ..good_role(org)
        },
    );
    let partial = role_arn(CUSTOMER, "partial");
    proxy.fake.add_role(
        &partial,
        FakeRole {
            allowed_actions: vec!["sts:GetCallerIdentity".into()],
            ..good_role(org)
        },
    );

    let cases = [
        (
            wrong_id.as_str(),
            "validate-identity",
            422,
            "assume_role_access_denied",
        ),
        (
            &role_arn(CUSTOMER, "missing"),
            "validate-identity",
            422,
            "role_not_found",
        ),
        (
            mismatch.as_str(),
            "validate-identity",
            422,
            "account_mismatch",
        ),
        (
            unsafe_role.as_str(),
            "validate-identity",
            422,
            "trust_policy_unsafe",
        ),
        (
            &role_arn(CUSTOMER, "missing"),
            "connect",
            422,
            "role_not_found",
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
        let rows: Vec<_> = proxy
            .audit_rows()
            .await
            .into_iter()
            .filter(|r| r["audit_run_id"] == run)
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0]["phase"].as_str(), rows[1]["phase"].as_str()),
            (Some("pending"), Some("failed"))
        );
        assert_eq!(rows[1]["error_code"], want_code);
    }

    let (status, body) = proxy
        .post(
            &step(org, "validate-permissions"),
            &token,
            json!({"role_arn": partial}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["missing"],
        json!(["iam:GetRole", "ec2:DescribeRegions"])
    );
    assert_eq!(body["results"][1]["decision"], "implicitDeny");

    proxy.fake.set_unreachable(true);
    let (status, body) = proxy
        .post(
            &step(org, "enumerate-resources"),
            &token,
            json!({"role_arn": partial}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("aws_unreachable"))
    );

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
async fn a_fresh_role_is_retried_while_iam_settles_and_attempts_are_reported() {
    let proxy = TestProxy::start_with(
        "settle",
        &[(alphaswarm_proxy::config::AWS_SETTLE_SECONDS, "5")],
    )
    .await;
    let arn = role_arn(CUSTOMER, "fresh");
    proxy.fake.add_role(
        &arn,
        alphaswarm_proxy::providers::fake_aws::FakeRole {
            settle_failures: 2,
            ..good_role("acme")
        },
    );
    let token = proxy.stepped_up().await;
    let (status, body) = proxy
        .post(
            &step("acme", "validate-identity"),
            &token,
            json!({"role_arn": arn}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempts"], 3);
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
    let arn = role_arn(CUSTOMER, "alphaswarm-broker-acme");
    proxy.fake.add_role(&arn, good_role("acme"));
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
    assert_eq!(proxy.fake.calls(), 0, "no cloud call without an audit row");
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
            .contains("aws_iam_role")
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
async fn the_step_region_is_where_sts_is_called_and_a_disabled_one_is_classified() {
    let proxy = TestProxy::start("regions").await;
    let arn = role_arn(CUSTOMER, "alphaswarm-broker-acme");
    proxy.fake.add_role(&arn, good_role("acme"));
    proxy.fake.disable_region("ap-east-1");
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
    assert!(
        proxy.fake.regions_used().iter().all(|r| r == "eu-west-1"),
        "{:?}",
        proxy.fake.regions_used()
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
    let calls = proxy.fake.calls();
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
    assert_eq!(proxy.fake.calls(), calls);
}
