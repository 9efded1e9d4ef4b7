//! GCP: workload identity federation with AlphaSwarm's OIDC issuer and
//! impersonation of a service account in the customer's project (issue 12).
//! Every step sends `{project_id, project_number, service_account_email?}`
//! (proxy/API.md, "Cloud wizard, GCP"; the project roles are the core's
//! defaults): the project id and the
//! project number are different values that customers often swap, so each
//! is checked on its own as it is typed.

use crate::api::ApiError;
use crate::bundle_view::BundleView;
use crate::json::{FromJson, Missing, count, flag, list, object, text, text_or_empty};
use crate::model::Step;
use crate::signal::{BoxedCallback, BoxedSignal, ThenAny};
use crate::steps::enumerate::ResourceTable;
use crate::steps::identity::{ConfusedDeputy, FactRows, IdentityResult};
use crate::steps::permissions::{Check, CheckList, FixCommands};
use crate::steps::{Answers, AnswersSignal, CloudWizard, StepSpec, StepStatus, accept_into};
use crate::ui::{Check as Checker, TextField, missing_input, optional};
use alphaswarm_core::CloudKind;
use alphaswarm_core::gcp::{
    GcpProjectId, GcpProjectNumber, GcpServiceAccountEmail, add_project_role_command,
};
use alphaswarm_core::ids::IdError;
use alphaswarm_core::shell::{Commands, Shell};
use leptos::prelude::*;
use serde_json::{Value, json};

// ------------------------------------------------------------------ answers
// Read with `crate::json` (see there why not serde's derive).

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityResponse {
    pub project_id: String,
    pub project_number: String,
    pub service_account_email: String,
    /// The exact member the binding names (`principal://…/subject/org:<id>`).
    pub principal: String,
    pub subject: String,
    pub attempts: u32,
    pub confused_deputy: ConfusedDeputy,
}

impl FromJson for IdentityResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(IdentityResponse {
            project_id: text(v, "project_id")?,
            project_number: text(v, "project_number")?,
            service_account_email: text(v, "service_account_email")?,
            principal: text_or_empty(v, "principal"),
            subject: text_or_empty(v, "subject"),
            attempts: count(v, "attempts", 1),
            confused_deputy: object(v, "confused_deputy")?,
        })
    }
}

/// One permission `testIamPermissions` was asked for, and the chosen role
/// that should give it.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionResult {
    pub permission: String,
    pub granted: bool,
    pub role: String,
}

impl FromJson for PermissionResult {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(PermissionResult {
            permission: text(v, "permission")?,
            granted: flag(v, "granted")?,
            role: text_or_empty(v, "role"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionsResponse {
    pub service_account_email: String,
    pub results: Vec<PermissionResult>,
    pub satisfied: bool,
}

impl FromJson for PermissionsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(PermissionsResponse {
            service_account_email: text(v, "service_account_email")?,
            results: list(v, "results")?,
            satisfied: flag(v, "satisfied")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub name: String,
    pub status: String,
    pub zones: Vec<String>,
}

impl FromJson for Region {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(Region {
            name: text(v, "name")?,
            status: text_or_empty(v, "status"),
            zones: list(v, "zones").unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionsResponse {
    /// `enabled`, `disabled` (the Compute API is off) or `not_permitted`.
    pub compute: String,
    pub regions: Vec<Region>,
    /// Why nothing is listed, and what would change that.
    pub message: String,
    pub fix: String,
}

impl FromJson for RegionsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(RegionsResponse {
            compute: text(v, "compute")?,
            regions: list(v, "regions")?,
            message: text_or_empty(v, "message"),
            fix: text_or_empty(v, "fix"),
        })
    }
}

// ------------------------------------------------------------------ state

pub type GcpAnswers = Answers<(), IdentityResponse, PermissionsResponse, RegionsResponse>;

/// GCP's inputs and answers; nothing here is seen by another cloud.
#[derive(Clone, Copy)]
pub struct GcpWizard {
    pub project_id: RwSignal<String>,
    pub project_number: RwSignal<String>,
    pub service_account_email: RwSignal<String>,
    pub answers: AnswersSignal<GcpAnswers>,
}

impl GcpWizard {
    pub fn new() -> Self {
        GcpWizard {
            project_id: RwSignal::new(String::new()),
            project_number: RwSignal::new(String::new()),
            service_account_email: RwSignal::new(String::new()),
            answers: AnswersSignal::default(),
        }
    }

    /// `{project_id, project_number, service_account_email?}`,
    /// every value checked; `purpose` says what needs the two required ones.
    fn project_body(&self, purpose: &str) -> Result<Value, ApiError> {
        let required = |value: RwSignal<String>,
                        field: &'static str,
                        label: &str,
                        check: Checker| {
            optional(value, field, label, check)?.ok_or_else(|| {
                missing_input(
                    field,
                    format!("{label} is needed to {purpose}."),
                    "Both are on the project's dashboard (Project info), or: gcloud projects describe <project id>.",
                )
            })
        };
        let mut body = json!({
            "project_id": required(self.project_id, "project_id", PROJECT_ID, check_project_id)?,
            "project_number": required(self.project_number, "project_number", PROJECT_NUMBER, check_project_number)?,
        });
        if let Some(email) = optional(
            self.service_account_email,
            "service_account_email",
            SERVICE_ACCOUNT,
            check_service_account,
        )? {
            body["service_account_email"] = json!(email);
        }
        Ok(body)
    }

    /// The account the checks ran as (the proxy names the bundle's own when
    /// none was typed).
    fn checked_account(&self) -> String {
        self.answers
            .with_untracked(|a| a.identity.as_ref().map(|i| i.service_account_email.clone()))
            .unwrap_or_else(|| self.service_account_email.get_untracked().trim().to_owned())
    }
}

impl Default for GcpWizard {
    fn default() -> Self {
        Self::new()
    }
}

const PROJECT_ID: &str = "Project id";
const PROJECT_NUMBER: &str = "Project number";
const SERVICE_ACCOUNT: &str = "Service account";

fn check_project_id(s: &str) -> Result<(), IdError> {
    GcpProjectId::parse(s).map(drop)
}

fn check_project_number(s: &str) -> Result<(), IdError> {
    GcpProjectNumber::parse(s).map(drop)
}

fn check_service_account(s: &str) -> Result<(), IdError> {
    GcpServiceAccountEmail::parse(s).map(drop)
}

impl CloudWizard for GcpWizard {
    fn kind(&self) -> CloudKind {
        CloudKind::Gcp
    }

    fn spec(&self, step: Step) -> StepSpec {
        match step {
            // Nothing renders without the project id and number: the step
            // waits for them instead of opening on an error.
            Step::Bootstrap => StepSpec {
                action: Some("Render the set-up"),
                auto: false,
                ..StepSpec::of(
                    step,
                    "Name the customer's project, then set it up with the commands or Terraform: a pool that trusts only this organisation, and a service account with roles/browser and roles/iam.securityReviewer. No key is created anywhere.",
                    "Rendering the artifacts…",
                    &["project_id", "project_number", "service_account_email"],
                )
            },
            Step::ValidateIdentity => StepSpec::of(
                step,
                "AlphaSwarm signs a short-lived assertion for this organisation, exchanges it with Google for a token, impersonates the service account, reads the project, and checks that an assertion for another organisation is refused.",
                "Exchanging the assertion… A pool or binding created moments ago can take a few minutes to work; the proxy keeps retrying.",
                &["project_id", "project_number", "service_account_email"],
            ),
            Step::ValidatePermissions => StepSpec::of(
                step,
                "AlphaSwarm asks Google which of the permissions it needs the service account holds on the project. Nothing is changed in the project.",
                "Testing the service account's permissions…",
                &[],
            ),
            Step::EnumerateResources => StepSpec::of(
                step,
                "The Compute Engine regions this service account can see. AlphaSwarm lists them read-only.",
                "Listing regions…",
                &[],
            ),
            Step::Choose | Step::Connect => StepSpec::of(
                step,
                "Saving stores only the project id and number, the pool, provider and service account names and the subject AlphaSwarm signs for. Nothing secret exists to store.",
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
        // A changed value invalidates every result checked against it.
        let edits = move |value: RwSignal<String>| {
            BoxedCallback::new(move |v: String| {
                if v != value.get_untracked() {
                    this.answers.update(Answers::forget_checks);
                }
                value.set(v);
            })
        };
        // Steps 2 and 3 ask the same three things; only 3 has a default
        // account to name.
        Some(match step {
            Step::Bootstrap | Step::ValidateIdentity => view! {
                <TextField field="project_id" label=PROJECT_ID value=this.project_id error check=check_project_id
                    placeholder="my-project-123" on_input=edits(this.project_id)
                    help="The lowercase name (gcloud projects list)."/>
                <TextField field="project_number" label=PROJECT_NUMBER value=this.project_number error check=check_project_number
                    placeholder="123456789012" on_input=edits(this.project_number)
                    help="All digits, not the project id: the dashboard's Project info card."/>
                <TextField field="service_account_email" label="Service account (optional)" value=this.service_account_email error
                    check=check_service_account placeholder="broker@my-project-123.iam.gserviceaccount.com"
                    on_input=edits(this.service_account_email)
                    help="An existing account to impersonate. Blank: the one the step 2 commands create."/>
            }
            .into_any(),
            Step::Connect => {
                let mut facts = vec![
                    (PROJECT_ID, this.project_id.get_untracked().trim().to_owned()),
                    (PROJECT_NUMBER, this.project_number.get_untracked().trim().to_owned()),
                    (SERVICE_ACCOUNT, this.checked_account()),
                ];
                if let Some(principal) = this
                    .answers
                    .with_untracked(|a| a.identity.as_ref().map(|i| i.principal.clone()))
                {
                    facts.push(("Principal", principal));
                }
                view! { <FactRows facts/> }.into_any()
            }
            _ => return None,
        })
    }

    fn body(&self, step: Step) -> Result<Value, ApiError> {
        self.project_body(if step == Step::Bootstrap {
            "render the set-up"
        } else {
            "check the identity"
        })
    }

    fn starting(&self, step: Step) {
        if step == Step::ValidateIdentity {
            self.answers.update(Answers::forget_checks);
        }
    }

    fn accept(&self, step: Step, response: &str) -> Result<(), String> {
        accept_into(self.answers, step, response)
    }

    fn result(&self, step: Step, shell: BoxedSignal<Shell>) -> Option<AnyView> {
        Some(match step {
            Step::Bootstrap => {
                let data = self.answers.with(|a| a.bootstrap.clone())?;
                view! { <BundleView bundle=data.bundle shell/> }.into_any()
            }
            Step::ValidateIdentity => {
                let id = self.answers.with(|a| a.identity.clone())?;
                view! {
                    <IdentityResult title="Impersonated service account"
                        facts=vec![("Project", format!("{} ({})", id.project_id, id.project_number)),
                            (SERVICE_ACCOUNT, id.service_account_email), ("Principal", id.principal),
                            ("Subject", id.subject)]
                        attempts=id.attempts deputy=id.confused_deputy
                        verdicts=("Project isolated", "Project not isolated")/>
                }
                .into_any()
            }
            Step::ValidatePermissions => {
                let result = self.answers.with(|a| a.permissions.clone())?;
                let project_id = self.project_id.get().trim().to_owned();
                view! { <PermissionsView result project_id/> }.into_any()
            }
            Step::EnumerateResources => {
                let regions = self.answers.with(|a| a.resources.clone())?;
                view! { <RegionsView regions/> }.into_any()
            }
            Step::Choose | Step::Connect => return None,
        })
    }

    fn status(&self, step: Step) -> StepStatus {
        self.answers
            .with(|a| a.status(step, |i| i.confused_deputy.safe, |p| p.satisfied))
    }
}

// ------------------------------------------------------------------ views

/// Step 4: a badge per permission (with the role meant to give it), and
/// for the missing ones the project role bindings that grant them (the
/// core's command, as the proxy's `fix`, in both shells).
#[component]
pub fn PermissionsView(result: PermissionsResponse, project_id: String) -> impl IntoView {
    let member = format!("serviceAccount:{}", result.service_account_email);
    let mut missing_roles: Vec<String> = Vec::new();
    let checks: Vec<Check> = result
        .results
        .into_iter()
        .map(|r| {
            if !r.granted && !missing_roles.contains(&r.role) {
                missing_roles.push(r.role.clone());
            }
            Check {
                name: r.permission,
                granted: r.granted,
                detail: if r.role.is_empty() {
                    String::new()
                } else {
                    format!("from {}", r.role)
                },
            }
        })
        .collect();
    let fix = (!missing_roles.is_empty()).then(|| {
        let commands: Vec<_> = missing_roles
            .iter()
            .map(|role| {
                let role = if role.is_empty() { "roles/browser" } else { role.as_str() };
                add_project_role_command(&project_id, &member, role)
            })
            .collect();
        let commands = Commands::render(&commands).unwrap_or_default();
        view! {
            <div class="fix" data-fix="permissions">
                <h3>"Fix"</h3>
                <p>"Grant the service account the missing roles on the project, then check again."</p>
                <FixCommands commands/>
            </div>
        }
    });
    view! {
        <CheckList label="Required permissions" checks/>
        {fix}
    }
}

/// Step 4*: the Compute Engine regions, or why there are none.
#[component]
pub fn RegionsView(regions: RegionsResponse) -> impl IntoView {
    if regions.compute != "enabled" {
        return view! {
            <div class="result" data-compute=regions.compute>
                <p><span class="badge missing">"No regions listed"</span> " " {regions.message}</p>
                {(!regions.fix.is_empty()).then_any(|| view! { <p class="hint">{regions.fix}</p> })}
            </div>
        }
        .into_any();
    }
    let caption = format!("{} regions", regions.regions.len());
    let rows = regions
        .regions
        .into_iter()
        .map(|r| vec![r.name, r.status, r.zones.join(", ")])
        .collect();
    view! {
        <ResourceTable class="regions" caption headers=&["Region", "Status", "Zones"] rows/>
    }
    .into_any()
}
