//! The per-cloud seam: each cloud's inputs and results stay its own when
//! the operator switches cloud, the step-up prompt resumes the interrupted
//! step of any cloud, and Azure's views (mode choice, GUIDs checked as you
//! type, isolation result, role badges with their fix, resources).

mod cloudflare;
mod gcp;

use crate::support::*;
use alphaswarm_core::azure::AzureMode as Mode;
use alphaswarm_core::shell::Shell;
use alphaswarm_core::{CloudKind, ErrorBody, OrgId};
use alphaswarm_web::api::ApiError;
use alphaswarm_web::auth::{Auth, StepUp};
use alphaswarm_web::clouds::aws::AwsWizard;
use alphaswarm_web::clouds::azure::{
    AzureAnswers, AzureWizard, IdentityResponse, PermissionsResponse, ResourcesResponse,
    ResourcesView, RolesView,
};
use alphaswarm_web::model::Step;
use alphaswarm_web::signal::{BoxedCallback, BoxedSignal};
use alphaswarm_web::steps::{
    CloudSlot, CloudWizard, StepRun, StepStatus, StepView, Wizard, WizardState,
};
use leptos::mount::mount_to;
use leptos::prelude::*;
use serde_json::json;
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::HtmlElement;

const ARN: &str = "arn:aws:iam::012345678901:role/alphaswarm-broker-acme";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const SUBSCRIPTION: &str = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE";
const CLIENT: &str = "99999999-8888-7777-6666-555555555555";
const PRINCIPAL: &str = "0f0f0f0f-1111-2222-3333-444444444444";

/// Azure's answers after the proxy answered `step` with `answer` (read the
/// way the wizard reads it).
fn azure_answers(step: Step, answer: serde_json::Value) -> AzureAnswers {
    let mut answers = AzureAnswers::default();
    answers
        .accept(step, &answer.to_string())
        .expect("the sample has the documented shape");
    answers
}

struct Mounted {
    root: HtmlElement,
    auth: Auth,
    aws: AwsWizard,
    azure: AzureWizard,
    state: WizardState,
}

/// The whole wizard (and the step-up prompt, as the app shows it) for org
/// `acme`, signed in with a fresh step-up.
fn mount_wizard(cloud: CloudKind) -> Mounted {
    let root = container();
    let auth = Auth::new();
    auth.token.set(Some("session".into()));
    auth.step_up_until_ms
        .set(Some(js_sys::Date::now() + 600_000.0));
    let aws = AwsWizard::new();
    let azure = AzureWizard::new();
    let state = WizardState::with_clouds(
        OrgId::parse("acme").unwrap(),
        cloud,
        vec![CloudSlot::new(aws), CloudSlot::new(azure)],
    );
    mount_to(root.clone(), move || {
        view! {
            {move || auth.step_up_wanted.get().then(|| view! { <StepUp auth/> })}
            <Wizard auth state on_done=BoxedCallback::new(|()| {})/>
        }
    })
    .forget();
    Mounted {
        root,
        auth,
        aws,
        azure,
        state,
    }
}

fn offered() -> serde_json::Value {
    ok(json!({ "clouds": ["aws", "azure"] }))
}

fn aws_bootstrap() -> serde_json::Value {
    ok(
        json!({ "external_id": "as-0123", "role_name": "alphaswarm-broker-acme", "bundle": minimal_bundle("aws") }),
    )
}

/// Step 2's answer as the proxy sends it (proxy/API.md on the azure branch).
fn azure_bootstrap() -> serde_json::Value {
    ok(json!({
        "bundle": minimal_bundle("azure"), "mode": "shared_app", "recommended_mode": "managed_identity",
        "issuer": "https://alpha-swarm.ai/oidc/", "subject": "org:acme", "audience": "api://AzureADTokenExchange",
        "admin_consent_url": format!("https://login.microsoftonline.com/{TENANT}/adminconsent?client_id=22222222-0000-0000-0000-000000000000")
    }))
}

fn azure_identity(safe: bool) -> serde_json::Value {
    json!({
        "audit_run_id": "run-3", "mode": "managed_identity", "tenant_id": TENANT,
        "subscription_id": SUBSCRIPTION.to_lowercase(), "client_id": CLIENT, "principal_object_id": PRINCIPAL,
        "subscription": { "display_name": "Production", "state": "Enabled" },
        "issuer": "https://alpha-swarm.ai/oidc/", "subject": "org:acme", "audience": "api://AzureADTokenExchange",
        "attempts": 2,
        "confused_deputy": { "safe": safe, "message": if safe {
            "An assertion for another organisation was refused."
        } else {
            "Shared-app mode does not isolate tenants: another organisation's assertion was accepted."
        } }
    })
}

async fn next(m: &Mounted, to: &str) {
    wait_until("Next to be enabled", || {
        !one(&m.root, ".step-nav button.primary").has_attribute("disabled")
    })
    .await;
    click(&m.root, ".step-nav button.primary");
    wait_until(to, || {
        !all(&m.root, &format!("[data-step={to}]")).is_empty()
    })
    .await;
}

async fn back_to_step_1(m: &Mounted) {
    click(&m.root, ".stepper li:first-child button");
    wait_until("step 1", || !all(&m.root, "[data-step=choose]").is_empty()).await;
}

#[wasm_bindgen_test]
async fn switching_cloud_keeps_each_cloud_s_inputs_to_itself() {
    stub_fetch(json!({
        "GET /admin/clouds": [offered()],
        "POST /admin/accounts/acme/cloud/aws/bootstrap": [aws_bootstrap()],
        "POST /admin/accounts/acme/cloud/azure/bootstrap": [azure_bootstrap()],
    }));
    let m = mount_wizard(CloudKind::Aws);
    wait_until("the proxy's clouds", || {
        !one(&m.root, "#cloud-azure").has_attribute("disabled")
    })
    .await;
    assert!(
        one(&m.root, "#cloud-gcp").has_attribute("disabled"),
        "the proxy does not offer GCP here"
    );

    // AWS as far as step 3, with an ARN typed.
    next(&m, "bootstrap").await;
    wait_until("AWS artifacts", || {
        !all(&m.root, "[data-value=external_id]").is_empty()
    })
    .await;
    next(&m, "identity").await;
    type_into(&m.root, "#role_arn", ARN);
    assert_eq!(m.aws.role_arn.get_untracked(), ARN);

    // Azure instead: its own inputs, its own requests, nothing of AWS's.
    back_to_step_1(&m).await;
    click(&m.root, "#cloud-azure");
    tick().await;
    assert_eq!(m.state.cloud.get_untracked(), CloudKind::Azure);
    assert_eq!(
        one(&m.root, ".wizard")
            .get_attribute("data-cloud")
            .as_deref(),
        Some("azure")
    );
    next(&m, "bootstrap").await;
    wait_until("Azure artifacts", || {
        requests_to("/cloud/azure/bootstrap").len() == 1
    })
    .await;
    assert_eq!(
        requests_to("/cloud/azure/bootstrap")[0].body,
        json!({ "mode": "managed_identity" }),
        "step 2 sends Azure's body and nothing of AWS's"
    );
    assert!(input_checked(&m.root, "#mode-managed_identity"));
    assert!(
        all(
            &m.root,
            "#region, #organizational_unit_ids, [data-value=external_id]"
        )
        .is_empty()
    );
    next(&m, "identity").await;
    assert!(
        all(&m.root, "#role_arn").is_empty(),
        "no AWS field in Azure's step 3"
    );
    assert_eq!(input_value(&m.root, "#tenant_id"), "");
    assert_eq!(input_value(&m.root, "#client_id"), "");
    assert_eq!(m.azure.tenant_id.get_untracked(), "");
    type_into(&m.root, "#tenant_id", TENANT);
    assert_eq!(m.aws.role_arn.get_untracked(), ARN, "AWS's ARN untouched");

    // Back to AWS: everything as it was left, nothing fetched again.
    back_to_step_1(&m).await;
    click(&m.root, "#cloud-aws");
    next(&m, "bootstrap").await;
    assert_eq!(
        requests_to("/cloud/aws/bootstrap").len(),
        1,
        "AWS kept its artifacts"
    );
    next(&m, "identity").await;
    assert_eq!(input_value(&m.root, "#role_arn"), ARN);
    assert!(
        all(&m.root, "#tenant_id").is_empty(),
        "no Azure field in AWS's step 3"
    );
    assert_eq!(
        m.azure.tenant_id.get_untracked(),
        TENANT,
        "Azure's tenant untouched"
    );
    for r in requests_to("/cloud/azure/bootstrap") {
        assert!(
            r.body.get("role_arn").is_none() && r.body.get("region").is_none(),
            "{r:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn step_up_prompt_resumes_the_interrupted_azure_validation() {
    let in_five_minutes = (js_sys::Date::now() / 1000.0) as u64 + 300;
    stub_fetch(json!({
        "GET /admin/clouds": [offered()],
        "POST /admin/accounts/acme/cloud/azure/bootstrap": [azure_bootstrap()],
        "POST /admin/accounts/acme/cloud/azure/validate-identity": [
            { "status": 403, "body": { "code": "step_up_required", "message": "A fresh second factor is needed.", "field": null, "hint": "Step up." } },
            ok(azure_identity(true))
        ],
        "POST /auth/step-up": [ok(json!({ "token": "stepped-up", "expires_at": null, "step_up_until": in_five_minutes }))],
    }));
    let m = mount_wizard(CloudKind::Azure);
    next(&m, "bootstrap").await;
    next(&m, "identity").await;
    type_into(&m.root, "#tenant_id", TENANT);
    type_into(&m.root, "#subscription_id", SUBSCRIPTION);
    type_into(&m.root, "#client_id", CLIENT);
    click(&m.root, "[data-step=identity] button[type=submit]");

    // The proxy wants a fresh step-up: the prompt, and no result yet.
    wait_until("the step-up prompt", || {
        !all(&m.root, "[data-view=step-up]").is_empty()
    })
    .await;
    assert_eq!(requests_to("/validate-identity").len(), 1);
    assert!(all(&m.root, "[data-result=identity]").is_empty());
    assert!(
        all(&m.root, ".banner.error").is_empty(),
        "handled by the prompt, not shown as an error"
    );

    type_into(&m.root, "#code", "123456");
    click(&m.root, "[data-view=step-up] button[type=submit]");
    wait_until("the resumed validation's result", || {
        !all(&m.root, "[data-result=identity]").is_empty()
    })
    .await;

    let sent = requests_to("/validate-identity");
    assert_eq!(sent.len(), 2, "resumed exactly once");
    assert_eq!(sent[0].body, sent[1].body, "the same step, unchanged");
    assert_eq!(
        sent[1].body,
        json!({ "mode": "managed_identity", "tenant_id": TENANT,
                "subscription_id": SUBSCRIPTION.to_lowercase(), "client_id": CLIENT })
    );
    assert_eq!(
        sent[1].authorization.as_deref(),
        Some("Bearer stepped-up"),
        "with the new session"
    );
    assert_eq!(
        requests_to("/auth/step-up")[0].body,
        json!({ "code": "123456" })
    );
    assert!(all(&m.root, "[data-view=step-up]").is_empty());
    assert_eq!(m.auth.token.get_untracked().as_deref(), Some("stepped-up"));
    assert_eq!(
        one(&m.root, ".deputy")
            .get_attribute("data-safe")
            .as_deref(),
        Some("true")
    );
    assert!(m.state.reachable(Step::ValidatePermissions));
    m.auth.sign_out();
}

/// Azure's step 3 view alone, with the error of its last run.
fn mount_azure_step(step: Step, azure: AzureWizard, run: StepRun) -> (HtmlElement, RwSignal<u32>) {
    let root = container();
    let runs = RwSignal::new(0u32);
    mount_to(root.clone(), move || {
        view! {
            <StepView wizard=Arc::new(azure) step run shell=BoxedSignal::new(Shell::Bash)
                on_run=BoxedCallback::new(move |()| runs.update(|n| *n += 1))/>
        }
    })
    .forget();
    (root, runs)
}

fn proxy_error(code: &str, field: Option<&str>) -> ApiError {
    ApiError::Proxy {
        status: 422,
        body: ErrorBody {
            code: code.into(),
            message: "Azure could not find that subscription in the tenant.".into(),
            field: field.map(Into::into),
            hint: "Check the subscription id.".into(),
        },
        audit_run_id: Some("run-1".into()),
    }
}

#[wasm_bindgen_test]
async fn azure_ids_are_checked_as_you_type_and_each_error_shows_once_at_its_field() {
    let azure = AzureWizard::new();
    let run = StepRun::new();
    let (root, _) = mount_azure_step(Step::ValidateIdentity, azure, run);
    tick().await;

    type_into(&root, "#tenant_id", "1111-not-a-guid");
    tick().await;
    let error = one(&root, "#tenant_id-error .field-error");
    assert_eq!(
        error.get_attribute("data-code").as_deref(),
        Some("invalid_guid")
    );
    let words = error.text_content().unwrap();
    assert!(words.contains("Tenant id is not a valid GUID"), "{words}");
    assert!(
        !words.contains("tenant_id"),
        "operator wording, not the wire name: {words}"
    );
    assert_eq!(
        one(&root, "#tenant_id")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert!(
        one(&root, "#tenant_id")
            .get_attribute("aria-describedby")
            .unwrap()
            .contains("tenant_id-error")
    );

    // Upper case is a GUID too (the core normalises it).
    type_into(&root, "#tenant_id", TENANT.to_uppercase().as_str());
    tick().await;
    assert!(all(&root, "#tenant_id-error .field-error").is_empty());
    assert_eq!(
        one(&root, "#tenant_id")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("false")
    );

    // Nothing is sent while a required id is missing; the error names the field.
    let err = azure.body(Step::ValidateIdentity).unwrap_err();
    assert_eq!(err.field(), Some("subscription_id"));
    type_into(&root, "#subscription_id", SUBSCRIPTION);
    let err = azure.body(Step::ValidateIdentity).unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        ("missing_field", Some("client_id"))
    );
    run.error.set(Some(err));
    tick().await;
    assert_eq!(all(&root, "#client_id-error .field-error").len(), 1);
    assert!(
        all(&root, ".banner.error").is_empty(),
        "not repeated as a banner"
    );

    // The proxy's error for a field shows there, once; one for no field in the banner.
    run.error.set(Some(proxy_error(
        "subscription_not_found",
        Some("subscription_id"),
    )));
    tick().await;
    assert_eq!(all(&root, ".field-error").len(), 1);
    assert_eq!(
        one(&root, "#subscription_id-error .field-error")
            .get_attribute("data-code")
            .as_deref(),
        Some("subscription_not_found")
    );
    assert_eq!(
        one(&root, "#subscription_id")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );
    run.error.set(Some(proxy_error("issuer_unreachable", None)));
    tick().await;
    assert_eq!(
        all(&root, ".banner.error [data-code=issuer_unreachable]").len(),
        1
    );
    assert!(all(&root, ".field .field-error").is_empty());
}

#[wasm_bindgen_test]
async fn azure_mode_choice_recommends_the_managed_identity_and_re_renders() {
    let azure = AzureWizard::new();
    azure.answers.set(azure_answers(
        Step::Bootstrap,
        azure_bootstrap()["body"].clone(),
    ));
    let run = StepRun::new();
    let (root, runs) = mount_azure_step(Step::Bootstrap, azure, run);
    tick().await;
    let managed = one(&root, "[data-mode=managed_identity]");
    assert!(text(&managed, ".choice-name").contains("Recommended"));
    assert!(input_checked(&root, "#mode-managed_identity"));
    assert!(all(&root, "[data-mode=shared_app] .badge").is_empty());
    assert_eq!(all(&root, "input[name=mode]").len(), 2);
    for id in [
        "mode-managed_identity",
        "mode-shared_app",
        "tenant_id",
        "subscription_id",
        "role",
        "resource_group",
        "location",
    ] {
        assert_eq!(
            all(&root, &format!("label[for={id}]")).len(),
            1,
            "{id} is labelled"
        );
    }
    // Where the identity goes is checked as you type by the core, in an
    // operator's words (the character, not its position).
    type_into(&root, "#resource_group", "rg broker");
    tick().await;
    let error = one(&root, "#resource_group-error .field-error");
    assert_eq!(
        error.get_attribute("data-code").as_deref(),
        Some("invalid_resource_group")
    );
    let words = error.text_content().unwrap();
    assert!(words.contains("contains a space"), "{words}");
    assert!(!words.contains("position"), "{words}");
    type_into(&root, "#location", "East US 2");
    tick().await;
    assert!(all(&root, "#location-error .field-error").is_empty());
    type_into(&root, "#location", "east-us");
    tick().await;
    assert_eq!(
        one(&root, "#location-error .field-error")
            .get_attribute("data-code")
            .as_deref(),
        Some("invalid_azure_location")
    );
    assert!(
        azure.body(Step::Bootstrap).is_err(),
        "nothing is sent while an input does not parse"
    );
    type_into(&root, "#location", "");
    // Where the managed identity goes is sent in its mode only.
    type_into(&root, "#resource_group", "rg-broker");
    assert_eq!(
        azure.body(Step::Bootstrap).unwrap(),
        json!({ "mode": "managed_identity", "resource_group": "rg-broker" })
    );
    // The proxy's error about the mode shows under the choice, once.
    run.error
        .set(Some(proxy_error("invalid_azure_mode", Some("mode"))));
    tick().await;
    assert_eq!(
        all(
            &root,
            "#mode-error .field-error[data-code=invalid_azure_mode]"
        )
        .len(),
        1
    );
    assert!(all(&root, ".banner.error").is_empty());
    run.error.set(None);

    click(&root, "#mode-shared_app");
    tick().await;
    assert_eq!(azure.mode.get_untracked(), Mode::SharedApp);
    assert_eq!(
        runs.get_untracked(),
        1,
        "the artifacts are rendered again for the new mode"
    );
    assert!(
        azure.answers.with_untracked(|a| a.bootstrap.is_none()),
        "the old mode's artifacts are gone"
    );
    tick().await;
    assert!(
        all(&root, "#resource_group, #location").is_empty(),
        "no identity to place"
    );
    assert_eq!(
        azure.body(Step::Bootstrap).unwrap(),
        json!({ "mode": "shared_app" })
    );

    // A role is checked as you type too.
    type_into(&root, "#role", "Owner");
    tick().await;
    assert_eq!(
        one(&root, "#role-error .field-error")
            .get_attribute("data-code")
            .as_deref(),
        Some("invalid_azure_role")
    );
}

#[wasm_bindgen_test]
async fn shared_app_step_3_has_the_consent_link_and_no_client_id() {
    let azure = AzureWizard::new();
    azure.mode.set(Mode::SharedApp);
    azure.answers.set(azure_answers(
        Step::Bootstrap,
        azure_bootstrap()["body"].clone(),
    ));
    let run = StepRun::new();
    let (root, _) = mount_azure_step(Step::ValidateIdentity, azure, run);
    tick().await;
    assert!(all(&root, "#client_id").is_empty());
    type_into(&root, "#tenant_id", TENANT);
    type_into(&root, "#subscription_id", SUBSCRIPTION);
    assert_eq!(
        azure.body(Step::ValidateIdentity).unwrap(),
        json!({ "mode": "shared_app", "tenant_id": TENANT, "subscription_id": SUBSCRIPTION.to_lowercase() })
    );
    // Consent missing: Entra's 700016, next to the tenant it is missing in.
    run.error.set(Some(proxy_error(
        "admin_consent_missing",
        Some("tenant_id"),
    )));
    tick().await;
    assert_eq!(
        all(&root, "#tenant_id-error [data-code=admin_consent_missing]").len(),
        1
    );
    assert!(all(&root, ".banner.error").is_empty());
    let link = one(&root, "[data-consent] a");
    assert!(
        link.get_attribute("href")
            .unwrap()
            .contains("/adminconsent?client_id=")
    );
    assert_eq!(
        one(&root, "[data-mode]")
            .get_attribute("data-mode")
            .as_deref(),
        Some("shared_app")
    );
}

#[wasm_bindgen_test]
async fn azure_isolation_result_opens_step_4_only_when_isolated_or_said_plainly() {
    let azure = AzureWizard::new();
    let identity: IdentityResponse = azure_answers(Step::ValidateIdentity, azure_identity(false))
        .identity
        .unwrap();
    azure
        .answers
        .update(|a| a.identity = Some(identity.clone()));
    let (root, _) = mount_azure_step(Step::ValidateIdentity, azure, StepRun::new());
    tick().await;
    let result = one(&root, "[data-result=identity]");
    assert_eq!(
        one(&result, ".deputy")
            .get_attribute("data-safe")
            .as_deref(),
        Some("false")
    );
    assert!(text(&result, ".deputy").contains("does not isolate tenants"));
    assert!(result.text_content().unwrap().contains("Production"));
    assert!(result.text_content().unwrap().contains(PRINCIPAL));
    // An identity that accepts another org's assertion blocks step 4 ...
    assert_eq!(azure.status(Step::ValidateIdentity), StepStatus::Blocked);
    // ... except in shared-app mode, which cannot isolate by design and says so.
    azure.mode.set(Mode::SharedApp);
    azure.answers.update(|a| a.identity = Some(identity));
    assert_eq!(azure.status(Step::ValidateIdentity), StepStatus::Passed);
    tick().await;
    let deputy = one(&root, "[data-result=identity] .deputy");
    assert_eq!(text(&deputy, ".badge"), "Tenant not isolated");
    let words = deputy.text_content().unwrap();
    assert!(words.contains("\"Customer-managed identity\""), "{words}");
    assert!(
        !words.contains("managed_identity"),
        "no wire values: {words}"
    );
    // A changed id forgets the checked result.
    type_into(&root, "#tenant_id", "22222222-2222-2222-2222-222222222222");
    assert_eq!(azure.status(Step::ValidateIdentity), StepStatus::Pending);
}

/// Step 4's answer: Reader assigned or not, the effective permissions all
/// there or one taken away.
fn permissions(reader: bool, actions: bool) -> serde_json::Value {
    json!({
        "audit_run_id": "run-4", "principal_object_id": PRINCIPAL,
        "required": ["Reader", "Security Reader"],
        "granted": if reader { json!(["Reader", "Security Reader"]) } else { json!(["Security Reader"]) },
        "missing": if reader { json!([]) } else { json!(["Reader"]) },
        "satisfied": reader && actions,
        "results": [
            { "role": "Reader", "granted": reader, "granted_by": if reader { json!("Owner") } else { json!(null) },
              "fix": if reader { json!(null) } else { json!("az role assignment create …") } },
            { "role": "Security Reader", "granted": true, "granted_by": "Security Reader", "fix": null }
        ],
        "actions": [
            { "action": "Microsoft.Resources/subscriptions/read", "granted": true },
            { "action": "Microsoft.Authorization/roleAssignments/read", "granted": actions }
        ],
        "assignments": []
    })
}

#[wasm_bindgen_test]
async fn azure_missing_role_is_red_with_the_role_assignment_fix() {
    let root = container();
    let result: PermissionsResponse =
        azure_answers(Step::ValidatePermissions, permissions(false, true))
            .permissions
            .unwrap();
    mount_to(root.clone(), move || {
        view! { <RolesView result principal=PRINCIPAL.to_owned() subscription=SUBSCRIPTION.to_owned()/> }
    })
    .forget();
    tick().await;
    let missing = all(&root, ".checks li[data-granted=false]");
    assert_eq!(missing.len(), 1);
    assert_eq!(
        missing[0].get_attribute("data-action").as_deref(),
        Some("Reader")
    );
    assert_eq!(text(&missing[0], ".badge.missing"), "Missing required");
    assert_eq!(
        all(&root, "[aria-label='Required roles'] .badge.ok").len(),
        1
    );
    assert_eq!(
        all(&root, "[aria-label='Effective permissions'] .badge.ok").len(),
        2
    );
    let fix = one(&root, "[data-fix=permissions]").text_content().unwrap();
    let scope = format!("/subscriptions/{}", SUBSCRIPTION.to_lowercase());
    for part in [
        "az role assignment create",
        PRINCIPAL,
        "--role Reader",
        scope.as_str(),
    ] {
        assert!(fix.contains(part), "{part} in {fix}");
    }
    assert!(!fix.contains("Security Reader"), "only what is missing");
    assert_eq!(
        all(&root, "[data-fix=permissions] > div.artifact").len(),
        2,
        "bash and PowerShell"
    );
    assert!(text(&root, "[data-action='Security Reader']").contains("through Security Reader"));
    assert_eq!(all(&root, "[data-fix=denied]").len(), 0);

    // Every role there but a permission taken away: red, and not "assign a role".
    let azure = AzureWizard::new();
    azure.answers.set(azure_answers(
        Step::ValidatePermissions,
        permissions(true, false),
    ));
    assert_eq!(azure.status(Step::ValidatePermissions), StepStatus::Blocked);
    let root = container();
    let result = azure.answers.get_untracked().permissions.unwrap();
    mount_to(root.clone(), move || {
        view! { <RolesView result principal=PRINCIPAL.to_owned() subscription=SUBSCRIPTION.to_owned()/> }
    })
    .forget();
    tick().await;
    let red = all(&root, ".checks li[data-granted=false]");
    assert_eq!(red.len(), 1);
    assert_eq!(
        red[0].get_attribute("data-action").as_deref(),
        Some("Microsoft.Authorization/roleAssignments/read")
    );
    assert_eq!(all(&root, "[data-fix=denied]").len(), 1);
    assert_eq!(all(&root, "[data-fix=permissions]").len(), 0);
    azure.answers.set(azure_answers(
        Step::ValidatePermissions,
        permissions(true, true),
    ));
    assert_eq!(azure.status(Step::ValidatePermissions), StepStatus::Passed);
}

#[wasm_bindgen_test]
async fn azure_resources_list_groups_and_locations() {
    let root = container();
    let resources: ResourcesResponse = azure_answers(Step::EnumerateResources, json!({
        "audit_run_id": "run-5",
        "resource_groups": [
            { "name": "alphaswarm-broker", "location": "eastus", "provisioning_state": "Succeeded" },
            { "name": "prod", "location": "westeurope", "provisioning_state": "Succeeded" }
        ],
        "locations": [{ "name": "eastus", "display_name": "East US", "regional_display_name": "(US) East US" }]
    }))
    .resources
    .unwrap();
    mount_to(root.clone(), move || view! { <ResourcesView resources/> }).forget();
    tick().await;
    assert_eq!(all(&root, "table.resource-groups tbody tr").len(), 2);
    assert_eq!(
        text(&root, "table.resource-groups caption"),
        "2 resource groups"
    );
    assert_eq!(
        text(&root, "table.locations [data-row=eastus] td"),
        "East US"
    );
}

#[wasm_bindgen_test]
async fn an_answer_without_a_documented_field_is_refused_not_half_shown() {
    let mut answers = AzureAnswers::default();
    let mut identity = azure_identity(true);
    identity
        .as_object_mut()
        .unwrap()
        .remove("principal_object_id");
    let err = answers
        .accept(Step::ValidateIdentity, &identity.to_string())
        .unwrap_err();
    assert!(err.contains("principal_object_id"), "{err}");
    assert!(answers.identity.is_none());
    let mut nested = azure_identity(true);
    nested["confused_deputy"] = json!({ "message": "no verdict" });
    assert!(
        answers
            .accept(Step::ValidateIdentity, &nested.to_string())
            .unwrap_err()
            .contains("safe")
    );
    assert!(answers.accept(Step::Bootstrap, r#"{"bundle": 1}"#).is_err());
    assert!(answers.accept(Step::EnumerateResources, "<html>").is_err());
}
