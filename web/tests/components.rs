//! Component tests: mount one view (or the whole wizard, with `fetch`
//! answered by a stand-in) in headless Chromium and assert on the DOM it
//! renders (run by scripts/test-web.sh via wasm-bindgen-test).
//! Browser-only: a native `cargo test --workspace` skips this file.
#![cfg(target_arch = "wasm32")]

mod clouds;
mod support;

use alphaswarm_core::shell::Shell;
use alphaswarm_core::{CloudKind, ErrorBody};
use alphaswarm_web::api::ApiError;
use alphaswarm_web::clouds::aws::{
    AwsAnswers, AwsWizard, BootstrapResponse, BootstrapView, IdentityResponse, PermissionsResponse,
    PermissionsView,
};
use alphaswarm_web::model::Step;
use alphaswarm_web::signal::{BoxedCallback, BoxedSignal};
use alphaswarm_web::steps::choose::ChooseView;
use alphaswarm_web::steps::{StepRun, StepView};
use leptos::mount::mount_to;
use leptos::prelude::*;
use std::sync::Arc;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

/// AWS's answers after the proxy answered `step` with `answer` (read the way
/// the wizard reads it).
fn aws_answers(step: Step, answer: serde_json::Value) -> AwsAnswers {
    let mut answers = AwsAnswers::default();
    answers
        .accept(step, &answer.to_string())
        .expect("the sample has the documented shape");
    answers
}

fn bootstrap_sample() -> BootstrapResponse {
    aws_answers(Step::Bootstrap, serde_json::json!({
        "external_id": "as-0123456789abcdef",
        "role_name": "alphaswarm-broker-acme",
        "bundle": {
            "cloud": "aws",
            "orgId": "acme",
            "values": [
                {"name": "external_id", "label": "External id", "value": "as-0123456789abcdef"},
                {"name": "partner_account_id", "label": "AlphaSwarm account", "value": "111122223333"}
            ],
            "files": [
                {"name": "trust_policy.json", "mediaType": "application/json", "contents": "{}\n"},
                {"name": "alphaswarm-role.yaml", "mediaType": "application/yaml", "contents": "Resources: {}\n"}
            ],
            "commands": {
                "bash": ["aws iam create-role \\\n  --role-name alphaswarm-broker-acme", "aws iam attach-role-policy \\\n  --role-name alphaswarm-broker-acme"],
                "powershell": ["aws iam create-role `\n  --role-name 'alphaswarm-broker-acme'", "aws iam attach-role-policy `\n  --role-name 'alphaswarm-broker-acme'"]
            },
            "links": [
                {"name": "cloudformation_quick_create", "label": "Launch stack", "url": "https://console.aws.amazon.com/cloudformation/home#/stacks/quickcreate"},
                {"name": "cloudformation_stackset", "label": "Organisation-wide (StackSet)", "url": "https://console.aws.amazon.com/cloudformation/home#/stacksets/create"}
            ],
            "terraform": "resource \"aws_iam_role\" \"alphaswarm\" {}\n",
            "warnings": [],
            "notes": []
        }
    }))
    .bootstrap
    .unwrap()
}

#[wasm_bindgen_test]
async fn bootstrap_view_has_a_copy_button_per_command_and_toggles_shells() {
    let root = container();
    let shell = BoxedSignal::new(Shell::Bash);
    let data = bootstrap_sample();
    mount_to(root.clone(), move || view! { <BootstrapView data shell/> }).forget();
    tick().await;

    let commands = all(&root, ".commands li");
    assert_eq!(commands.len(), 2);
    for li in &commands {
        assert!(
            li.text_content().unwrap().contains(" \\\n"),
            "bash continuation"
        );
        assert_eq!(
            all(li, ".copy-button").len(),
            1,
            "one copy button per command"
        );
    }
    assert_eq!(
        one(&root, "[data-shell=bash]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );

    one(&root, "[data-shell=PowerShell]")
        .unchecked_into::<HtmlElement>()
        .click();
    tick().await;
    assert_eq!(shell.get_untracked(), Shell::PowerShell);
    assert_eq!(
        one(&root, "[data-shell=PowerShell]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    let commands = all(&root, ".commands li pre");
    assert_eq!(commands.len(), 2);
    assert!(
        commands
            .iter()
            .all(|c| c.text_content().unwrap().contains(" `\n")),
        "PowerShell continuation"
    );

    // Values: external id and role name first, each copyable, no duplicate.
    assert_eq!(
        text(&root, "[data-value=external_id] code"),
        "as-0123456789abcdef"
    );
    assert_eq!(
        text(&root, "[data-value=role_name] code"),
        "alphaswarm-broker-acme"
    );
    assert_eq!(all(&root, "[data-value=external_id]").len(), 1);
    assert_eq!(all(&root, ".values .copy-button").len(), 3);
    // Each file (and Terraform) has a copy and a download.
    for file in ["trust_policy.json", "alphaswarm-role.yaml", "main.tf"] {
        let figure = one(&root, &format!("[data-file=\"{file}\"]"));
        assert_eq!(all(&figure, ".copy-button").len(), 1, "{file}");
        assert_eq!(all(&figure, ".download-button").len(), 1, "{file}");
    }
    let launch = one(&root, "[data-link=cloudformation_quick_create] a");
    assert_eq!(launch.text_content().as_deref(), Some("Launch stack"));
    assert!(
        launch
            .get_attribute("href")
            .unwrap()
            .starts_with("https://console.aws.amazon.com/")
    );
    assert_eq!(all(&root, "[data-link=cloudformation_stackset]").len(), 1);
}

fn permissions_sample() -> PermissionsResponse {
    aws_answers(
        Step::ValidatePermissions,
        serde_json::json!({
            "audit_run_id": "run-1",
            "results": [
                {"action": "sts:GetCallerIdentity", "decision": "allowed", "granted": true},
                {"action": "iam:GetRole", "decision": "allowed", "granted": true},
                {"action": "ec2:DescribeRegions", "decision": "implicitDeny", "granted": false}
            ],
            "granted": ["sts:GetCallerIdentity", "iam:GetRole"],
            "missing": ["ec2:DescribeRegions"]
        }),
    )
    .permissions
    .unwrap()
}

#[wasm_bindgen_test]
async fn permissions_view_marks_missing_actions_red_with_the_fix() {
    let root = container();
    let result = permissions_sample();
    mount_to(
        root.clone(),
        move || view! { <PermissionsView result role_name="alphaswarm-broker-acme"/> },
    )
    .forget();
    tick().await;

    let missing = all(&root, ".checks li[data-granted=false]");
    assert_eq!(missing.len(), 1);
    assert_eq!(
        missing[0].get_attribute("data-action").as_deref(),
        Some("ec2:DescribeRegions")
    );
    assert_eq!(text(&missing[0], ".badge.missing"), "Missing required");
    assert_eq!(all(&root, ".badge.ok").len(), 2);
    assert_eq!(
        all(&root, ".checks li[data-granted=true] .badge.missing").len(),
        0
    );

    let fix = one(&root, "[data-fix=permissions]");
    let fix_text = fix.text_content().unwrap();
    assert!(
        fix_text.contains("\"ec2:DescribeRegions\""),
        "policy names the missing action"
    );
    // The whole least-privilege policy of step 2 (put-role-policy replaces
    // a same-named policy, so the missing actions alone would drop the rest).
    let policy = one(&fix, "figure pre").text_content().unwrap();
    assert_eq!(policy, alphaswarm_core::aws::baseline_policy_json());
    assert!(fix_text.contains("aws iam put-role-policy"), "{fix_text}");
    assert!(fix_text.contains("--role-name alphaswarm-broker-acme"));
    assert!(fix_text.contains("--policy-document file://alphaswarm_baseline_policy.json"));
}

#[wasm_bindgen_test]
async fn permissions_view_all_granted_has_no_fix() {
    let root = container();
    let mut result = permissions_sample();
    result.results[2].granted = true;
    result.missing.clear();
    mount_to(
        root.clone(),
        move || view! { <PermissionsView result role_name="r"/> },
    )
    .forget();
    tick().await;
    assert_eq!(all(&root, ".badge.missing").len(), 0);
    assert_eq!(all(&root, "[data-fix]").len(), 0);
}

fn access_denied() -> ApiError {
    ApiError::Proxy {
        status: 422,
        body: ErrorBody {
            code: "assume_role_access_denied".into(),
            message: "AWS refused sts:AssumeRole for this role.".into(),
            field: Some("role_arn".into()),
            hint: "Apply the trust policy from step 2.".into(),
        },
        audit_run_id: Some("run-1".into()),
    }
}

/// AWS's step 3 as the wizard shows it (the generic step view with the
/// AWS inputs and result), with a given error, progress and result.
fn mount_identity(
    error: Option<ApiError>,
    elapsed: Option<u32>,
    identity: Option<IdentityResponse>,
) -> (HtmlElement, RwSignal<String>) {
    let root = container();
    let aws = AwsWizard::new();
    aws.answers.update(|a| a.identity = identity);
    let run = StepRun::new();
    run.error.set(error);
    run.elapsed.set(elapsed);
    mount_to(root.clone(), move || {
        view! {
            <StepView wizard=Arc::new(aws) step=Step::ValidateIdentity run shell=BoxedSignal::new(Shell::Bash)
                on_run=BoxedCallback::new(|()| {})/>
        }
    })
    .forget();
    (root, aws.role_arn)
}

#[wasm_bindgen_test]
async fn role_arn_error_is_shown_next_to_the_arn_input() {
    let (root, _) = mount_identity(Some(access_denied()), None, None);
    tick().await;
    let field = one(&root, ".field:has(#role_arn)");
    let error = one(&field, "#role_arn-error .field-error");
    assert_eq!(
        error.get_attribute("data-code").as_deref(),
        Some("assume_role_access_denied")
    );
    let words = error.text_content().unwrap();
    assert!(
        words.contains("AccessDenied") && words.contains("external id"),
        "{words}"
    );
    assert!(
        words.contains("Apply the trust policy from step 2."),
        "hint shown"
    );
    let described = one(&root, "#role_arn")
        .get_attribute("aria-describedby")
        .unwrap();
    assert!(described.split(' ').any(|id| id == "role_arn-error"));
    assert_eq!(
        one(&root, "#role_arn")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        all(&root, ".banner.error").len(),
        0,
        "not repeated as a banner"
    );
}

#[wasm_bindgen_test]
async fn account_id_is_derived_from_the_pasted_arn() {
    let (root, arn) = mount_identity(None, None, None);
    arn.set("arn:aws:iam::012345678901:role/alphaswarm-broker-acme".into());
    tick().await;
    assert_eq!(text(&root, "[data-derived=account_id]"), "012345678901");
    arn.set("arn:aws:iam::123:role/x".into());
    tick().await;
    assert_eq!(all(&root, "[data-derived=account_id]").len(), 0);
    // The core's RoleArn says what is wrong with the account id part, once,
    // in the field's error slot, with the field's label.
    let said = text(&root, "#role_arn-error");
    assert!(
        said.contains("3 digits") && said.contains("12") && said.starts_with("Role ARN"),
        "{said}"
    );
    assert!(!text(&root, "#role_arn-derived").contains("digits"));
    assert_eq!(all(&root, ".field-error").len(), 1);
}

#[wasm_bindgen_test]
async fn identity_progress_and_network_retry() {
    let network = ApiError::Network {
        message: "The proxy could not be reached.".into(),
    };
    let (root, _) = mount_identity(Some(network), Some(7), None);
    tick().await;
    assert!(text(&root, "[data-progress=identity]").contains("7 s"));
    assert!(one(&root, "button[type=submit]").has_attribute("disabled"));
    let banner = one(&root, ".banner.error");
    assert_eq!(
        banner.get_attribute("data-code").as_deref(),
        Some("network_error")
    );
    assert_eq!(text(&banner, "button"), "Retry");
}

#[wasm_bindgen_test]
async fn identity_result_shows_the_confused_deputy_check() {
    let identity: IdentityResponse = aws_answers(Step::ValidateIdentity, serde_json::json!({
        "audit_run_id": "r", "account_id": "012345678901",
        "role_arn": "arn:aws:iam::012345678901:role/x",
        "assumed_arn": "arn:aws:sts::012345678901:assumed-role/x/alphaswarm",
        "attempts": 2, "confused_deputy": {"safe": false, "message": "The role trusts AlphaSwarm without an external id."}
    }))
    .identity
    .unwrap();
    let (root, _) = mount_identity(None, None, Some(identity));
    tick().await;
    assert_eq!(
        one(&root, ".deputy").get_attribute("data-safe").as_deref(),
        Some("false")
    );
    assert!(text(&root, "[data-result=identity]").contains("assumed-role/x/alphaswarm"));
}

#[wasm_bindgen_test]
async fn choose_view_offers_aws_and_labels_every_option() {
    let root = container();
    let cloud = BoxedSignal::new(CloudKind::Aws);
    // The proxy offers AWS only: every other cloud is "Coming soon".
    let choosable = BoxedCallback::new(|kind| Some(kind == CloudKind::Aws));
    mount_to(
        root.clone(),
        move || view! { <ChooseView cloud choosable/> },
    )
    .forget();
    tick().await;
    let radios = all(&root, "input[type=radio]");
    assert_eq!(radios.len(), 4);
    for radio in &radios {
        let id = radio.id();
        assert_eq!(
            all(&root, &format!("label[for={id}]")).len(),
            1,
            "{id} is labelled"
        );
    }
    let aws: web_sys::HtmlInputElement = one(&root, "#cloud-aws").unchecked_into();
    assert!(aws.checked() && !aws.disabled());
    assert!(one(&root, "#cloud-azure").has_attribute("disabled"));
    for other in ["azure", "gcp", "cloudflare"] {
        let label = one(&root, &format!("label[for=cloud-{other}]"));
        assert_eq!(text(&label, "[data-status=unavailable]"), "Coming soon");
    }
    assert_eq!(all(&root, "label[for=cloud-aws] [data-status]").len(), 0);
}
