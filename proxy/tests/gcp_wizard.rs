//! The GCP wizard over HTTP against the loopback Google Cloud fake, whose
//! pools, providers and bindings are built by applying the bundle the proxy
//! renders: the happy path end to end, isolation (another org's assertion,
//! the old pool-wide binding), every federation failure with its code and
//! field, the baseline red then green, Compute disabled, propagation
//! retries, the private-issuer variant, health, clean-up, audit and step-up.

mod common;
mod gcp_support;

use gcp_support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ORG: &str = "acme";

fn acme() -> Value {
    body(ORG, PROJECT, NUMBER)
}

fn account(org: &str, project: &str) -> String {
    format!("alphaswarm-{org}@{project}.iam.gserviceaccount.com")
}

#[tokio::test]
async fn happy_path_end_to_end_with_health_and_clean_up() {
    let w = GcpWorld::start("gcp-happy").await;
    // Step 2: the proxy's issuer, this org's audience, the exact member.
    let boot = w
        .bootstrap_answer(
            ORG,
            json!({ "project_id": PROJECT, "project_number": NUMBER, "roles": ROLES }),
        )
        .await;
    assert_eq!(boot["issuer"], w.issuer);
    assert_eq!(boot["subject"], "org:acme");
    assert_eq!(boot["audience"], "https://alpha-swarm.ai/gcp/acme");
    assert_eq!(boot["attribute_condition"], "assertion.sub=='org:acme'");
    assert_eq!(boot["principal"], principal(ORG, NUMBER));
    assert_eq!(boot["service_account_created"], true);
    assert!(
        w.proxy.audit_rows().await.is_empty(),
        "bootstrap writes no action rows (its single result row aside)"
    );
    w.onboard(ORG, PROJECT, NUMBER).await;
    assert_eq!(
        w.fake
            .service_account_members(&account(ORG, PROJECT), "roles/iam.workloadIdentityUser"),
        vec![principal(ORG, NUMBER)]
    );

    let token = w.proxy.stepped_up().await;
    let (status, three) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_eq!(status, 200, "{three}");
    assert_eq!(three["attempts"], 1);
    assert_eq!(three["project"]["project_number"], NUMBER);
    assert_eq!(three["project"]["lifecycle_state"], "ACTIVE");
    assert_eq!(three["confused_deputy"]["safe"], true, "{three}");
    assert_eq!(three["confused_deputy"]["refused_by"], "sts");
    assert_eq!(
        three["provider_audience"],
        format!(
            "//iam.googleapis.com/{}/providers/alphaswarm-oidc",
            pool(ORG, NUMBER)
        )
    );

    let (status, four) = w.step(&token, ORG, "validate-permissions", acme()).await;
    assert_eq!(status, 200, "{four}");
    assert_eq!(four["satisfied"], true, "{four}");
    assert_eq!(four["missing"], json!([]));
    let required: BTreeSet<&str> = four["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(required.contains("resourcemanager.projects.get"));
    assert!(required.contains("compute.regions.list"));
    assert!(
        four["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["granted"] == true && r["fix"].is_null())
    );

    let (status, regions) = w.step(&token, ORG, "enumerate-resources", acme()).await;
    assert_eq!(status, 200, "{regions}");
    assert_eq!(regions["compute"], "enabled");
    assert!(
        regions["regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "us-central1" && r["status"] == "UP"),
        "{regions}"
    );

    let (status, five) = w.step(&token, ORG, "connect", acme()).await;
    assert_eq!(status, 200, "{five}");
    let integration = &five["integration"];
    assert_eq!(integration["credential_key"], "cloud_gcp:org:acme");
    let metadata = integration["metadata"].as_object().unwrap();
    let keys: BTreeSet<&str> = metadata.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "issuer",
            "pool_id",
            "project_id",
            "project_number",
            "provider_id",
            "service_account_email",
            "subject"
        ])
    );
    assert_eq!(metadata["issuer"], w.issuer);
    assert_eq!(metadata["pool_id"], "alphaswarm-broker-acme");

    // The health hook re-proves the chain from the stored record.
    let (status, health) = w
        .proxy
        .post(
            "/admin/accounts/acme/integrations/cloud_gcp/health",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["health"]["status"], "healthy", "{health}");
    w.fake.set_provider_disabled(
        &format!("{}/providers/alphaswarm-oidc", pool(ORG, NUMBER)),
        true,
    );
    let (status, health) = w
        .proxy
        .post(
            "/admin/accounts/acme/integrations/cloud_gcp/health",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["health"]["status"], "failed", "{health}");
    assert_eq!(health["integration"]["error"], "wif_provider_unavailable");

    // Audit: pending + succeeded per step, in order, then the health rows.
    common::assert_steps_audited(
        &w.proxy.audit_rows().await,
        "gcp",
        ORG,
        &common::AUDITED_STEPS,
    );

    let (status, gone) = w.disconnect(&token, ORG).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["removed"], true);
    let cleanup = gone["vendor_cleanup"].to_string();
    for expected in [
        "gcloud iam service-accounts remove-iam-policy-binding alphaswarm-acme@acme-prod.iam.gserviceaccount.com",
        &format!("--member={}", principal(ORG, NUMBER)),
        "gcloud iam workload-identity-pools providers delete alphaswarm-oidc",
        "gcloud iam workload-identity-pools delete alphaswarm-broker-acme",
        "30 days",
        "gcloud iam service-accounts delete alphaswarm-acme@acme-prod.iam.gserviceaccount.com",
    ] {
        assert!(cleanup.contains(expected), "{expected}: {cleanup}");
    }
}

#[tokio::test]
async fn another_orgs_assertion_is_refused_and_the_old_pool_wide_binding_is_unsafe() {
    let w = GcpWorld::start("gcp-isolation").await;
    w.onboard(ORG, PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    // Org beta names acme's pool, provider and account: its assertion
    // carries beta's audience, which acme's provider does not allow.
    let mut beta = acme();
    beta["pool_id"] = json!("alphaswarm-broker-acme");
    let (status, refused) = w.step(&token, "beta", "validate-identity", beta).await;
    assert_error(status, &refused, 422, "wif_audience_not_allowed", None);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("https://alpha-swarm.ai/gcp/beta")
    );
    assert!(refused["audit_run_id"].is_string());

    // Without the attribute condition, the exact-subject binding still
    // refuses another subject: safe, refused by IAM.
    let provider = format!("{}/providers/alphaswarm-oidc", pool(ORG, NUMBER));
    let clear_condition = || {
        let mut world = w.fake.world();
        let (pool_name, id) = provider.split_once("/providers/").unwrap();
        world
            .pools
            .get_mut(pool_name)
            .unwrap()
            .providers
            .get_mut(id)
            .unwrap()
            .attribute_condition = None;
    };
    clear_condition();
    let (status, three) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_eq!(status, 200, "{three}");
    assert_eq!(three["confused_deputy"]["safe"], true);
    assert_eq!(three["confused_deputy"]["refused_by"], "iam");

    // The seed's old binding (the whole pool, no condition): any subject
    // impersonates the account. Unsafe, and steps 4, 4* and 5 stay closed.
    w.fake.bind_service_account(
        &account(ORG, PROJECT),
        "roles/iam.workloadIdentityUser",
        &format!("principalSet://iam.googleapis.com/{}/*", pool(ORG, NUMBER)),
    );
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, error) = w.step(&token, ORG, step, acme()).await;
        assert_error(
            status,
            &error,
            422,
            "identity_not_isolated",
            Some("service_account_email"),
        );
        let hint = error["hint"].as_str().unwrap();
        assert!(
            hint.contains("remove-iam-policy-binding") && hint.contains("principalSet://"),
            "{hint}"
        );
        assert!(hint.contains("--attribute-condition="), "{hint}");
    }
    let (_, list) = w
        .proxy
        .send(
            reqwest::Method::GET,
            "/admin/accounts/acme/integrations",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(list["integrations"], json!([]));
}

#[tokio::test]
async fn each_federation_failure_has_its_code_field_and_fix() {
    let w = GcpWorld::start("gcp-failures").await;
    w.onboard(ORG, PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    let session = w.proxy.login().await;

    // The project id pasted where the number belongs: refused by name,
    // before any cloud call, at step 2 and step 3.
    let before = w.fake_requests();
    let mut swapped = acme();
    swapped["project_number"] = json!(PROJECT);
    let (status, error) = w
        .step(&token, ORG, "validate-identity", swapped.clone())
        .await;
    assert_error(
        status,
        &error,
        400,
        "project_id_in_number_field",
        Some("project_number"),
    );
    assert!(error["hint"].as_str().unwrap().contains("all digits"));
    let (status, error) = w
        .proxy
        .post(
            &path(ORG, "bootstrap"),
            &session,
            json!({ "project_id": PROJECT, "project_number": PROJECT }),
        )
        .await;
    assert_error(
        status,
        &error,
        400,
        "project_id_in_number_field",
        Some("project_number"),
    );
    assert_eq!(w.fake_requests(), before, "no cloud call for bad input");

    // Another project's number: no such provider under it.
    let mut wrong_number = acme();
    wrong_number["project_number"] = json!(OTHER_NUMBER);
    let (status, error) = w.step(&token, ORG, "validate-identity", wrong_number).await;
    assert_error(
        status,
        &error,
        422,
        "wif_provider_unavailable",
        Some("project_number"),
    );
    assert!(error["hint"].as_str().unwrap().contains(OTHER_NUMBER));

    // The provider disabled, then the pool deleted (its id reserved).
    let provider = format!("{}/providers/alphaswarm-oidc", pool(ORG, NUMBER));
    assert!(w.fake.set_provider_disabled(&provider, true));
    let (status, error) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_error(
        status,
        &error,
        422,
        "wif_provider_unavailable",
        Some("project_number"),
    );
    assert!(error["hint"].as_str().unwrap().contains("30 days"));
    w.fake.set_provider_disabled(&provider, false);
    let (status, ok) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_eq!(status, 200, "{ok}");

    // Google's clock ahead of the proxy's: the fresh assertion is stale.
    w.fake.set_max_assertion_age(60);
    w.fake.advance_clock(200);
    let (status, error) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_error(status, &error, 422, "assertion_stale", None);
    assert!(error["hint"].as_str().unwrap().contains("NTP"));
    w.fake.advance_clock(-200);

    // The binding missing: impersonation denied, with the exact command.
    assert!(w.fake.unbind_service_account(
        &account(ORG, PROJECT),
        "roles/iam.workloadIdentityUser",
        &principal(ORG, NUMBER)
    ));
    let (status, error) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_error(
        status,
        &error,
        422,
        "impersonation_denied",
        Some("service_account_email"),
    );
    let hint = error["hint"].as_str().unwrap();
    assert!(
        hint.contains(&format!(
            "gcloud iam service-accounts add-iam-policy-binding {} --project=acme-prod --role=roles/iam.workloadIdentityUser --member={}",
            account(ORG, PROJECT),
            principal(ORG, NUMBER)
        )),
        "{hint}"
    );

    // The pool deleted: the same code, the 30-day reservation named.
    assert!(w.fake.delete_pool(&pool(ORG, NUMBER)));
    let (status, error) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_error(
        status,
        &error,
        422,
        "wif_provider_unavailable",
        Some("project_number"),
    );
    let rendered = error.to_string();
    assert!(
        !rendered.contains("The target service indicated"),
        "Google's text is not echoed: {rendered}"
    );
}

#[tokio::test]
async fn a_missing_permission_is_red_with_its_fix_then_green_once_granted() {
    let w = GcpWorld::start("gcp-permissions").await;
    w.onboard(ORG, PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    let member = format!("serviceAccount:{}", account(ORG, PROJECT));
    let reviewer = "roles/iam.securityReviewer";
    assert!(w.fake.revoke_project_role(PROJECT, reviewer, &member));
    let (status, four) = w.step(&token, ORG, "validate-permissions", acme()).await;
    assert_eq!(status, 200, "{four}");
    assert_eq!(four["satisfied"], false);
    assert_eq!(
        four["missing"],
        json!(["iam.serviceAccounts.list", "iam.roles.list"])
    );
    let reds: Vec<&Value> = four["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["granted"] == false)
        .collect();
    assert_eq!(reds.len(), 2);
    for red in reds {
        assert_eq!(red["role"], reviewer);
        assert_eq!(
            red["fix"],
            format!(
                "gcloud projects add-iam-policy-binding acme-prod --member={member} --role={reviewer} --condition=None"
            )
        );
    }
    assert!(
        four["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["granted"] == true)
            .all(|r| r["fix"].is_null())
    );
    w.fake.grant_project_role(PROJECT, reviewer, &member);
    let (status, four) = w.step(&token, ORG, "validate-permissions", acme()).await;
    assert_eq!(status, 200, "{four}");
    assert_eq!(four["satisfied"], true, "{four}");

    // Compute: no right to list, then the API disabled; said, nothing listed.
    assert!(
        w.fake
            .revoke_project_role(PROJECT, "roles/compute.viewer", &member)
    );
    let (status, regions) = w.step(&token, ORG, "enumerate-resources", acme()).await;
    assert_eq!(status, 200, "{regions}");
    assert_eq!(regions["compute"], "not_permitted");
    assert_eq!(regions["regions"], json!([]));
    assert!(
        regions["fix"]
            .as_str()
            .unwrap()
            .contains("--role=roles/compute.viewer")
    );
    w.fake.set_compute_enabled(PROJECT, false);
    let (status, regions) = w.step(&token, ORG, "enumerate-resources", acme()).await;
    assert_eq!(status, 200, "{regions}");
    assert_eq!(regions["compute"], "disabled");
    assert_eq!(regions["regions"], json!([]));
    assert!(
        regions["fix"]
            .as_str()
            .unwrap()
            .contains("gcloud services enable compute.googleapis.com --project=acme-prod"),
        "{regions}"
    );
}

#[tokio::test]
async fn a_new_binding_is_retried_while_it_propagates_and_attempts_are_reported() {
    let w = GcpWorld::start_with(
        "gcp-propagation",
        &[(alphaswarm_proxy::gcp::SETTLE_SECONDS, "20")],
    )
    .await;
    w.onboard(ORG, PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    // The impersonation binding made again, invisible for ten minutes; it
    // shows once the first attempt has been refused (two requests: STS,
    // then generateAccessToken), as a binding that settles meanwhile.
    let (email, role, member) = (
        account(ORG, PROJECT),
        "roles/iam.workloadIdentityUser",
        principal(ORG, NUMBER),
    );
    assert!(w.fake.unbind_service_account(&email, role, &member));
    w.fake.set_propagation_delay(600);
    w.fake.bind_service_account(&email, role, &member);
    w.fake.traffic().reset_stats();
    let fake = w.fake.clone();
    let settle = tokio::spawn(async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while fake.traffic().stats().requests < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        fake.unbind_service_account(&email, role, &member);
        fake.set_propagation_delay(0);
        fake.bind_service_account(&email, role, &member);
    });
    let (status, three) = w.step(&token, ORG, "validate-identity", acme()).await;
    settle.await.unwrap();
    assert_eq!(status, 200, "{three}");
    assert!(three["attempts"].as_u64().unwrap() >= 2, "{three}");
}

#[tokio::test]
async fn the_private_issuer_variant_uploads_the_proxys_keys() {
    let w = GcpWorld::start("gcp-private").await;
    let answer = w
        .bootstrap_answer(
            ORG,
            json!({ "project_id": PROJECT, "project_number": NUMBER, "roles": ROLES, "upload_jwks": true }),
        )
        .await;
    assert_eq!(answer["jwks_uploaded"], true);
    let bundle: alphaswarm_core::Bundle = serde_json::from_value(answer["bundle"].clone()).unwrap();
    assert!(bundle.files.iter().any(|f| f.name == "jwks.json"));
    w.fake.apply_bundle(&bundle).unwrap();
    let uploaded = {
        let world = w.fake.world();
        world.pools[&pool(ORG, NUMBER)].providers["alphaswarm-oidc"]
            .jwks_json
            .clone()
            .unwrap()
    };
    let published: Value = w
        .proxy
        .send(
            reqwest::Method::GET,
            "/oidc/.well-known/jwks.json",
            None,
            None,
        )
        .await
        .1;
    let uploaded: Value = serde_json::from_str(&uploaded).unwrap();
    assert_eq!(uploaded["keys"][0]["kid"], published["keys"][0]["kid"]);
    let token = w.proxy.stepped_up().await;
    let (status, three) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_eq!(status, 200, "{three}");
    // Both a pasted JWKS and the proxy's own: refused by name.
    let session = w.proxy.login().await;
    let (status, error) = w
        .proxy
        .post(
            &path(ORG, "bootstrap"),
            &session,
            json!({ "project_id": PROJECT, "project_number": NUMBER, "upload_jwks": true, "jwks": "{}" }),
        )
        .await;
    assert_error(status, &error, 400, "jwks_twice", Some("jwks"));
}

#[tokio::test]
async fn bad_input_is_refused_before_any_cloud_call() {
    let w = GcpWorld::start("gcp-input").await;
    let token = w.proxy.stepped_up().await;
    let cases = [
        (
            json!({"project_id": "123456789012", "project_number": NUMBER}),
            "project_number_in_id_field",
            "project_id",
        ),
        (
            json!({"project_id": "Acme", "project_number": NUMBER}),
            "invalid_gcp_project_id",
            "project_id",
        ),
        (
            json!({"project_id": PROJECT, "project_number": "12x"}),
            "invalid_gcp_project_number",
            "project_number",
        ),
        (
            json!({"project_id": PROJECT, "project_number": NUMBER, "service_account_email": "me@gmail.com"}),
            "invalid_service_account_email",
            "service_account_email",
        ),
        (
            json!({"project_id": PROJECT, "project_number": NUMBER, "pool_id": "gcp-x"}),
            "invalid_gcp_pool_id",
            "pool_id",
        ),
        (
            json!({"project_id": PROJECT, "project_number": NUMBER, "roles": ["owner"]}),
            "invalid_gcp_role",
            "roles",
        ),
        (
            json!({"project_id": PROJECT, "project_number": NUMBER, "key_file": "x"}),
            "invalid_body",
            "key_file",
        ),
        (
            json!({"project_number": NUMBER}),
            "invalid_body",
            "project_id",
        ),
    ];
    for (request, code, field) in cases {
        let (status, error) = w
            .step(&token, ORG, "validate-identity", request.clone())
            .await;
        assert_error(status, &error, 400, code, Some(field));
    }
    assert_eq!(w.fake_requests(), 0, "no cloud call was made");
}

#[tokio::test]
async fn steps_need_a_fresh_step_up_and_failed_steps_are_audited() {
    let w = GcpWorld::start("gcp-mfa").await;
    let session = w.proxy.login().await;
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, error) = w.proxy.post(&path(ORG, step), &session, acme()).await;
        assert_error(status, &error, 403, "step_up_required", None);
        let stale = w
            .proxy
            .forge("admin:cluster", &["pwd", "otp", "mfa"], 3600, 600);
        let (status, error) = w.proxy.post(&path(ORG, step), &stale, acme()).await;
        assert_error(status, &error, 403, "step_up_required", None);
        let (status, _) = w
            .proxy
            .send(reqwest::Method::POST, &path(ORG, step), None, Some(acme()))
            .await;
        assert_eq!(status, 401);
    }
    let (status, _) = w.disconnect(&session, ORG).await;
    assert_eq!(status, 403);
    assert!(
        w.proxy.audit_rows().await.is_empty(),
        "refused before any audit row"
    );
    assert_eq!(w.fake_requests(), 0, "and before any cloud call");

    // Nothing set up in the project: STS finds no provider; audited.
    let token = w.proxy.stepped_up().await;
    let (status, error) = w.step(&token, ORG, "validate-identity", acme()).await;
    assert_error(
        status,
        &error,
        422,
        "wif_provider_unavailable",
        Some("project_number"),
    );
    let rows = w.proxy.audit_rows().await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["phase"], "pending");
    assert_eq!(rows[1]["phase"], "failed");
    assert_eq!(rows[1]["error_code"], "wif_provider_unavailable");
    assert_eq!(rows[1]["audit_run_id"], error["audit_run_id"]);
}

#[tokio::test]
async fn one_project_serves_one_org() {
    let w = GcpWorld::start("gcp-one-project").await;
    w.onboard(ORG, PROJECT, NUMBER).await;
    w.onboard("beta", PROJECT, NUMBER).await;
    let token = w.proxy.stepped_up().await;
    let (status, five) = w.step(&token, ORG, "connect", acme()).await;
    assert_eq!(status, 200, "{five}");
    // Beta's own identity works in the project, but acme holds it.
    let beta = body("beta", PROJECT, NUMBER);
    let (status, three) = w
        .step(&token, "beta", "validate-identity", beta.clone())
        .await;
    assert_eq!(status, 200, "{three}");
    let (status, conflict) = w.step(&token, "beta", "connect", beta.clone()).await;
    assert_error(
        status,
        &conflict,
        409,
        "project_already_connected",
        Some("project_id"),
    );
    let message = conflict["message"].as_str().unwrap();
    assert!(
        message.contains(PROJECT) && message.contains(ORG),
        "{conflict}"
    );
    let (status, _) = w.disconnect(&token, ORG).await;
    assert_eq!(status, 200);
    let (status, now_free) = w.step(&token, "beta", "connect", beta).await;
    assert_eq!(status, 200, "{now_free}");
}
