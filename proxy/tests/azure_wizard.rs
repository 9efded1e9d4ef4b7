//! The Azure wizard over HTTP against the loopback Entra + ARM fake, whose
//! state is built by running the bundles the proxy renders: both modes end
//! to end, every federation failure with its code and field, tenant
//! isolation, the one-subscription-per-org rule, audit rows and step-up.

mod azure_support;
mod common;

use azure_support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ORG: &str = "acme";

fn mi(client_id: &str) -> Value {
    body("managed_identity", TENANT_A, SUB_A, Some(client_id))
}

#[tokio::test]
async fn managed_identity_end_to_end() {
    let w = AzureWorld::start("az-mi").await;
    // Step 2 renders with the proxy's own issuer, byte for byte.
    let session = w.proxy.login().await;
    let (status, answer) = w
        .proxy
        .post(
            &path(ORG, "bootstrap"),
            &session,
            json!({ "tenant_id": TENANT_A, "subscription_id": SUB_A }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["mode"], "managed_identity");
    assert_eq!(answer["recommended_mode"], "managed_identity");
    assert_eq!(answer["issuer"], w.issuer);
    assert_eq!(answer["subject"], "org:acme");
    assert!(answer["admin_consent_url"].is_null());
    let discovery = w.public("/oidc/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], w.issuer);
    assert!(
        w.proxy.audit_rows().await.is_empty(),
        "bootstrap writes no action rows (its single result row aside)"
    );

    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let credentials = w.fake.identity_credentials(&client_id);
    assert_eq!(credentials.len(), 1);
    assert_eq!(
        (credentials[0].1.as_str(), credentials[0].2.as_str()),
        (w.issuer.as_str(), "org:acme")
    );

    let token = w.proxy.stepped_up().await;
    let (status, three) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{three}");
    assert_eq!(three["mode"], "managed_identity");
    assert_eq!(three["client_id"], client_id);
    assert_eq!(three["attempts"], 1);
    assert_eq!(three["subscription"]["display_name"], "Contoso production");
    assert_eq!(three["confused_deputy"]["safe"], true, "{three}");
    let principal = three["principal_object_id"].as_str().unwrap().to_owned();

    let (status, four) = w
        .step(&token, ORG, "validate-permissions", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{four}");
    assert_eq!(four["satisfied"], true, "{four}");
    assert_eq!(four["missing"], json!([]));
    assert_eq!(four["results"][0]["role"], "Reader");
    assert_eq!(four["results"][0]["granted_by"], "Reader");
    assert!(
        four["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["granted"] == true)
    );

    let (status, resources) = w
        .step(&token, ORG, "enumerate-resources", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{resources}");
    assert_eq!(resources["resource_groups"][0]["name"], "alphaswarm-broker");
    assert!(
        resources["locations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "eastus")
    );

    let (status, five) = w.step(&token, ORG, "connect", mi(&client_id)).await;
    assert_eq!(status, 200, "{five}");
    let integration = &five["integration"];
    assert_eq!(integration["credential_key"], "cloud_azure:org:acme");
    let metadata = integration["metadata"].as_object().unwrap();
    let keys: BTreeSet<&str> = metadata.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "client_id",
            "issuer",
            "mode",
            "principal_object_id",
            "subject",
            "subscription_id",
            "tenant_id"
        ])
    );
    assert_eq!(metadata["principal_object_id"], principal);
    assert_eq!(metadata["issuer"], w.issuer);

    // Every assertion Entra saw: our issuer, the org's (or the probe's)
    // subject, the audience, at most ten minutes, a unique jti, a kid the
    // JWKS publishes.
    let seen = w.fake.seen_assertions();
    assert!(seen.len() >= 8, "{}", seen.len());
    let jwks = w.public("/oidc/.well-known/jwks.json").await;
    let kids = kids(&jwks);
    let mut jtis = BTreeSet::new();
    for a in &seen {
        assert_eq!(a.iss, w.issuer);
        assert_eq!(a.aud, "api://AzureADTokenExchange");
        assert_eq!(a.alg, "RS256");
        assert!(
            a.sub == "org:acme" || a.sub == "org:acme:isolation-probe",
            "{}",
            a.sub
        );
        let (iat, exp) = (a.iat.unwrap(), a.exp.unwrap());
        assert!(exp > iat && exp - iat <= 600 && a.nbf == Some(iat));
        assert!(kids.contains(a.kid.as_ref().unwrap()));
        assert!(jtis.insert(a.jti.clone().unwrap()), "jti reused");
    }
    assert!(
        seen.iter()
            .any(|a| a.sub == "org:acme:isolation-probe" && a.refused_with == Some(700213))
    );

    // Audit: pending + succeeded per step, in order.
    let rows = w.proxy.audit_rows().await;
    assert_eq!(rows.len(), 8);
    common::assert_steps_audited(&rows, "azure", ORG, &common::AUDITED_STEPS);

    let (status, gone) = w.disconnect(&token, ORG).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["removed"], true);
    let cleanup = gone["vendor_cleanup"].to_string();
    assert!(
        cleanup.contains(&principal)
            && cleanup.contains("alphaswarm-acme")
            && cleanup.contains(SUB_A),
        "{cleanup}"
    );
}

#[tokio::test]
async fn shared_app_end_to_end_reports_no_isolation_and_claims_the_subscription() {
    let w = AzureWorld::start("az-shared").await;
    let bundle = w.onboard_shared(ORG, TENANT_A, SUB_A, true).await;
    assert!(
        bundle
            .warnings
            .iter()
            .any(|n| n.code == "tenant_not_isolated")
    );
    let token = w.proxy.stepped_up().await;
    let shared = body("shared_app", TENANT_A, SUB_A, None);
    let (status, three) = w
        .step(&token, ORG, "validate-identity", shared.clone())
        .await;
    assert_eq!(status, 200, "{three}");
    assert_eq!(three["client_id"], APP_CLIENT_ID);
    assert_eq!(three["confused_deputy"]["safe"], false);
    assert!(
        three["confused_deputy"]["message"]
            .as_str()
            .unwrap()
            .contains("does not isolate tenants")
    );
    let (status, four) = w
        .step(&token, ORG, "validate-permissions", shared.clone())
        .await;
    assert_eq!((status, &four["satisfied"]), (200, &json!(true)), "{four}");
    let (status, five) = w.step(&token, ORG, "connect", shared.clone()).await;
    assert_eq!(status, 200, "{five}");
    assert_eq!(five["integration"]["metadata"]["mode"], "shared_app");
    assert_eq!(five["integration"]["metadata"]["client_id"], APP_CLIENT_ID);

    // Another org's assertion is accepted in the same tenant (the app holds
    // both orgs' credentials): reported as not isolated, and the tenant +
    // subscription already connected under acme is refused with 409.
    w.onboard_shared("beta", TENANT_A, SUB_A, false).await;
    let (status, beta) = w
        .step(&token, "beta", "validate-identity", shared.clone())
        .await;
    assert_eq!(status, 200, "{beta}");
    assert_eq!(beta["confused_deputy"]["safe"], false);
    let (status, conflict) = w.step(&token, "beta", "connect", shared.clone()).await;
    assert_error(
        status,
        &conflict,
        409,
        "subscription_already_connected",
        Some("subscription_id"),
    );
    assert!(conflict["message"].as_str().unwrap().contains("acme"));
    // The same org may reconnect (confirming the replacement), and a free
    // subscription works.
    let mut again = shared.clone();
    again["replace"] = json!(true);
    let (status, again) = w.step(&token, ORG, "connect", again).await;
    assert_eq!(status, 200, "{again}");
    let (status, cleanup) = w.disconnect(&token, ORG).await;
    assert_eq!(status, 200);
    assert!(
        cleanup["vendor_cleanup"]
            .to_string()
            .contains("az ad sp delete --id")
    );
    let (status, now_free) = w
        .step(
            &token,
            "beta",
            "connect",
            body("shared_app", TENANT_A, SUB_A, None),
        )
        .await;
    assert_eq!(status, 200, "{now_free}");
}

#[tokio::test]
async fn another_orgs_assertion_is_refused_by_a_managed_identity_and_a_lax_one_is_unsafe() {
    let w = AzureWorld::start("az-isolation").await;
    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let token = w.proxy.stepped_up().await;
    // Org beta presents acme's identity: its subject matches no credential.
    let (status, refused) = w
        .step(&token, "beta", "validate-identity", mi(&client_id))
        .await;
    assert_error(
        status,
        &refused,
        422,
        "federated_subject_mismatch",
        Some("client_id"),
    );
    assert!(refused["hint"].as_str().unwrap().contains("org:beta"));
    assert!(refused["audit_run_id"].is_string());

    // An identity that also trusts another subject is reported unsafe, and
    // steps 4, 4* and 5 stay closed.
    let rogue = format!(
        "az identity federated-credential create --name rogue --identity-name alphaswarm-acme --resource-group alphaswarm-broker --issuer {} --subject org:acme:isolation-probe --audiences api://AzureADTokenExchange",
        w.issuer
    );
    w.fake.az(&customer(TENANT_A, SUB_A), &rogue).unwrap();
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, unsafe_) = w.step(&token, ORG, step, mi(&client_id)).await;
        assert_error(
            status,
            &unsafe_,
            422,
            "identity_not_isolated",
            Some("client_id"),
        );
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

/// Makes an identity for acme in resource group `group` whose federated
/// credential is `edit`ed from the rendered one (an operator's typo), and
/// returns its client id.
async fn identity_with_edited_credential(
    w: &AzureWorld,
    group: &str,
    edit: impl Fn(&str) -> String,
) -> String {
    let bundle = w
        .bootstrap(
            ORG,
            json!({ "tenant_id": TENANT_A, "subscription_id": SUB_A, "resource_group": group }),
        )
        .await;
    let login = customer(TENANT_A, SUB_A);
    let mut printed = String::new();
    for (i, command) in bundle.commands.bash.iter().enumerate() {
        let command = if i == 2 {
            edit(command)
        } else {
            command.clone()
        };
        assert_ne!(
            i == 2,
            command == bundle.commands.bash[i],
            "the edit must change the credential"
        );
        printed = w.fake.az(&login, &command).unwrap();
    }
    printed.trim().to_owned()
}

/// Changes a rendered command the way an operator's typo would.
type Edit = Box<dyn Fn(&str) -> String>;

#[tokio::test]
async fn each_federated_credential_mistake_has_its_code_and_the_exact_value() {
    let w = AzureWorld::start("az-mistakes").await;
    let token = w.proxy.stepped_up().await;
    let issuer = w.issuer.clone();
    let no_slash = issuer.trim_end_matches('/').to_owned();
    let cases: Vec<(Edit, &str, String)> = vec![
        (
            Box::new(|c: &str| c.replace("--subject org:acme", "--subject ORG:ACME")),
            "federated_subject_case_mismatch",
            "org:acme".into(),
        ),
        (
            Box::new(|c: &str| c.replace("--subject org:acme", "--subject org:acme-prod")),
            "federated_subject_mismatch",
            "org:acme".into(),
        ),
        (
            Box::new(move |c: &str| {
                c.replace(
                    &format!("--issuer {issuer}"),
                    &format!("--issuer {no_slash}"),
                )
            }),
            "federated_issuer_mismatch",
            w.issuer.clone(),
        ),
        (
            Box::new(|c: &str| {
                c.replace(
                    "--audiences api://AzureADTokenExchange",
                    "--audiences api://AzureADTokenExchange/",
                )
            }),
            "federated_audience_mismatch",
            "api://AzureADTokenExchange".into(),
        ),
    ];
    for (i, (edit, code, exact)) in cases.into_iter().enumerate() {
        // A resource group per case keeps the identities apart.
        let client_id = identity_with_edited_credential(&w, &format!("rg-{i}"), edit).await;
        let (status, error) = w
            .step(&token, ORG, "validate-identity", mi(&client_id))
            .await;
        assert_error(status, &error, 422, code, Some("client_id"));
        let text = format!("{} {}", error["message"], error["hint"]);
        assert!(text.contains(&exact), "{code}: {text}");
        assert!(
            !error.to_string().contains("AADSTS"),
            "raw Entra text leaked: {error}"
        );
    }
}

#[tokio::test]
async fn an_issuer_configured_without_the_trailing_slash_is_exact_too() {
    let w = AzureWorld::start_full("az-noslash", "/oidc", &[]).await;
    assert!(!w.issuer.ends_with('/'));
    let discovery = w.public("/oidc/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], w.issuer);
    let token = w.proxy.stepped_up().await;
    // The credential adds the slash the issuer lacks: refused, exact value shown.
    let issuer = w.issuer.clone();
    let client_id = identity_with_edited_credential(&w, "rg-slash", move |c| {
        c.replace(
            &format!("--issuer {issuer}"),
            &format!("--issuer {issuer}/"),
        )
    })
    .await;
    let (status, error) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_error(
        status,
        &error,
        422,
        "federated_issuer_mismatch",
        Some("client_id"),
    );
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("exactly {} (", w.issuer))
    );
    // As rendered, it works.
    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let (status, ok) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{ok}");
}

#[tokio::test]
async fn a_configured_audience_is_rendered_minted_and_checked() {
    // Not the default: a bundle or an assertion that ignored the setting
    // would meet a credential with the other audience (AADSTS700212).
    let custom = "api://AlphaSwarmFederation";
    let w = AzureWorld::start_with(
        "az-audience",
        &[(alphaswarm_proxy::azure::AUDIENCE, custom)],
    )
    .await;
    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let credentials = w.fake.identity_credentials(&client_id);
    assert_eq!(
        credentials[0].3,
        [custom],
        "the bundle renders the audience"
    );
    let token = w.proxy.stepped_up().await;
    let (status, three) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{three}");
    assert_eq!(three["audience"], custom);
    let seen = w.fake.seen_assertions();
    assert!(!seen.is_empty() && seen.iter().all(|a| a.aud == custom));
}

#[tokio::test]
async fn an_issuer_entra_cannot_reach_is_named_with_its_discovery_url() {
    // A loopback address nothing listens on: Entra's fetch of the discovery
    // document fails (AADSTS50166), as for an issuer that is not public.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let issuer = format!("http://{closed}/oidc/");
    let w = AzureWorld::start_with(
        "az-unreachable",
        &[(alphaswarm_proxy::federation::ISSUER_VAR, issuer.as_str())],
    )
    .await;
    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let token = w.proxy.stepped_up().await;
    let (status, error) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_error(status, &error, 422, "issuer_unreachable", None);
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("{issuer}.well-known/openid-configuration")),
        "{error}"
    );
    assert!(!error.to_string().contains("AADSTS"), "{error}");
    assert_eq!(
        w.fake
            .seen_assertions()
            .iter()
            .map(|a| a.refused_with)
            .collect::<Vec<_>>(),
        [Some(50166)],
        "refused once, not retried"
    );
}

#[tokio::test]
async fn consent_missing_then_role_missing_then_connected() {
    let w = AzureWorld::start("az-consent").await;
    let bundle = w.onboard_shared(ORG, TENANT_A, SUB_A, false).await;
    let token = w.proxy.stepped_up().await;
    let shared = body("shared_app", TENANT_A, SUB_A, None);
    let (status, error) = w
        .step(&token, ORG, "validate-identity", shared.clone())
        .await;
    assert_error(
        status,
        &error,
        422,
        "admin_consent_missing",
        Some("tenant_id"),
    );
    let link = &bundle.links[0].url;
    assert!(
        error["hint"].as_str().unwrap().contains(link.as_str()),
        "{error}"
    );

    // Consent given, role not yet: ARM refuses the subscription read.
    w.fake.follow_admin_consent_link(link).unwrap();
    let (status, error) = w
        .step(&token, ORG, "validate-identity", shared.clone())
        .await;
    assert_error(
        status,
        &error,
        422,
        "arm_authorization_failed",
        Some("subscription_id"),
    );
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("az role assignment create")
    );

    w.fake
        .az(&customer(TENANT_A, SUB_A), &bundle.commands.bash[1])
        .unwrap();
    let (status, ok) = w.step(&token, ORG, "validate-identity", shared).await;
    assert_eq!(status, 200, "{ok}");
}

/// AlphaSwarm's own tenant is the app's home: there Entra does not speak
/// of consent when the service principal is gone but answers AADSTS7000229,
/// which the wizard reports with the same fix (re-create it by consent).
#[tokio::test]
async fn a_service_principal_deleted_in_the_apps_home_tenant_is_named_with_its_fix() {
    const SUB_P: &str = "a1a1a1a1-2222-4222-8222-222222222222";
    let w = AzureWorld::start("az-home-sp").await;
    w.fake
        .add_subscription(PLATFORM_TENANT, SUB_P, "AlphaSwarm platform");
    let bundle = w.onboard_shared(ORG, PLATFORM_TENANT, SUB_P, true).await;
    let token = w.proxy.stepped_up().await;
    let shared = body("shared_app", PLATFORM_TENANT, SUB_P, None);
    let (status, ok) = w
        .step(&token, ORG, "validate-identity", shared.clone())
        .await;
    assert_eq!(status, 200, "{ok}");

    w.fake.revoke_consent(PLATFORM_TENANT, APP_CLIENT_ID);
    let (status, error) = w
        .step(&token, ORG, "validate-identity", shared.clone())
        .await;
    assert_error(
        status,
        &error,
        422,
        "service_principal_missing",
        Some("tenant_id"),
    );
    let hint = error["hint"].as_str().unwrap();
    let link = &bundle.links[0].url;
    assert!(
        hint.contains(link.as_str())
            && hint.contains(&format!("az ad sp create --id {APP_CLIENT_ID}")),
        "{error}"
    );

    // The fix the hint names works. The new service principal has a new
    // object id, so, as in Entra, the old role assignment does not follow
    // it: the next answer names the grant, and the command it gives works.
    w.fake.follow_admin_consent_link(link).unwrap();
    let (status, error) = w
        .step(&token, ORG, "validate-identity", shared.clone())
        .await;
    assert_error(
        status,
        &error,
        422,
        "arm_authorization_failed",
        Some("subscription_id"),
    );
    let grant = error["hint"].as_str().unwrap();
    let grant = &grant[grant.find("az role assignment create").unwrap()..];
    w.fake.az(&customer(PLATFORM_TENANT, SUB_P), grant).unwrap();
    let (status, ok) = w.step(&token, ORG, "validate-identity", shared).await;
    assert_eq!(status, 200, "{ok}");
}

#[tokio::test]
async fn a_missing_role_is_red_with_its_fix_then_green_once_granted() {
    let w = AzureWorld::start("az-role").await;
    // Monitoring Reader lets the identity read, but it is not the baseline.
    let client_id = w
        .onboard_identity(ORG, TENANT_A, SUB_A, json!({ "role": "Monitoring Reader" }))
        .await;
    let token = w.proxy.stepped_up().await;
    let (status, four) = w
        .step(&token, ORG, "validate-permissions", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{four}");
    assert_eq!(four["satisfied"], false);
    assert_eq!(four["missing"], json!(["Reader"]));
    let result = &four["results"][0];
    assert_eq!(
        (result["role"].as_str(), result["granted"].as_bool()),
        (Some("Reader"), Some(false))
    );
    let fix = result["fix"].as_str().unwrap().to_owned();
    assert!(
        fix.starts_with("az role assignment create --assignee-object-id "),
        "{fix}"
    );
    assert_eq!(four["assignments"][0]["role"], "Monitoring Reader");

    // The operator runs the fix as shown.
    w.fake.az(&customer(TENANT_A, SUB_A), &fix).unwrap();
    let (status, four) = w
        .step(&token, ORG, "validate-permissions", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{four}");
    assert_eq!(four["satisfied"], true, "{four}");
    assert_eq!(four["results"][0]["granted"], true);
    assert!(four["results"][0]["fix"].is_null());
}

#[tokio::test]
async fn clock_skew_key_rotation_and_propagation() {
    let w = AzureWorld::start_with(
        "az-time",
        &[(alphaswarm_proxy::azure::SETTLE_SECONDS, "20")],
    )
    .await;
    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let token = w.proxy.stepped_up().await;

    // Entra's clock an hour ahead: the assertion has expired on arrival.
    w.fake.set_clock_skew(3600);
    let (status, error) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_error(status, &error, 422, "assertion_clock_skew", None);
    w.fake.set_clock_skew(0);

    // Entra caches the issuer's keys; an emergency rotation (no overlap)
    // signs with a key it has not seen.
    w.fake
        .set_metadata_cache(std::time::Duration::from_secs(3600));
    let (status, ok) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{ok}");
    let now = alphaswarm_proxy::federation::now();
    w.proxy.state.federation.rotate_at(now, 0).await.unwrap();
    let (status, error) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_error(status, &error, 422, "signing_key_not_published", None);
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("/oidc/.well-known/jwks.json")
    );
    // Once Entra fetches the keys again, the new key verifies.
    w.fake.set_metadata_cache(std::time::Duration::ZERO);
    let (status, ok) = w
        .step(&token, ORG, "validate-identity", mi(&client_id))
        .await;
    assert_eq!(status, 200, "{ok}");

    // A credential created moments ago is not seen at once: step 3 retries.
    w.fake.set_propagation_requests(1);
    let fresh = w.onboard_identity("beta", TENANT_B, SUB_B, json!({})).await;
    let (status, three) = w
        .step(
            &token,
            "beta",
            "validate-identity",
            body("managed_identity", TENANT_B, SUB_B, Some(&fresh)),
        )
        .await;
    assert_eq!(status, 200, "{three}");
    assert_eq!(three["attempts"], 2);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_cloud_call() {
    let w = AzureWorld::start_with(
        "az-input",
        &[
            (alphaswarm_proxy::azure::APP_CLIENT_ID, ""),
            (alphaswarm_proxy::azure::APP_OBJECT_ID, ""),
        ],
    )
    .await;
    let token = w.proxy.stepped_up().await;
    let cases = [
        (
            json!({"tenant_id": "nope", "subscription_id": SUB_A, "client_id": APP_CLIENT_ID}),
            400,
            "invalid_guid",
            Some("tenant_id"),
        ),
        (
            json!({"tenant_id": TENANT_A, "subscription_id": SUB_A}),
            400,
            "missing_field",
            Some("client_id"),
        ),
        (
            json!({"tenant_id": TENANT_A, "subscription_id": "x", "client_id": APP_CLIENT_ID}),
            400,
            "invalid_guid",
            Some("subscription_id"),
        ),
        (
            json!({"mode": "app", "tenant_id": TENANT_A, "subscription_id": SUB_A}),
            400,
            "invalid_azure_mode",
            Some("mode"),
        ),
        (
            json!({"tenant_id": TENANT_A, "subscription_id": SUB_A, "secret": "x"}),
            400,
            "invalid_body",
            Some("secret"),
        ),
        (
            json!({"subscription_id": SUB_A}),
            400,
            "invalid_body",
            Some("tenant_id"),
        ),
        (
            json!({"mode": "shared_app", "tenant_id": TENANT_A, "subscription_id": SUB_A}),
            503,
            "not_configured",
            Some("ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID"),
        ),
    ];
    for (request, status_expected, code, field) in cases {
        let (status, error) = w
            .step(&token, ORG, "validate-identity", request.clone())
            .await;
        assert_error(status, &error, status_expected, code, field);
    }
    assert!(
        w.fake.seen_assertions().is_empty(),
        "no exchange was attempted"
    );
    let session = w.proxy.login().await;
    let bootstrap_cases = [
        (
            json!({"mode": "shared_app"}),
            503,
            "not_configured",
            "ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID",
        ),
        (
            json!({"location": "East US 2!"}),
            400,
            "invalid_azure_location",
            "location",
        ),
        (json!({"tenant_id": "x"}), 400, "invalid_guid", "tenant_id"),
        (
            json!({"resource_group": "-rg"}),
            400,
            "invalid_resource_group",
            "resource_group",
        ),
    ];
    for (request, status_expected, code, field) in bootstrap_cases {
        let (status, error) = w
            .proxy
            .post(&path(ORG, "bootstrap"), &session, request)
            .await;
        assert_error(status, &error, status_expected, code, Some(field));
    }
}

#[tokio::test]
async fn steps_need_a_fresh_step_up_and_failed_steps_are_audited() {
    let w = AzureWorld::start("az-mfa").await;
    let session = w.proxy.login().await;
    let request = mi(APP_CLIENT_ID);
    for step in [
        "validate-identity",
        "validate-permissions",
        "enumerate-resources",
        "connect",
    ] {
        let (status, error) = w
            .proxy
            .post(&path(ORG, step), &session, request.clone())
            .await;
        assert_error(status, &error, 403, "step_up_required", None);
        let stale = w
            .proxy
            .forge("admin:cluster", &["pwd", "otp", "mfa"], 3600, 600);
        let (status, error) = w
            .proxy
            .post(&path(ORG, step), &stale, request.clone())
            .await;
        assert_error(status, &error, 403, "step_up_required", None);
        let (status, _) = w
            .proxy
            .send(
                reqwest::Method::POST,
                &path(ORG, step),
                None,
                Some(request.clone()),
            )
            .await;
        assert_eq!(status, 401);
    }
    let (status, _) = w.disconnect(&session, ORG).await;
    assert_eq!(status, 403);
    assert!(
        w.proxy.audit_rows().await.is_empty(),
        "refused before any audit row"
    );
    assert!(
        w.fake.seen_assertions().is_empty(),
        "and before any cloud call"
    );

    // A step that fails at Entra leaves pending + failed with its code.
    let token = w.proxy.stepped_up().await;
    let (status, error) = w.step(&token, ORG, "validate-identity", request).await;
    assert_error(status, &error, 422, "identity_not_found", Some("client_id"));
    let rows = w.proxy.audit_rows().await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["phase"], "pending");
    assert_eq!(rows[1]["phase"], "failed");
    assert_eq!(rows[1]["error_code"], "identity_not_found");
    assert_eq!(rows[1]["audit_run_id"], error["audit_run_id"]);
}

/// `POST …/integrations/cloud_azure/health` with a stepped-up `token`.
async fn azure_health(w: &AzureWorld, token: &str) -> Value {
    let (status, answer) = w
        .proxy
        .post(
            &format!("/admin/accounts/{ORG}/integrations/cloud_azure/health"),
            token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn health_sees_a_removed_federated_credential_and_a_removed_role() {
    let w = AzureWorld::start("az-health").await;
    let client_id = w.onboard_identity(ORG, TENANT_A, SUB_A, json!({})).await;
    let token = w.proxy.stepped_up().await;
    let (status, five) = w.step(&token, ORG, "connect", mi(&client_id)).await;
    assert_eq!(status, 200, "{five}");
    assert!(five["integration"]["last_health_at"].is_null());

    let healthy = azure_health(&w, &token).await;
    assert_eq!(healthy["health"]["status"], "healthy", "{healthy}");
    assert!(healthy["health"]["error"].is_null());
    assert_eq!(healthy["integration"]["last_health_status"], "healthy");
    assert!(healthy["integration"]["last_health_at"].is_string());

    // The customer deletes the federated credential (the clean-up's own
    // command): Entra finds no credential for the assertion's issuer left
    // on the identity (AADSTS700211).
    let credential = w.fake.identity_credentials(&client_id)[0].0.clone();
    let customer_login = customer(TENANT_A, SUB_A);
    let delete = format!(
        "az identity federated-credential delete --name {credential} --identity-name alphaswarm-acme --resource-group alphaswarm-broker --yes"
    );
    w.fake.az(&customer_login, &delete).unwrap();
    assert!(w.fake.az(&customer_login, &delete).is_err(), "gone already");
    let failed = azure_health(&w, &token).await;
    let health = &failed["health"];
    assert_eq!(health["status"], "failed", "{failed}");
    assert_eq!(health["previous_status"], "healthy");
    assert_eq!(health["changed"], true);
    assert_eq!(health["error"]["code"], "federated_issuer_mismatch");
    assert_eq!(health["error"]["field"], "client_id");
    // The reason names the identity and the exact issuer to restore.
    assert!(
        health["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&client_id)
    );
    assert!(
        health["error"]["hint"]
            .as_str()
            .unwrap()
            .contains(&w.issuer)
    );
    let record = &failed["integration"];
    assert_eq!(record["last_health_status"], "failed");
    assert_eq!(record["error"], "federated_issuer_mismatch");
    assert!(!record["error_hint"].as_str().unwrap().is_empty());
    // One exchange only: a vanished credential is not waited for.
    let refused = w
        .fake
        .seen_assertions()
        .iter()
        .filter(|a| a.refused_with == Some(700211))
        .count();
    assert_eq!(refused, 1);

    // Restored (the bundle's create command again): healthy again.
    let restore = format!(
        "az identity federated-credential create --name {credential} --identity-name alphaswarm-acme --resource-group alphaswarm-broker --issuer {} --subject org:acme --audiences api://AzureADTokenExchange",
        w.issuer
    );
    w.fake.az(&customer_login, &restore).unwrap();
    let restored = azure_health(&w, &token).await;
    assert_eq!(restored["health"]["status"], "healthy", "{restored}");
    assert_eq!(restored["health"]["previous_status"], "failed");
    assert!(restored["integration"]["error"].is_null());

    // The role assignment removed: the exchange works, ARM refuses the read.
    let principal = five["integration"]["metadata"]["principal_object_id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.fake
        .az(
            &customer_login,
            &format!(
                "az role assignment delete --assignee {principal} --scope /subscriptions/{SUB_A}"
            ),
        )
        .unwrap();
    let no_role = azure_health(&w, &token).await;
    assert_eq!(no_role["health"]["status"], "failed", "{no_role}");
    // ARM's 403 AuthorizationFailed on the subscription read.
    let code = "arm_authorization_failed";
    assert_eq!(no_role["health"]["error"]["code"], code, "{no_role}");
    assert_eq!(no_role["health"]["error"]["field"], "subscription_id");
    assert!(
        no_role["health"]["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("az role assignment create")
    );

    // Each check is audited: a pending row, then succeeded or failed with the code.
    let rows: Vec<Value> = w
        .proxy
        .audit_rows()
        .await
        .into_iter()
        .filter(|r| r["step"] == "health")
        .collect();
    let results: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r["phase"] != "pending")
        .map(|r| {
            (
                r["phase"].as_str().unwrap().to_owned(),
                r["error_code"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 8, "{rows:?}");
    assert_eq!(
        results,
        [
            ("succeeded".to_owned(), "-".to_owned()),
            ("failed".to_owned(), "federated_issuer_mismatch".to_owned()),
            ("succeeded".to_owned(), "-".to_owned()),
            ("failed".to_owned(), code.to_owned()),
        ]
    );
}
