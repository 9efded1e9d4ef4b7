//! Azure: workload identity federation with AlphaSwarm's OIDC issuer
//! (issue 9). Two set-ups: a customer-managed identity that trusts only
//! this org's subject (recommended: tenants are isolated), or AlphaSwarm's
//! shared multi-tenant app (the seed's set-up; does not isolate tenants).
//! Step 2 sends `{mode, tenant_id?, subscription_id?, role?, resource_group?,
//! location?}`; steps 3 to 5 send `{mode, tenant_id, subscription_id,
//! client_id?}` (proxy/API.md, "Cloud wizard, Azure").

use crate::api::ApiError;
use crate::bundle_view::BundleView;
use crate::json::{FromJson, Missing, count, flag, list, maybe_text, object, text, text_or_empty};
use crate::model::Step;
use crate::signal::{BoxedCallback, BoxedSignal, CollectAny, ThenAny};
use crate::steps::enumerate::ResourceTable;
use crate::steps::identity::{ConfusedDeputy, FactRows, IdentityResult};
use crate::steps::permissions::{Check, CheckList, FixCommands};
use crate::steps::{Answers, AnswersSignal, CloudWizard, StepSpec, StepStatus, accept_into, edits};
use crate::ui::{Check as Checker, FieldError, TextField, attr, missing_input, optional};
use alphaswarm_core::CloudKind;
use alphaswarm_core::azure::{
    AzureLocation, AzureMode as Mode, AzureRole, ResourceGroupName, role_assignment_fix,
};
use alphaswarm_core::ids::{Guid, IdError};
use alphaswarm_core::shell::{Commands, Shell};
use leptos::prelude::*;
use serde_json::{Value, json};

/// How the customer's tenant trusts AlphaSwarm (`mode` in every body), in
/// the operator's words.
pub fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::ManagedIdentity => "Customer-managed identity",
        Mode::SharedApp => "Shared AlphaSwarm app",
    }
}

/// Step 3's isolation verdict in shared-app mode. The proxy's says the same
/// but names the mode by its wire value.
const SHARED_NOT_ISOLATED: &str = "The shared app does not isolate tenants: every organisation's federated credential sits on the same AlphaSwarm app, so any organisation's assertion is accepted in every tenant that consented to it. Choose \"Customer-managed identity\" in step 2 to isolate this tenant.";

// ------------------------------------------------------------------ answers
// Read with `crate::json` (see there why not serde's derive).

/// Step 2's answer besides the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct SetUp {
    /// Shared app, with a tenant id given: where the customer's
    /// administrator consents to AlphaSwarm's app.
    pub admin_consent_url: Option<String>,
}

impl FromJson for SetUp {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(SetUp {
            admin_consent_url: maybe_text(v, "admin_consent_url"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityResponse {
    pub tenant_id: String,
    pub subscription_id: String,
    /// The subscription's display name, when ARM gave one.
    pub subscription_name: String,
    pub principal_object_id: String,
    /// The subject AlphaSwarm's assertions carry (`org:<org_id>`).
    pub subject: String,
    pub attempts: u32,
    pub confused_deputy: ConfusedDeputy,
}

impl FromJson for IdentityResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(IdentityResponse {
            tenant_id: text(v, "tenant_id")?,
            subscription_id: text(v, "subscription_id")?,
            subscription_name: v
                .get("subscription")
                .map(|s| text_or_empty(s, "display_name"))
                .unwrap_or_default(),
            principal_object_id: text(v, "principal_object_id")?,
            subject: text_or_empty(v, "subject"),
            attempts: count(v, "attempts", 1),
            confused_deputy: object(v, "confused_deputy")?,
        })
    }
}

/// A required role (`role`, `granted_by`) or an effective permission
/// (`action`).
#[derive(Debug, Clone, PartialEq)]
pub struct Granted {
    pub name: String,
    pub granted: bool,
    /// The assignment that gives it, when one does ("Owner").
    pub granted_by: String,
}

fn granted(v: &Value, key: &'static str, name: &'static str) -> Result<Vec<Granted>, Missing> {
    let items = v.get(key).and_then(Value::as_array).ok_or(Missing(key))?;
    items
        .iter()
        .map(|item| {
            Ok(Granted {
                name: text(item, name)?,
                granted: flag(item, "granted")?,
                granted_by: text_or_empty(item, "granted_by"),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionsResponse {
    /// The required roles, each assigned on the subscription or not.
    pub roles: Vec<Granted>,
    /// ARM's effective permissions for the actions AlphaSwarm needs.
    pub actions: Vec<Granted>,
    pub missing: Vec<String>,
    /// Every role and every action is there.
    pub satisfied: bool,
}

impl FromJson for PermissionsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        let missing: Vec<String> = list(v, "missing")?;
        Ok(PermissionsResponse {
            roles: granted(v, "results", "role")?,
            actions: granted(v, "actions", "action").unwrap_or_default(),
            satisfied: v
                .get("satisfied")
                .and_then(Value::as_bool)
                .unwrap_or(missing.is_empty()),
            missing,
        })
    }
}

/// A resource group (name, location) or a location (name, display name).
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub name: String,
    pub detail: String,
}

/// Reads `{name, <detail>}` items.
fn named(v: &Value, key: &'static str, detail: &str) -> Result<Vec<Named>, Missing> {
    let items = v.get(key).and_then(Value::as_array).ok_or(Missing(key))?;
    items
        .iter()
        .map(|item| {
            Ok(Named {
                name: text(item, "name")?,
                detail: text_or_empty(item, detail),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourcesResponse {
    pub resource_groups: Vec<Named>,
    pub locations: Vec<Named>,
}

impl FromJson for ResourcesResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(ResourcesResponse {
            resource_groups: named(v, "resource_groups", "location")?,
            locations: named(v, "locations", "display_name")?,
        })
    }
}

// ------------------------------------------------------------------ state

pub type AzureAnswers = Answers<SetUp, IdentityResponse, PermissionsResponse, ResourcesResponse>;

/// Azure's inputs and answers; nothing here is seen by another cloud.
#[derive(Clone, Copy)]
pub struct AzureWizard {
    pub mode: BoxedSignal<Mode>,
    pub tenant_id: RwSignal<String>,
    pub subscription_id: RwSignal<String>,
    pub client_id: RwSignal<String>,
    pub role: RwSignal<String>,
    pub resource_group: RwSignal<String>,
    pub location: RwSignal<String>,
    pub answers: AnswersSignal<AzureAnswers>,
}

impl AzureWizard {
    pub fn new() -> Self {
        AzureWizard {
            mode: BoxedSignal::new(Mode::default()),
            tenant_id: RwSignal::new(String::new()),
            subscription_id: RwSignal::new(String::new()),
            client_id: RwSignal::new(String::new()),
            role: RwSignal::new(String::new()),
            resource_group: RwSignal::new(String::new()),
            location: RwSignal::new(String::new()),
            answers: AnswersSignal::default(),
        }
    }

    /// A changed id or mode invalidates every result checked against it.
    fn forget_checks(&self) {
        self.answers.update(Answers::forget_checks);
    }

    fn set_mode(&self, mode: Mode) {
        if mode != self.mode.get_untracked() {
            self.answers.set(Answers::default());
        }
        self.mode.set(mode);
    }

    /// `{mode, tenant_id, subscription_id, client_id?}`, every id checked.
    fn identity_body(&self) -> Result<Value, ApiError> {
        let mode = self.mode.get_untracked();
        let mut body = json!({
            "mode": mode.as_str(),
            "tenant_id": required_guid(self.tenant_id, "tenant_id", TENANT)?,
            "subscription_id": required_guid(self.subscription_id, "subscription_id", SUBSCRIPTION)?,
        });
        if mode == Mode::ManagedIdentity {
            body["client_id"] = json!(required_guid(self.client_id, "client_id", CLIENT)?);
        }
        Ok(body)
    }
}

impl Default for AzureWizard {
    fn default() -> Self {
        Self::new()
    }
}

const TENANT: &str = "Tenant id";
const SUBSCRIPTION: &str = "Subscription id";
const CLIENT: &str = "Managed identity client id";
const ROLE: &str = "Role";

fn check_guid(s: &str) -> Result<(), IdError> {
    Guid::parse_normalised(s).map(drop)
}

fn check_role(s: &str) -> Result<(), IdError> {
    AzureRole::parse_normalised(s).map(drop)
}

fn check_resource_group(s: &str) -> Result<(), IdError> {
    ResourceGroupName::parse(s.trim()).map(drop)
}

fn check_location(s: &str) -> Result<(), IdError> {
    AzureLocation::parse_normalised(s).map(drop)
}

fn required_guid(
    value: RwSignal<String>,
    field: &'static str,
    label: &str,
) -> Result<String, ApiError> {
    optional(value, field, label, check_guid)?
        .map(|g| g.to_ascii_lowercase())
        .ok_or_else(|| {
            missing_input(
                field,
                format!("{label} is needed to check the identity."),
                "Copy it from the Azure portal (the identity's or subscription's Overview page).",
            )
        })
}

impl CloudWizard for AzureWizard {
    fn kind(&self) -> CloudKind {
        CloudKind::Azure
    }

    fn spec(&self, step: Step) -> StepSpec {
        match step {
            Step::Bootstrap => StepSpec::of(
                step,
                "Choose how the customer's tenant trusts AlphaSwarm, then set it up with any one of these: the commands or Terraform. No secret is created anywhere.",
                "Rendering the artifacts…",
                &[
                    "mode",
                    "tenant_id",
                    "subscription_id",
                    "role",
                    "resource_group",
                    "location",
                ],
            ),
            Step::ValidateIdentity => StepSpec::of(
                step,
                "AlphaSwarm signs a short-lived assertion for this organisation, exchanges it with Entra ID for a token, reads the subscription, and checks that an assertion for another organisation is refused.",
                "Exchanging the assertion… A federated credential created moments ago can take a few minutes to work; the proxy keeps retrying.",
                // The shared app has no client id input: an error about
                // it (there should be none) goes to the banner.
                if self.mode.get_untracked() == Mode::ManagedIdentity {
                    &["tenant_id", "subscription_id", "client_id"]
                } else {
                    &["tenant_id", "subscription_id"]
                },
            ),
            Step::ValidatePermissions => StepSpec::of(
                step,
                "AlphaSwarm reads the identity's role assignments on the subscription and compares them with the roles it needs. Nothing is changed.",
                "Reading role assignments…",
                &[],
            ),
            Step::EnumerateResources => StepSpec::of(
                step,
                "The resource groups and locations this identity can see. AlphaSwarm lists them read-only.",
                "Listing resource groups and locations…",
                &[],
            ),
            Step::Choose | Step::Connect => StepSpec::of(
                step,
                "Saving stores only the tenant, subscription and identity ids and the subject AlphaSwarm signs for. Nothing secret exists to store.",
                "",
                &[],
            ),
        }
    }

    fn form(
        &self,
        step: Step,
        error: Signal<Option<ApiError>>,
        run: BoxedCallback<()>,
    ) -> Option<AnyView> {
        let this = *self;
        let edits = edits(BoxedCallback::new(move |()| this.forget_checks()));
        Some(match step {
            Step::Bootstrap => view! {
                <ModeChoice mode=this.mode on_mode=BoxedCallback::new(move |m| { this.set_mode(m); run.run(()); }) error/>
                <TextField field="tenant_id" label="Tenant id (optional)" value=this.tenant_id error check=check_guid
                    placeholder="00000000-0000-0000-0000-000000000000" on_input=edits(this.tenant_id)
                    help="Fills in the commands and the admin-consent link."/>
                <TextField field="subscription_id" label="Subscription id (optional)" value=this.subscription_id error check=check_guid
                    placeholder="00000000-0000-0000-0000-000000000000" on_input=edits(this.subscription_id)
                    help="Fills in the role assignment's scope."/>
                <TextField field="role" label="Role (optional)" value=this.role error check=check_role placeholder="Reader"
                    help="A built-in role such as Reader or Security Reader, or a role definition GUID. Default: Reader."/>
                {move || (this.mode.get() == Mode::ManagedIdentity).then_any(|| view! {
                    <TextField field="resource_group" label="Resource group for the identity (optional)" value=this.resource_group error
                        check=check_resource_group placeholder="alphaswarm-broker" help="Created if it does not exist."/>
                    <TextField field="location" label="Location (optional)" value=this.location error check=check_location
                        placeholder="eastus" help="Where the identity lives, e.g. eastus or East US."/>
                })}
            }
            .into_any(),
            Step::ValidateIdentity => {
                let managed = this.mode.get_untracked() == Mode::ManagedIdentity;
                let consent = this.answers.with_untracked(|a| {
                    a.bootstrap.as_ref()?.more.admin_consent_url.clone()
                });
                view! {
                    <p class="muted" data-mode=this.mode.get_untracked().as_str()>
                        {format!("Set-up: {} (chosen in step 2).", mode_label(this.mode.get_untracked()))}
                    </p>
                    {(!managed).then_any(|| view! {
                        <p data-consent="">"The customer's administrator consents to AlphaSwarm's app once, in their tenant: "
                            {match consent {
                                Some(url) => view! { <a {..attr("href", url)} {..attr("target", "_blank")} {..attr("rel", "noopener noreferrer")}>"Open the admin-consent page"</a> }.into_any(),
                                None => view! { <span>"give the tenant id in step 2 to get the admin-consent link."</span> }.into_any(),
                            }}
                        </p>
                    })}
                    <TextField field="tenant_id" label=TENANT value=this.tenant_id error check=check_guid
                        placeholder="00000000-0000-0000-0000-000000000000" on_input=edits(this.tenant_id)/>
                    <TextField field="subscription_id" label=SUBSCRIPTION value=this.subscription_id error check=check_guid
                        placeholder="00000000-0000-0000-0000-000000000000" on_input=edits(this.subscription_id)/>
                    {managed.then_any(|| view! {
                        <TextField field="client_id" label=CLIENT value=this.client_id error check=check_guid
                            placeholder="00000000-0000-0000-0000-000000000000" on_input=edits(this.client_id)
                            help="The identity's client id: az identity show --query clientId (also on its Overview page)."/>
                    })}
                }
                .into_any()
            }
            Step::Connect => {
                let mut facts = vec![
                    ("Set-up", mode_label(this.mode.get_untracked()).to_owned()),
                    (TENANT, this.tenant_id.get_untracked().trim().to_ascii_lowercase()),
                    (SUBSCRIPTION, this.subscription_id.get_untracked().trim().to_ascii_lowercase()),
                ];
                if this.mode.get_untracked() == Mode::ManagedIdentity {
                    facts.push((CLIENT, this.client_id.get_untracked().trim().to_ascii_lowercase()));
                }
                if let Some(oid) = this
                    .answers
                    .with_untracked(|a| a.identity.as_ref().map(|i| i.principal_object_id.clone()))
                {
                    facts.push(("Principal object id", oid));
                }
                view! { <FactRows facts/> }.into_any()
            }
            _ => return None,
        })
    }

    fn body(&self, step: Step) -> Result<Value, ApiError> {
        if step != Step::Bootstrap {
            return self.identity_body();
        }
        let mut body = json!({ "mode": self.mode.get_untracked().as_str() });
        let mut inputs: Vec<(RwSignal<String>, &'static str, &str, Checker)> = vec![
            (self.tenant_id, "tenant_id", TENANT, check_guid),
            (
                self.subscription_id,
                "subscription_id",
                SUBSCRIPTION,
                check_guid,
            ),
            (self.role, "role", ROLE, check_role),
        ];
        // Where the managed identity goes.
        if self.mode.get_untracked() == Mode::ManagedIdentity {
            inputs.push((
                self.resource_group,
                "resource_group",
                "Resource group",
                check_resource_group,
            ));
            inputs.push((self.location, "location", "Location", check_location));
        }
        for (value, field, label, check) in inputs {
            if let Some(v) = optional(value, field, label, check)? {
                body[field] = json!(v);
            }
        }
        Ok(body)
    }

    fn starting(&self, step: Step) {
        if step == Step::ValidateIdentity {
            self.forget_checks();
        }
    }

    fn accept(&self, step: Step, response: &str) -> Result<(), String> {
        accept_into(self.answers, step, response)
    }

    fn result(&self, step: Step, shell: BoxedSignal<Shell>) -> Option<AnyView> {
        Some(match step {
            Step::Bootstrap => {
                let data = self.answers.with(|a| a.bootstrap.clone())?;
                view! { <BundleView bundle=data.bundle shell links_title="Links"/> }.into_any()
            }
            Step::ValidateIdentity => {
                let mut id = self.answers.with(|a| a.identity.clone())?;
                if self.mode.get() == Mode::SharedApp && !id.confused_deputy.safe {
                    SHARED_NOT_ISOLATED.clone_into(&mut id.confused_deputy.message);
                }
                let subscription = if id.subscription_name.is_empty() {
                    id.subscription_id
                } else {
                    format!("{} ({})", id.subscription_name, id.subscription_id)
                };
                view! {
                    <IdentityResult title="Federated identity"
                        facts=vec![(TENANT, id.tenant_id), ("Subscription", subscription),
                            ("Principal object id", id.principal_object_id), ("Subject", id.subject)]
                        attempts=id.attempts deputy=id.confused_deputy
                        verdicts=("Tenant isolated", "Tenant not isolated")/>
                }
                .into_any()
            }
            Step::ValidatePermissions => {
                let result = self.answers.with(|a| a.permissions.clone())?;
                let principal = self
                    .answers
                    .with(|a| a.identity.as_ref().map(|i| i.principal_object_id.clone()))
                    .unwrap_or_default();
                let subscription = self.subscription_id.get().trim().to_ascii_lowercase();
                view! { <RolesView result principal subscription/> }.into_any()
            }
            Step::EnumerateResources => {
                let resources = self.answers.with(|a| a.resources.clone())?;
                view! { <ResourcesView resources/> }.into_any()
            }
            Step::Choose | Step::Connect => return None,
        })
    }

    fn status(&self, step: Step) -> StepStatus {
        // The shared app cannot isolate tenants by design: it may go on,
        // with that said plainly in the result (DESIGN.md invariants).
        let shared = self.mode.get() == Mode::SharedApp;
        self.answers
            .with(|a| a.status(step, |i| i.confused_deputy.safe || shared, |p| p.satisfied))
    }
}

// ------------------------------------------------------------------ views

/// The two set-ups, the recommended one first and marked so.
#[component]
pub fn ModeChoice(
    mode: BoxedSignal<Mode>,
    on_mode: BoxedCallback<Mode>,
    error: Signal<Option<ApiError>>,
) -> impl IntoView {
    let choices = [
        (
            Mode::ManagedIdentity,
            "A managed identity in the customer's tenant trusts only this organisation's subject. No other organisation can reach the subscription.",
        ),
        (
            Mode::SharedApp,
            "The customer consents to AlphaSwarm's multi-tenant app. Fewer steps, but it does not isolate tenants: any organisation that learns the tenant and subscription ids could reach them.",
        ),
    ];
    view! {
        <fieldset class="choices" id="mode" aria-describedby="mode-error">
            <legend>"How the customer's tenant trusts AlphaSwarm"</legend>
            {choices.into_iter().map(|(which, what)| {
                let id = format!("mode-{}", which.as_str());
                let for_id = id.clone();
                let recommended = which == Mode::ManagedIdentity;
                view! {
                    <label class="choice" for=for_id data-mode=which.as_str()>
                        <input type="radio" name="mode" id=id value=which.as_str()
                            prop:checked=move || mode.get() == which
                            on:change=move |_| on_mode.run(which)/>
                        <span class="choice-name">{mode_label(which)}
                            {recommended.then_any(|| view! { " " <span class="badge ok">"Recommended"</span> })}
                        </span>
                        <span class="choice-method small">{what}</span>
                    </label>
                }
            }).collect_any()}
        </fieldset>
        <FieldError field="mode" error/>
    }
}

/// Step 4: a badge per required role and per permission AlphaSwarm needs,
/// and for the missing roles the role assignments that grant them
/// (rendered and quoted by the core, as the proxy's `fix`).
#[component]
pub fn RolesView(
    result: PermissionsResponse,
    principal: String,
    subscription: String,
) -> impl IntoView {
    let missing = result.missing.clone();
    let roles = result
        .roles
        .into_iter()
        .map(|r| Check {
            detail: match (r.granted, r.granted_by.is_empty()) {
                (false, _) => "not assigned on the whole subscription".to_owned(),
                (true, false) => format!("through {}", r.granted_by),
                (true, true) => String::new(),
            },
            name: r.name,
            granted: r.granted,
        })
        .collect();
    let actions: Vec<Check> = result
        .actions
        .into_iter()
        .map(|a| Check {
            name: a.name,
            granted: a.granted,
            detail: String::new(),
        })
        .collect();
    // Roles all there but a permission missing: a deny assignment or a
    // custom role takes it away, which no role assignment fixes.
    let denied = missing.is_empty() && !result.satisfied;
    // The same command the proxy's `fix` quotes, in both shells.
    let ids = Guid::parse_normalised(&principal)
        .ok()
        .zip(Guid::parse_normalised(&subscription).ok());
    let fix = (!missing.is_empty()).then(|| {
        let commands: Vec<_> = ids
            .iter()
            .flat_map(|(principal, subscription)| {
                missing
                    .iter()
                    .map(move |role| role_assignment_fix(principal, role, subscription))
            })
            .collect();
        let commands = Commands::render(&commands).unwrap_or_default();
        view! {
            <div class="fix" data-fix="permissions">
                <h3>"Fix"</h3>
                <p>"Assign the missing roles to the identity on the subscription, then check again."</p>
                <FixCommands commands/>
            </div>
        }
    });
    view! {
        <CheckList label="Required roles" checks=roles/>
        {(!actions.is_empty()).then_any(|| view! {
            <h3>"Effective permissions"</h3>
            <CheckList label="Effective permissions" checks=actions/>
        })}
        {denied.then_any(|| view! {
            <p class="fix" data-fix="denied">"The roles are assigned, but Azure does not give the identity every permission they carry: look for a deny assignment or a custom role on the subscription, then check again."</p>
        })}
        {fix}
    }
}

/// Step 4*: resource groups and locations.
#[component]
pub fn ResourcesView(resources: ResourcesResponse) -> impl IntoView {
    let groups = resources.resource_groups;
    let locations = resources.locations;
    view! {
        <ResourceTable class="resource-groups" caption=format!("{} resource groups", groups.len())
            headers=&["Resource group", "Location"]
            rows=groups.into_iter().map(|g| vec![g.name, g.detail]).collect()/>
        <ResourceTable class="locations" caption=format!("{} locations", locations.len())
            headers=&["Location", "Name"]
            rows=locations.into_iter().map(|l| vec![l.name, l.detail]).collect()/>
    }
}
