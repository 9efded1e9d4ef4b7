//! AWS: an IAM role in the customer's account that trusts AlphaSwarm's
//! partner account with this org's external id (proxy/API.md, "Cloud
//! wizard, AWS"). Step 2 renders the role's artifacts; steps 3 to 5 all
//! send the pasted role ARN.

use crate::api::ApiError;
use crate::bundle_view::BundleView;
use crate::json::{FromJson, Missing, count, flag, list, object, text, text_or_empty};
use crate::signal::{BoxedCallback, BoxedSignal, ThenAny};
use crate::steps::enumerate::ResourceTable;
use crate::steps::identity::{ConfusedDeputy, FactRows, IdentityResult};
use crate::steps::permissions::{Check, CheckList, FixCommands};
use crate::steps::{
    Answers, AnswersSignal, Bootstrap, CloudWizard, StepSpec, StepStatus, accept_into,
};
use crate::ui::{CopyButton, DownloadButton, FieldError, attr};
use alphaswarm_core::aws::{
    BASELINE_POLICY_FILE, RoleArn, baseline_policy_json, put_baseline_policy_command,
};
use alphaswarm_core::bundle::NamedValue;
use alphaswarm_core::shell::{Commands, Shell};
use alphaswarm_core::{CloudKind, CoreError};
use leptos::prelude::*;
use serde_json::{Value, json};

use crate::model::Step;

// ------------------------------------------------------------------ answers
// Read with `crate::json` (see there why not serde's derive).

/// Step 2's answer besides the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleToCreate {
    pub external_id: String,
    pub role_name: String,
}

impl FromJson for RoleToCreate {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(RoleToCreate {
            external_id: text(v, "external_id")?,
            role_name: text(v, "role_name")?,
        })
    }
}

pub type BootstrapResponse = Bootstrap<RoleToCreate>;

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityResponse {
    pub account_id: String,
    pub assumed_arn: String,
    pub attempts: u32,
    pub confused_deputy: ConfusedDeputy,
}

impl FromJson for IdentityResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(IdentityResponse {
            account_id: text(v, "account_id")?,
            assumed_arn: text(v, "assumed_arn")?,
            attempts: count(v, "attempts", 1),
            confused_deputy: object(v, "confused_deputy")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionResult {
    pub action: String,
    /// IAM's `allowed` / `implicitDeny` / `explicitDeny`.
    pub decision: String,
    pub granted: bool,
}

impl FromJson for ActionResult {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(ActionResult {
            action: text(v, "action")?,
            decision: text_or_empty(v, "decision"),
            granted: flag(v, "granted")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionsResponse {
    pub results: Vec<ActionResult>,
    pub missing: Vec<String>,
}

impl FromJson for PermissionsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(PermissionsResponse {
            results: list(v, "results")?,
            missing: list(v, "missing")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub name: String,
    pub endpoint: String,
    pub opt_in_status: String,
}

impl FromJson for Region {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(Region {
            name: text(v, "name")?,
            endpoint: text_or_empty(v, "endpoint"),
            opt_in_status: text_or_empty(v, "opt_in_status"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionsResponse {
    pub regions: Vec<Region>,
}

impl FromJson for RegionsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(RegionsResponse {
            regions: list(v, "regions")?,
        })
    }
}

// ------------------------------------------------------------------ state

pub type AwsAnswers = Answers<RoleToCreate, IdentityResponse, PermissionsResponse, RegionsResponse>;

/// AWS's inputs and answers; nothing here is seen by another cloud.
#[derive(Clone, Copy)]
pub struct AwsWizard {
    pub region: RwSignal<String>,
    pub ous: RwSignal<String>,
    pub role_arn: RwSignal<String>,
    pub answers: AnswersSignal<AwsAnswers>,
}

impl AwsWizard {
    pub fn new() -> Self {
        AwsWizard {
            region: RwSignal::new(String::new()),
            ous: RwSignal::new(String::new()),
            role_arn: RwSignal::new(String::new()),
            answers: AnswersSignal::default(),
        }
    }

    /// A changed ARN invalidates every result that was checked against it.
    pub fn set_role_arn(&self, arn: String) {
        if arn != self.role_arn.get_untracked() {
            self.answers.update(Answers::forget_checks);
        }
        self.role_arn.set(arn);
    }

    fn arn(&self) -> String {
        self.role_arn.get_untracked().trim().to_owned()
    }

    /// The fix targets the role that was checked (its name from the ARN),
    /// which need not be the name step 2 suggested.
    fn role_name(&self) -> String {
        RoleArn::parse(&self.arn())
            .map(|a| a.name.as_str().to_owned())
            .unwrap_or_default()
    }
}

impl Default for AwsWizard {
    fn default() -> Self {
        Self::new()
    }
}

impl CloudWizard for AwsWizard {
    fn kind(&self) -> CloudKind {
        CloudKind::Aws
    }

    fn spec(&self, step: Step) -> StepSpec {
        match step {
            Step::Bootstrap => StepSpec {
                collapsed: Some("Options: region, organisation-wide roll-out"),
                ..StepSpec::of(
                    step,
                    "Set up the role in the customer's AWS account with any one of these: the commands, Terraform, or CloudFormation. Then come back with the role ARN.",
                    "Rendering the artifacts…",
                    &["region", "organizational_unit_ids"],
                )
            },
            Step::ValidateIdentity => StepSpec::of(
                step,
                "Paste the ARN of the role you created. AlphaSwarm assumes it with the external id from step 2 and asks AWS who it is.",
                "Assuming the role… A role created moments ago can take a little while to become usable; the proxy keeps retrying.",
                &["role_arn", "region"],
            ),
            Step::ValidatePermissions => StepSpec::of(
                step,
                "AlphaSwarm simulates the role's policies for the baseline actions it needs. Nothing is changed in the account.",
                "Simulating the role's policies…",
                &[],
            ),
            Step::EnumerateResources => StepSpec::of(
                step,
                "The regions this role can see. AlphaSwarm lists them read-only.",
                "Listing regions…",
                &[],
            ),
            Step::Choose | Step::Connect => StepSpec::of(
                step,
                "Saving stores only the role ARN, the external id, the region and the account id. No key or secret is stored.",
                "",
                &[],
            ),
        }
    }

    fn form(
        &self,
        step: Step,
        error: Signal<Option<ApiError>>,
        _run: BoxedCallback<()>,
    ) -> Option<AnyView> {
        let this = *self;
        Some(match step {
            Step::Bootstrap => view! { <BootstrapOptions region=this.region ous=this.ous error/> }.into_any(),
            Step::ValidateIdentity => view! {
                <RoleArnField role_arn=this.role_arn on_arn=BoxedCallback::new(move |v| this.set_role_arn(v)) error/>
            }
            .into_any(),
            Step::Connect => {
                let arn = this.arn();
                let account = RoleArn::parse(&arn)
                    .map(|a| a.account_id.as_str().to_owned())
                    .unwrap_or_default();
                let regions = this.answers.with_untracked(|a| {
                    a.resources.as_ref().map_or(0, |r| r.regions.len())
                });
                view! {
                    <FactRows facts=vec![("Account id", account), ("Role ARN", arn), ("Regions visible", regions.to_string())]/>
                }
                .into_any()
            }
            // When IAM refuses the check itself, its fix shows under the error.
            Step::ValidatePermissions => view! {
                {move || error.with(|e| e.as_ref().is_some_and(|e| e.code() == SIMULATE_DENIED))
                    .then_any(|| view! { <Fix role_name=this.role_name()/> })}
            }
            .into_any(),
            _ => return None,
        })
    }

    fn body(&self, step: Step) -> Result<Value, ApiError> {
        match step {
            Step::Bootstrap => {
                let region = self.region.get_untracked().trim().to_owned();
                let ous: Vec<String> = self
                    .ous
                    .get_untracked()
                    .split([',', ' ', '\n'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let mut body = json!({});
                if !region.is_empty() {
                    body["region"] = json!(region);
                }
                if !ous.is_empty() {
                    body["organizational_unit_ids"] = json!(ous);
                }
                Ok(body)
            }
            Step::ValidateIdentity => {
                let arn = self.arn();
                RoleArn::parse(&arn).map_err(|e| ApiError::local(e.to_body()))?;
                Ok(json!({ "role_arn": arn }))
            }
            _ => Ok(json!({ "role_arn": self.arn() })),
        }
    }

    fn starting(&self, step: Step) {
        if step == Step::ValidateIdentity {
            self.answers.update(|a| a.identity = None);
        }
    }

    fn accept(&self, step: Step, response: &str) -> Result<(), String> {
        accept_into(self.answers, step, response)
    }

    fn result(&self, step: Step, shell: BoxedSignal<Shell>) -> Option<AnyView> {
        Some(match step {
            Step::Bootstrap => {
                let data = self.answers.with(|a| a.bootstrap.clone())?;
                view! { <BootstrapView data shell/> }.into_any()
            }
            Step::ValidateIdentity => {
                let id = self.answers.with(|a| a.identity.clone())?;
                view! {
                    <IdentityResult title="Assumed identity"
                        facts=vec![("Account id", id.account_id), ("Assumed ARN", id.assumed_arn)]
                        attempts=id.attempts deputy=id.confused_deputy/>
                }
                .into_any()
            }
            Step::ValidatePermissions => {
                let result = self.answers.with(|a| a.permissions.clone())?;
                view! { <PermissionsView result role_name=self.role_name()/> }.into_any()
            }
            Step::EnumerateResources => {
                let regions = self.answers.with(|a| a.resources.clone())?;
                view! { <EnumerateView regions/> }.into_any()
            }
            Step::Choose | Step::Connect => return None,
        })
    }

    fn status(&self, step: Step) -> StepStatus {
        self.answers
            .with(|a| a.status(step, |i| i.confused_deputy.safe, |p| p.missing.is_empty()))
    }

    fn sandbox_applied(&self, fields: &Value) {
        if let Some(arn) = fields["role_arn"].as_str() {
            self.set_role_arn(arn.to_owned());
        }
    }
}

// ------------------------------------------------------------------ views

/// Step 2's options: where the stack goes and the organisation-wide roll-out.
#[component]
fn BootstrapOptions(
    region: RwSignal<String>,
    ous: RwSignal<String>,
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for="region">"Region (optional)"</label>
            <input id="region" placeholder="us-east-1" aria-describedby="region-error"
                prop:value=move || region.get() on:input=move |ev| region.set(event_target_value(&ev))/>
            <FieldError field="region" error/>
        </div>
        <div class="field">
            <label for="organizational_unit_ids">"Organizational unit ids for a StackSet (optional, comma separated)"</label>
            <input id="organizational_unit_ids" placeholder="ou-ab12-cd34ef56" aria-describedby="organizational_unit_ids-error"
                prop:value=move || ous.get() on:input=move |ev| ous.set(event_target_value(&ev))/>
            <FieldError field="organizational_unit_ids" error/>
        </div>
    }
}

/// Step 2's artifacts: the external id and role name first.
#[component]
pub fn BootstrapView(data: BootstrapResponse, shell: BoxedSignal<Shell>) -> impl IntoView {
    let lead = vec![
        NamedValue::new("external_id", "External id", data.more.external_id),
        NamedValue::new("role_name", "Role name", data.more.role_name),
    ];
    view! { <BundleView bundle=data.bundle shell lead links_title="Console"/> }
}

/// Step 3's input: the role ARN, with the account id read from it as you type.
#[component]
pub fn RoleArnField(
    role_arn: RwSignal<String>,
    on_arn: BoxedCallback<String>,
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    let parsed = move || role_arn.with(|a| RoleArn::parse(a.trim()));
    let account = move || parsed().ok().map(|a| a.account_id.as_str().to_owned());
    // One error, under the input: the ARN's own while it does not parse,
    // else the step's answer for this field.
    let shown = Signal::derive(move || {
        let typed = role_arn.with(|a| !a.trim().is_empty());
        let local = typed
            .then(|| parsed().err().map(|e| ApiError::local(e.to_body())))
            .flatten();
        local.or_else(|| error.get())
    });
    view! {
        <div class="field">
            <label for="role_arn">{ROLE_ARN_LABEL}</label>
            <input id="role_arn" name="role_arn" spellcheck="false" autocomplete="off"
                placeholder="arn:aws:iam::123456789012:role/alphaswarm-broker-acme"
                aria-describedby="role_arn-derived role_arn-error"
                aria-invalid=move || shown.with(|e| e.as_ref().is_some_and(|e| e.field() == Some("role_arn"))).to_string()
                prop:value=move || role_arn.get()
                on:input=move |ev| on_arn.run(event_target_value(&ev))/>
            <p id="role_arn-derived" class="derived" {..attr("aria-live", "polite")}>
                {move || match account() {
                    Some(id) => view! { "Account id (from the ARN): " <code data-derived="account_id">{id}</code> }.into_any(),
                    None => view! { "The account id is read from the ARN." }.into_any(),
                }}
            </p>
            <FieldError field="role_arn" error=shown/>
        </div>
    }
}

const ROLE_ARN_LABEL: &str = "Role ARN";

/// The proxy's code for a role that may not call iam:SimulatePrincipalPolicy.
const SIMULATE_DENIED: &str = "simulate_denied";

/// Step 4: the baseline actions, each granted (green) or "Missing required"
/// (red) with the fix.
#[component]
pub fn PermissionsView(
    result: PermissionsResponse,
    #[prop(into)] role_name: String,
) -> impl IntoView {
    let missing = !result.missing.is_empty();
    let checks = result
        .results
        .into_iter()
        .map(|r| Check {
            name: r.action,
            granted: r.granted,
            detail: r.decision,
        })
        .collect();
    view! {
        <CheckList label="Baseline actions" checks/>
        {missing.then_any(|| view! { <Fix role_name/> })}
    }
}

/// The fix: step 2's least-privilege policy (the whole baseline, from the
/// core) and the command that puts it on the checked role. The whole policy,
/// not only what is missing: put-role-policy replaces a policy of the same
/// name, so a policy of the missing actions alone would drop the others.
#[component]
fn Fix(role_name: String) -> impl IntoView {
    let policy = baseline_policy_json();
    let commands = Commands::render(&[put_baseline_policy_command(&role_name)]).unwrap_or_default();
    view! {
        <div class="fix" data-fix="permissions">
            <h3>"Fix"</h3>
            <p>"Put the least-privilege policy from step 2 on the role (it replaces an older policy of the same name), then check again."</p>
            <figure class="artifact file">
                <figcaption id="fix-policy"><code>{BASELINE_POLICY_FILE}</code></figcaption>
                <pre tabindex="0" aria-labelledby="fix-policy"><code>{policy.clone()}</code></pre>
                <div class="actions">
                    <CopyButton text=policy.clone() what="the fix policy"/>
                    <DownloadButton file_name=BASELINE_POLICY_FILE media_type="application/json" contents=policy/>
                </div>
            </figure>
            <FixCommands commands/>
        </div>
    }
}

/// Step 4*: the regions the role can see (ec2:DescribeRegions).
#[component]
pub fn EnumerateView(regions: RegionsResponse) -> impl IntoView {
    let caption = format!("{} regions", regions.regions.len());
    let rows = regions
        .regions
        .into_iter()
        .map(|r| vec![r.name, r.endpoint, r.opt_in_status])
        .collect();
    view! {
        <ResourceTable class="regions" caption headers=&["Region", "Endpoint", "Opt-in status"] rows/>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn account_id_comes_from_the_arn() {
        let arn =
            RoleArn::parse("arn:aws:iam::012345678901:role/team/alphaswarm-broker-acme").unwrap();
        assert_eq!(arn.account_id.as_str(), "012345678901");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bad_arns_name_the_role_arn_field() {
        for bad in [
            "",
            "arn:aws:iam::12345:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:role/",
        ] {
            let err = RoleArn::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some("role_arn"), "{bad}");
        }
    }
}
