//! GCP's views: the project id and number checked apart as you type (the
//! usual paste of one for the other named as such, at its field), nothing
//! sent while one is missing, the isolation verdict gating step 4, the
//! missing permissions red with the core's project binding fix, and
//! Compute disabled said plainly.

use crate::support::*;
use alphaswarm_core::shell::Shell;
use alphaswarm_web::clouds::gcp::{GcpAnswers, GcpWizard, PermissionsView, RegionsView};
use alphaswarm_web::model::Step;
use alphaswarm_web::signal::{BoxedCallback, BoxedSignal};
use alphaswarm_web::steps::{CloudWizard, StepRun, StepStatus, StepView};
use leptos::mount::mount_to;
use leptos::prelude::*;
use serde_json::json;
use std::sync::Arc;
use wasm_bindgen_test::wasm_bindgen_test;

const ACCOUNT: &str = "alphaswarm-acme@acme-prod.iam.gserviceaccount.com";

fn answers(step: Step, answer: serde_json::Value) -> GcpAnswers {
    let mut answers = GcpAnswers::default();
    answers
        .accept(step, &answer.to_string())
        .expect("the sample has the documented shape");
    answers
}

fn permissions(granted: bool) -> serde_json::Value {
    json!({
        "audit_run_id": "run-1",
        "service_account_email": ACCOUNT,
        "roles": ["roles/browser", "roles/compute.viewer"],
        "required": ["resourcemanager.projects.get", "compute.regions.list"],
        "granted": ["resourcemanager.projects.get"],
        "missing": if granted { json!([]) } else { json!(["compute.regions.list"]) },
        "satisfied": granted,
        "results": [
            { "permission": "resourcemanager.projects.get", "granted": true, "role": "roles/browser", "fix": null },
            { "permission": "compute.regions.list", "granted": granted, "role": "roles/compute.viewer", "fix": "gcloud …" },
        ],
    })
}

#[wasm_bindgen_test]
async fn gcp_project_id_and_number_are_checked_apart_as_you_type() {
    let gcp = GcpWizard::new();
    let root = container();
    mount_to(root.clone(), move || {
        view! {
            <StepView wizard=Arc::new(gcp) step=Step::Bootstrap run=StepRun::new() shell=BoxedSignal::new(Shell::Bash)
                on_run=BoxedCallback::new(|()| {})/>
        }
    })
    .forget();
    tick().await;
    assert!(all(&root, ".artifacts").is_empty(), "waits for the project");

    // Each pasted where the other belongs: said so, at that field, once.
    type_into(&root, "#project_number", "acme-prod");
    type_into(&root, "#project_id", "123456789012");
    tick().await;
    for (field, code, says) in [
        (
            "project_number",
            "invalid_gcp_project_number",
            "looks like the project id",
        ),
        (
            "project_id",
            "invalid_gcp_project_id",
            "looks like the project number",
        ),
    ] {
        let errors = all(&root, &format!("#{field}-error .field-error"));
        assert_eq!(errors.len(), 1, "{field}");
        assert_eq!(errors[0].get_attribute("data-code").as_deref(), Some(code));
        let words = errors[0].text_content().unwrap();
        assert!(words.contains(says), "{words}");
        assert!(!words.contains(field), "operator wording: {words}");
        assert_eq!(
            one(&root, &format!("#{field}"))
                .get_attribute("aria-invalid")
                .as_deref(),
            Some("true")
        );
    }
    assert!(all(&root, ".banner.error").is_empty());
    let err = gcp.body(Step::Bootstrap).unwrap_err();
    assert_eq!(err.field(), Some("project_id"), "nothing is sent");

    type_into(&root, "#project_id", " acme-prod ");
    type_into(&root, "#project_number", "");
    tick().await;
    assert!(all(&root, ".field-error").is_empty());
    let err = gcp.body(Step::ValidateIdentity).unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        ("missing_field", Some("project_number"))
    );
    type_into(&root, "#project_number", "123456789012");
    assert_eq!(
        gcp.body(Step::ValidateIdentity).unwrap(),
        json!({ "project_id": "acme-prod", "project_number": "123456789012" }),
        "trimmed; no account named: the bundle's own"
    );
    type_into(&root, "#service_account_email", ACCOUNT);
    assert_eq!(
        gcp.body(Step::Connect).unwrap()["service_account_email"],
        ACCOUNT
    );
}

#[wasm_bindgen_test]
async fn gcp_step_4_opens_only_when_isolated_and_permissions_are_red_with_the_fix() {
    let gcp = GcpWizard::new();
    let identity = |safe: bool| {
        json!({
            "project_id": "acme-prod", "project_number": "123456789012",
            "service_account_email": ACCOUNT, "attempts": 2,
            "principal": "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-acme/subject/org:acme",
            "subject": "org:acme",
            "confused_deputy": { "safe": safe, "refused_by": "sts", "message": "refused" },
        })
    };
    gcp.answers
        .set(answers(Step::ValidateIdentity, identity(false)));
    assert_eq!(gcp.status(Step::ValidateIdentity), StepStatus::Blocked);
    gcp.answers
        .set(answers(Step::ValidateIdentity, identity(true)));
    assert_eq!(gcp.status(Step::ValidateIdentity), StepStatus::Passed);

    let root = container();
    let result = answers(Step::ValidatePermissions, permissions(false))
        .permissions
        .unwrap();
    mount_to(root.clone(), move || {
        view! { <PermissionsView result project_id="acme-prod".to_owned()/> }
    })
    .forget();
    tick().await;
    let red = all(&root, ".checks li[data-granted=false]");
    assert_eq!(red.len(), 1);
    assert_eq!(
        red[0].get_attribute("data-action").as_deref(),
        Some("compute.regions.list")
    );
    assert_eq!(text(&red[0], ".badge.missing"), "Missing required");
    assert_eq!(all(&root, ".checks .badge.ok").len(), 1);
    let fix = one(&root, "[data-fix=permissions]").text_content().unwrap();
    for part in [
        "gcloud projects add-iam-policy-binding \\\n  acme-prod \\",
        "--member=serviceAccount:alphaswarm-acme@acme-prod.iam.gserviceaccount.com",
        "--role=roles/compute.viewer",
    ] {
        assert!(fix.contains(part), "{part} in {fix}");
    }
    assert!(!fix.contains("roles/browser"), "only what is missing");
    assert_eq!(
        all(&root, "[data-fix=permissions] > div.artifact").len(),
        2,
        "bash and PowerShell"
    );
    gcp.answers
        .update(|a| *a = answers(Step::ValidatePermissions, permissions(false)));
    assert_eq!(gcp.status(Step::ValidatePermissions), StepStatus::Blocked);
    gcp.answers
        .update(|a| *a = answers(Step::ValidatePermissions, permissions(true)));
    assert_eq!(gcp.status(Step::ValidatePermissions), StepStatus::Passed);
}

#[wasm_bindgen_test]
async fn gcp_regions_or_compute_disabled_said_plainly() {
    let root = container();
    let regions = answers(
        Step::EnumerateResources,
        json!({ "project_id": "acme-prod", "compute": "enabled", "regions": [
            { "name": "europe-west1", "status": "UP", "zones": ["europe-west1-b", "europe-west1-c"] },
        ] }),
    )
    .resources
    .unwrap();
    mount_to(root.clone(), move || view! { <RegionsView regions/> }).forget();
    tick().await;
    let row = one(&root, "table.regions tr[data-row=europe-west1]");
    assert!(
        row.text_content()
            .unwrap()
            .contains("europe-west1-b, europe-west1-c")
    );

    let root = container();
    let regions = answers(
        Step::EnumerateResources,
        json!({ "project_id": "acme-prod", "compute": "disabled", "regions": [],
            "message": "The Compute Engine API is disabled in project acme-prod.",
            "fix": "gcloud services enable compute.googleapis.com --project=acme-prod" }),
    )
    .resources
    .unwrap();
    mount_to(root.clone(), move || view! { <RegionsView regions/> }).forget();
    tick().await;
    assert!(all(&root, "table").is_empty());
    let said = one(&root, "[data-compute=disabled]")
        .text_content()
        .unwrap();
    assert!(
        said.contains("API is disabled") && said.contains("gcloud services enable"),
        "{said}"
    );
}
