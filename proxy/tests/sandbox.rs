//! Sandbox mode in process: every cloud is a loopback fake of
//! `alphaswarm-fakes`, and "Apply in the sandbox" applies what step 2
//! rendered, so steps 3-5 pass — or fail, when broken on purpose — for the
//! fakes' own reasons (trust policy, external id, attached policy, token).
//! Also: replacing a connection needs `replace: true`, a fresh connection
//! is "never checked", and logins, step-ups and bootstraps are audited.

mod common;

use common::{TestProxy, assert_error};
use serde_json::{Value, json};

fn aws(org: &str, step: &str) -> String {
    format!("/admin/accounts/{org}/cloud/aws/{step}")
}

async fn apply(proxy: &TestProxy, token: &str, org: &str, cloud: &str, body: Value) -> Value {
    let (status, answer) = proxy
        .post(
            &format!("/admin/accounts/{org}/cloud/{cloud}/sandbox-apply"),
            token,
            body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn apply_in_the_sandbox_connects_aws_and_each_breakage_fails_for_its_reason() {
    let proxy = TestProxy::start_sandbox("sandbox-aws").await;
    let session = proxy.login().await;
    let (status, health) = proxy
        .send(reqwest::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!((status, &health["sandbox"]), (200, &json!(true)));
    let (_, clouds) = proxy
        .send(reqwest::Method::GET, "/admin/clouds", Some(&session), None)
        .await;
    assert_eq!(clouds["sandbox"]["aws"]["account_id"], "210987654321");

    let (status, bootstrap) = proxy
        .post(&aws("acme", "bootstrap"), &session, json!({}))
        .await;
    assert_eq!(status, 200, "{bootstrap}");
    let applied = apply(&proxy, &session, "acme", "aws", json!({ "request": {} })).await;
    let arn = applied["fields"]["role_arn"].as_str().unwrap().to_owned();
    assert_eq!(
        arn,
        format!(
            "arn:aws:iam::210987654321:role/{}",
            bootstrap["role_name"].as_str().unwrap()
        )
    );

    let token = proxy.stepped_up().await;
    let body = json!({ "role_arn": arn });
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
    ] {
        let (status, answer) = proxy.post(&aws("acme", step), &token, body.clone()).await;
        assert_eq!(status, 200, "{step}: {answer}");
    }
    let (status, connected) = proxy
        .post(&aws("acme", "connect"), &token, body.clone())
        .await;
    assert_eq!(status, 200, "{connected}");
    assert_eq!(connected["integration"]["status"], "never_checked");
    assert_eq!(connected["integration"]["last_health_at"], Value::Null);
    assert_eq!(
        connected["integration"]["metadata"]["account_id"],
        "210987654321"
    );

    // Broken on purpose: each fails at the step, and for the reason, a
    // customer's mistake would.
    let broken = |how: &str| json!({ "request": {}, "break": how });
    for how in ["wrong_external_id", "missing_role"] {
        apply(&proxy, &session, "acme", "aws", broken(how)).await;
        let (status, error) = proxy
            .post(&aws("acme", "validate-identity"), &token, body.clone())
            .await;
        assert_error(
            status,
            &error,
            422,
            "assume_role_access_denied",
            Some("role_arn"),
        );
    }

    apply(
        &proxy,
        &session,
        "acme",
        "aws",
        broken("missing_permissions"),
    )
    .await;
    let (status, answer) = proxy
        .post(&aws("acme", "validate-identity"), &token, body.clone())
        .await;
    assert_eq!(status, 200, "the role itself is fine: {answer}");
    let (status, error) = proxy
        .post(&aws("acme", "validate-permissions"), &token, body.clone())
        .await;
    assert_error(status, &error, 422, "simulate_denied", None);

    // A breakage another cloud has is refused by name.
    let (status, error) = proxy
        .post(
            "/admin/accounts/acme/cloud/aws/sandbox-apply",
            &session,
            broken("revoked_token"),
        )
        .await;
    assert_error(status, &error, 400, "invalid_break", Some("break"));

    let rows = proxy.audit_rows().await;
    assert!(
        rows.iter()
            .any(|r| r["step"] == "sandbox_apply" && r["phase"] == "succeeded"),
        "apply is audited"
    );
}

#[tokio::test]
async fn the_sandbox_applies_cloudflare_gcp_and_azure_set_ups_that_step_3_accepts() {
    let proxy = TestProxy::start_sandbox("sandbox-others").await;
    let session = proxy.login().await;
    let token = proxy.stepped_up().await;

    // Cloudflare: a token from the template's permission groups, then revoked.
    let request = json!({ "template": "dns_edit" });
    let applied = apply(
        &proxy,
        &session,
        "acme",
        "cloudflare",
        json!({ "request": request }),
    )
    .await;
    let cf_body = json!({
        "token": applied["fields"]["token"],
        "account_id": applied["fields"]["account_id"],
    });
    let (status, answer) = proxy
        .post(
            "/admin/accounts/acme/cloud/cloudflare/validate-identity",
            &token,
            cf_body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let revoked = apply(
        &proxy,
        &session,
        "acme",
        "cloudflare",
        json!({ "request": request, "break": "revoked_token" }),
    )
    .await;
    let (status, error) = proxy
        .post(
            "/admin/accounts/acme/cloud/cloudflare/validate-identity",
            &token,
            json!({ "token": revoked["fields"]["token"], "account_id": revoked["fields"]["account_id"] }),
        )
        .await;
    assert!(
        status == 422 || status == 401,
        "a revoked token is refused: {status} {error}"
    );

    // GCP: the pool, provider and bindings as rendered.
    let (_, clouds) = proxy
        .send(reqwest::Method::GET, "/admin/clouds", Some(&session), None)
        .await;
    let project = clouds["sandbox"]["gcp"].clone();
    let gcp_request = json!({
        "project_id": project["project_id"],
        "project_number": project["project_number"],
    });
    let (status, bootstrap) = proxy
        .post(
            "/admin/accounts/acme/cloud/gcp/bootstrap",
            &session,
            gcp_request.clone(),
        )
        .await;
    assert_eq!(status, 200, "{bootstrap}");
    apply(
        &proxy,
        &session,
        "acme",
        "gcp",
        json!({ "request": gcp_request }),
    )
    .await;
    let mut step = gcp_request.clone();
    step["service_account_email"] = json!(format!(
        "alphaswarm-acme@{}.iam.gserviceaccount.com",
        project["project_id"].as_str().unwrap()
    ));
    let (status, answer) = proxy
        .post(
            "/admin/accounts/acme/cloud/gcp/validate-identity",
            &token,
            step,
        )
        .await;
    assert_eq!(status, 200, "{answer}");

    // Azure: the customer-managed identity, as the bundle's commands make it.
    let tenant = clouds["sandbox"]["azure"].clone();
    let az_request = json!({
        "tenant_id": tenant["tenant_id"], "subscription_id": tenant["subscription_id"],
    });
    let applied = apply(
        &proxy,
        &session,
        "acme",
        "azure",
        json!({ "request": az_request }),
    )
    .await;
    let mut step = az_request.clone();
    step["mode"] = json!("managed_identity");
    if let Some(client) = applied["fields"]["client_id"].as_str() {
        step["client_id"] = json!(client);
    }
    let (status, answer) = proxy
        .post(
            "/admin/accounts/acme/cloud/azure/validate-identity",
            &token,
            step,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn apply_is_not_served_outside_the_sandbox() {
    let proxy = TestProxy::start("sandbox-off").await;
    let session = proxy.login().await;
    let (status, error) = proxy
        .post(
            "/admin/accounts/acme/cloud/aws/sandbox-apply",
            &session,
            json!({}),
        )
        .await;
    assert_error(status, &error, 404, "sandbox_off", None);
    let (_, health) = proxy
        .send(reqwest::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!(health["sandbox"], false);
}

#[tokio::test]
async fn a_second_connection_of_a_kind_needs_replace_and_shows_the_first() {
    let proxy = TestProxy::start_sandbox("sandbox-replace").await;
    let session = proxy.login().await;
    let token = proxy.stepped_up().await;
    let applied = apply(&proxy, &session, "acme", "aws", json!({})).await;
    let body = json!({ "role_arn": applied["fields"]["role_arn"] });
    let (status, first) = proxy
        .post(&aws("acme", "connect"), &token, body.clone())
        .await;
    assert_eq!(status, 200, "{first}");

    let (status, error) = proxy
        .post(&aws("acme", "connect"), &token, body.clone())
        .await;
    assert_error(status, &error, 409, "already_connected", None);
    assert_eq!(
        error["existing"]["metadata"],
        first["integration"]["metadata"]
    );
    assert_eq!(error["existing"]["kind"], "cloud_aws");
    let (_, bootstrap) = proxy
        .post(&aws("acme", "bootstrap"), &session, json!({}))
        .await;
    let external_id = bootstrap["external_id"].as_str().unwrap();
    assert!(
        !error.to_string().contains(external_id),
        "the existing connection is shown masked"
    );

    let (status, error) = proxy
        .post(
            &aws("acme", "connect"),
            &token,
            json!({ "role_arn": body["role_arn"], "replace": "yes" }),
        )
        .await;
    assert_error(status, &error, 400, "invalid_body", Some("replace"));

    let (status, replaced) = proxy
        .post(
            &aws("acme", "connect"),
            &token,
            json!({ "role_arn": body["role_arn"], "replace": true }),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["integration"]["status"], "never_checked");

    // Another org is unaffected by acme's connection.
    let (status, error) = proxy
        .post(
            &aws("beta", "connect"),
            &token,
            json!({ "role_arn": body["role_arn"] }),
        )
        .await;
    assert_ne!(
        error["code"], "already_connected",
        "{status}: a connection of another org is not this org's"
    );
}

#[tokio::test]
async fn logins_step_ups_and_bootstraps_are_audited_without_secrets() {
    let proxy = TestProxy::start("audit-sessions").await;
    let canary = "canary-password-Zq81x";
    let (status, _) = proxy
        .send(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({ "username": "admin", "password": canary })),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = proxy
        .send(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({ "username": canary, "password": "x" })),
        )
        .await;
    assert_eq!(status, 401);
    let session = proxy.login().await;
    let (status, _) = proxy
        .post("/auth/step-up", &session, json!({ "code": "000000" }))
        .await;
    assert_eq!(status, 401);
    proxy.stepped_up().await;
    let (status, _) = proxy
        .post(&aws("acme", "bootstrap"), &session, json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = proxy
        .post(
            &aws("acme", "bootstrap"),
            &session,
            json!({ "region": "mars-1" }),
        )
        .await;
    assert_eq!(status, 400);

    let rows = proxy.all_audit_rows().await;
    let find = |step: &str, phase: &str| {
        rows.iter()
            .filter(|r| r["step"] == step && r["phase"] == phase)
            .count()
    };
    assert_eq!(find("login", "failed"), 2, "{rows:#?}");
    // Two successful logins: one of its own, one before the step-up.
    assert_eq!(find("login", "succeeded"), 2);
    assert_eq!(find("step_up", "failed"), 1);
    assert_eq!(find("step_up", "succeeded"), 1);
    assert_eq!(find("bootstrap", "succeeded"), 1);
    assert_eq!(find("bootstrap", "failed"), 1);
    let failed_login = rows
        .iter()
        .find(|r| r["step"] == "login" && r["phase"] == "failed")
        .unwrap();
    assert_eq!(failed_login["error_code"], "unauthenticated");
    let bootstrap = rows.iter().find(|r| r["step"] == "bootstrap").unwrap();
    assert_eq!(
        (&bootstrap["cloud"], &bootstrap["org_id"]),
        (&json!("aws"), &json!("acme"))
    );
    let trail = common::audit_lines(&proxy.database).await.join("\n");
    assert!(
        !trail.contains(canary),
        "no typed password or name in the trail"
    );
    assert!(!trail.contains(&proxy.password));
    assert!(
        proxy.verify_audit().await.ok,
        "the new rows keep the chain intact"
    );
}
