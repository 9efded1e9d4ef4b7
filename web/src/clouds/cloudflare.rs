//! Cloudflare: a scoped API token made from one of the core's templates
//! (issue 13; proxy/API.md, "Cloud wizard, Cloudflare"). Step 2 sends
//! `{template, token_owner, account_id?}` and shows the dashboard link that
//! pre-selects the template's permission groups; steps 3 to 5 send `{token,
//! template, account_id?}`.
//!
//! The token is the first secret the wizard handles. It lives only in this
//! tab's memory ([`CloudflareWizard::token`], never a signal the DOM reads):
//! the password field is emptied as soon as it is submitted, no view ever
//! renders it, and it is forgotten once the connection is saved.

use crate::api::{ApiError, Rotation};
use crate::bundle_view::BundleView;
use crate::integrations::RotationNote;
use crate::json::{FromJson, Missing, list, maybe_text, text, text_or_empty};
use crate::model::Step;
use crate::signal::{BoxedCallback, BoxedSignal, BoxedValue, CollectAny, MapAny, ThenAny};
use crate::steps::enumerate::ResourceTable;
use crate::steps::identity::{Fact, FactRows, Facts};
use crate::steps::permissions::{Check, CheckList};
use crate::steps::{Answers, AnswersSignal, CloudWizard, StepSpec, StepStatus, accept_into, edits};
use crate::ui::{FieldError, TextField, field_error};
use alphaswarm_core::cloudflare::{
    CloudflareAccountId, CloudflareTemplate as Template, TokenOwner, check_token_shape,
};
use alphaswarm_core::shell::Shell;
use alphaswarm_core::{CloudKind, CoreError, ErrorBody, IdError};
use leptos::prelude::*;
use serde_json::{Value, json};

// ------------------------------------------------------------------ answers
// Read with `crate::json` (see there why not serde's derive).

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityResponse {
    pub token_id: String,
    /// `user` or `account`.
    pub owner: String,
    pub account_id: Option<String>,
    pub not_before: Option<String>,
    pub expires_on: Option<String>,
    pub rotation: Option<Rotation>,
}

impl FromJson for IdentityResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(IdentityResponse {
            token_id: text(v, "token_id")?,
            owner: text(v, "owner")?,
            account_id: maybe_text(v, "account_id"),
            not_before: maybe_text(v, "not_before"),
            expires_on: maybe_text(v, "expires_on"),
            rotation: v.get("rotation").and_then(|r| Rotation::from_json(r).ok()),
        })
    }
}

/// One baseline group's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCheck {
    /// "Zone > DNS > Edit".
    pub dashboard: String,
    /// `granted`, `missing` or `unverified`.
    pub status: String,
    pub reason: String,
    /// The dashboard edit that adds a missing group.
    pub fix: Option<String>,
}

impl FromJson for GroupCheck {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(GroupCheck {
            dashboard: text(v, "dashboard")?,
            status: text(v, "status")?,
            reason: text_or_empty(v, "reason"),
            fix: maybe_text(v, "fix"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionsResponse {
    pub groups: Vec<GroupCheck>,
    /// The token read its own policies (else: one read-only probe per group).
    pub exact: bool,
    /// The self-check group ("User > API Tokens > Read").
    pub self_check: String,
}

impl PermissionsResponse {
    fn missing(&self) -> bool {
        self.groups.iter().any(|g| g.status == "missing")
    }
}

impl FromJson for PermissionsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        let self_check = v.get("self_check").ok_or(Missing("self_check"))?;
        Ok(PermissionsResponse {
            groups: list(v, "groups")?,
            exact: text(v, "evidence")? == "token_policies",
            self_check: text_or_empty(self_check, "permission"),
        })
    }
}

/// A zone (name, status, account) or an account (name, id).
#[derive(Debug, Clone, PartialEq)]
pub struct Row(Vec<String>);

fn rows(v: &Value, key: &'static str, fields: &[&str]) -> Result<Vec<Row>, Missing> {
    let items = v.get(key).and_then(Value::as_array).ok_or(Missing(key))?;
    Ok(items
        .iter()
        .map(|item| Row(fields.iter().map(|f| text_or_empty(item, f)).collect()))
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourcesResponse {
    pub zones: Vec<Row>,
    pub accounts: Vec<Row>,
    pub notes: Vec<String>,
}

impl FromJson for ResourcesResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(ResourcesResponse {
            zones: rows(v, "zones", &["name", "status", "account_name"])?,
            accounts: rows(v, "accounts", &["name", "id"])?,
            notes: list(v, "notes").unwrap_or_default(),
        })
    }
}

// ------------------------------------------------------------------ state

pub type CloudflareAnswers = Answers<(), IdentityResponse, PermissionsResponse, ResourcesResponse>;

/// Cloudflare's inputs and answers; nothing here is seen by another cloud.
#[derive(Clone, Copy)]
pub struct CloudflareWizard {
    /// The template's and the owner's wire values (`dns_edit`, `user`):
    /// strings, so no signal type is added for them (wasm size).
    pub template: RwSignal<String>,
    pub owner: RwSignal<String>,
    pub account_id: RwSignal<String>,
    /// The pasted token, for the bodies of steps 3 to 5. Not a signal: no
    /// view can read it, so it cannot end up in the page.
    token: BoxedValue<String>,
    /// Whether a token is held (what the token field says about it).
    holds_token: RwSignal<bool>,
    pub answers: AnswersSignal<CloudflareAnswers>,
}

impl CloudflareWizard {
    pub fn new() -> Self {
        CloudflareWizard {
            template: RwSignal::new(Template::DnsEdit.as_str().to_owned()),
            owner: RwSignal::new(TokenOwner::User.as_str().to_owned()),
            account_id: RwSignal::new(String::new()),
            token: BoxedValue::new(String::new()),
            holds_token: RwSignal::new(false),
            answers: AnswersSignal::default(),
        }
    }

    fn chosen_template(&self) -> Template {
        self.template
            .with_untracked(|t| t.parse())
            .unwrap_or(Template::DnsEdit)
    }

    /// A changed token, account or template invalidates every check.
    fn forget_checks(&self) {
        self.answers.update(Answers::forget_checks);
    }

    fn forget_token(&self) {
        self.token.set_value(String::new());
        self.holds_token.set(false);
    }

    /// The account id as sent (lowercase), `None` when blank.
    fn account(&self) -> Result<Option<String>, ApiError> {
        let v = self.account_id.get_untracked().trim().to_ascii_lowercase();
        if v.is_empty() {
            return Ok(None);
        }
        check_account(&v).map_err(|e| field_error("account_id", ACCOUNT, &e))?;
        Ok(Some(v))
    }

    /// Takes the token out of the field (which is emptied whatever
    /// follows) and checks its shape with the core: a Global API key is
    /// refused here, before it leaves the browser.
    fn take_token(&self) -> Result<String, ApiError> {
        if let Some(input) = token_input() {
            let pasted = input.value();
            input.set_value("");
            if !pasted.trim().is_empty() {
                self.token.set_value(pasted.trim().to_owned());
            }
        }
        let token = self.token.get_value();
        check_token_shape(&token).map_err(|e| {
            self.forget_token();
            in_words(ApiError::local(e.to_body()))
        })?;
        self.holds_token.set(true);
        Ok(token)
    }

    /// `{token, template, account_id?}`.
    fn token_body(&self, token: String) -> Result<Value, ApiError> {
        let mut body = json!({ "token": token, "template": self.template.get_untracked() });
        if let Some(a) = self.account()? {
            body["account_id"] = json!(a);
        }
        Ok(body)
    }
}

impl Default for CloudflareWizard {
    fn default() -> Self {
        Self::new()
    }
}

const ACCOUNT: &str = "Account id";
const ACCOUNT_HELP: &str = "32 hexadecimal characters: in the dashboard's address after dash.cloudflare.com/, and on the account's Overview page.";

fn check_account(s: &str) -> Result<(), IdError> {
    CloudflareAccountId::parse_normalised(s).map(drop)
}

fn owner_label(owner: &str) -> &'static str {
    if owner == TokenOwner::Account.as_str() {
        "Account-owned token"
    } else {
        "User-owned token"
    }
}

/// The proxy's Cloudflare errors in an operator's words: Cloudflare's
/// codes, HTTP statuses and header names stay in the API's hints and the
/// proxy's log; the code and the field are kept, so each shows where it
/// belongs.
fn in_words(error: ApiError) -> ApiError {
    let words: Option<(&str, &str)> = match error.code() {
        "global_api_key_refused" => Some((
            "This is a Global API key. AlphaSwarm never accepts one.",
            "A Global API key can do everything on every account you have, and it can neither be limited nor set to expire. A scoped API token can only do what its template allows: open the link in step 2, which pre-selects just those permissions, create the token, and paste it here.",
        )),
        "missing_token" => Some((
            "Paste the API token in step 3.",
            "Cloudflare shows a token once, right after it is created. If it is lost, create a new one from the link in step 2.",
        )),
        "invalid_token_shape" => Some((
            "This does not look like an API token.",
            "Paste the token exactly as Cloudflare showed it, without spaces.",
        )),
        "cloudflare_invalid_token" => Some((
            "Cloudflare does not recognise this token.",
            "It may have been deleted, rolled or mistyped: paste it again, or create a new one from the link in step 2. A token made under Manage Account > Account API Tokens also needs its account id.",
        )),
        "cloudflare_token_format" => Some((
            "This is not an API token.",
            "Paste the API token itself (40 characters, or starting with cfut_ or cfat_), not the Global API key, an Origin CA key or the token's id.",
        )),
        "cloudflare_permission_denied" => Some((
            "Cloudflare refused this token for this check.",
            "The token lacks a permission of the template: step 4 lists each one and what to add in the dashboard.",
        )),
        "cloudflare_account_token" | "cloudflare_not_found" => Some((
            "This token cannot reach an account with this id.",
            ACCOUNT_HELP,
        )),
        "cloudflare_credentials_not_received" => Some((
            "Cloudflare received no token from AlphaSwarm.",
            "Something between AlphaSwarm and Cloudflare removes it; ask whoever runs AlphaSwarm to check its network path to Cloudflare.",
        )),
        "cloudflare_throttled" => Some((
            "Cloudflare is limiting how fast requests may come.",
            "Wait a minute, then retry.",
        )),
        "cloudflare_unreachable" => Some((
            "AlphaSwarm could not reach Cloudflare.",
            "Retry in a moment; if it persists, ask whoever runs AlphaSwarm to check its network path to Cloudflare.",
        )),
        "cloudflare_unavailable" => Some((
            "Cloudflare is unavailable right now.",
            "Retry in a few minutes; cloudflarestatus.com says whether Cloudflare has an incident.",
        )),
        "cloudflare_unexpected" => Some((
            "Cloudflare gave an answer AlphaSwarm does not understand.",
            "Retry in a moment; if it persists, AlphaSwarm's log has the details.",
        )),
        _ => None,
    };
    let Some((message, hint)) = words else {
        return error;
    };
    match error {
        ApiError::Proxy {
            status,
            body,
            audit_run_id,
        } => ApiError::Proxy {
            status,
            body: ErrorBody {
                message: message.to_owned(),
                hint: hint.to_owned(),
                ..body
            },
            audit_run_id,
        },
        network => network,
    }
}

impl CloudWizard for CloudflareWizard {
    fn kind(&self) -> CloudKind {
        CloudKind::Cloudflare
    }

    fn spec(&self, step: Step) -> StepSpec {
        match step {
            Step::Bootstrap => StepSpec::of(
                step,
                "Choose what AlphaSwarm may do, then create the token in the Cloudflare dashboard with the link below: it pre-selects exactly the template's permissions. Cloudflare shows the token once; keep the page open to paste it in step 3.",
                "Preparing the link…",
                &["template", "token_owner", "account_id"],
            ),
            Step::ValidateIdentity => StepSpec::of(
                step,
                "Paste the token. AlphaSwarm asks Cloudflare whether it is active and when it expires. The token is never shown again: the field empties when you submit it.",
                "Verifying the token with Cloudflare…",
                &["token", "account_id"],
            ),
            Step::ValidatePermissions => StepSpec::of(
                step,
                "AlphaSwarm compares the token's permissions with the template's. Nothing is changed in Cloudflare.",
                "Checking the token's permissions…",
                &[],
            ),
            Step::EnumerateResources => StepSpec::of(
                step,
                "The zones and accounts this token can see. AlphaSwarm lists them read-only.",
                "Listing zones and accounts…",
                &[],
            ),
            Step::Choose | Step::Connect => StepSpec::of(
                step,
                "Saving puts the token in AlphaSwarm's encrypted store and keeps its id, template, account and expiry beside it. The token is never shown again, not even in part; this page forgets it once saved.",
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
        let edit_account = edits(this.account_id);
        // A choice changes the artifacts: render them again.
        let choose = move |value: RwSignal<String>| {
            let edit = edits(value);
            BoxedCallback::new(move |v| {
                edit.run(v);
                run.run(());
            })
        };
        Some(match step {
            Step::Bootstrap => view! {
                <Choices name="template" legend="What the token is for" choices=template_choices()
                    chosen=this.template on_choose=choose(this.template)/>
                <FieldError field="template" error/>
                <Choices name="token_owner" legend="Who owns the token" choices=owner_choices()
                    chosen=this.owner on_choose=choose(this.owner)/>
                <FieldError field="token_owner" error/>
                <TextField field="account_id" label=ACCOUNT value=this.account_id error check=check_account
                    placeholder="0123456789abcdef0123456789abcdef" on_input=edit_account
                    help="Needed for an account-owned token; for your own token it limits the link to that account."/>
            }
            .into_any(),
            Step::ValidateIdentity => view! {
                <p class="muted" data-template=this.template.get_untracked()>
                    {format!("Template: {} (chosen in step 2).", this.chosen_template().title())}
                </p>
                <TokenField holds=this.holds_token error
                    on_paste=BoxedCallback::new(move |()| this.forget_checks())/>
                <TextField field="account_id" label="Account id (account-owned tokens)" value=this.account_id error check=check_account
                    placeholder="0123456789abcdef0123456789abcdef" on_input=edit_account help=ACCOUNT_HELP/>
            }
            .into_any(),
            Step::Connect => {
                let mut facts: Vec<Fact> = vec![("Template", this.chosen_template().title().to_owned())];
                if let Some(id) = this.answers.with_untracked(|a| a.identity.clone()) {
                    facts.push(("Token owner", owner_label(&id.owner).to_owned()));
                    facts.push(("Token id", id.token_id));
                    if let Some(a) = id.account_id {
                        facts.push((ACCOUNT, a));
                    }
                    facts.push(("Expires", id.expires_on.unwrap_or_else(|| "never (rotate it within 90 days)".to_owned())));
                }
                facts.push(("Token", "held in this page until saved, never shown".to_owned()));
                view! { <FactRows facts/> }.into_any()
            }
            _ => return None,
        })
    }

    fn body(&self, step: Step) -> Result<Value, ApiError> {
        match step {
            Step::Bootstrap => {
                let account_owned = self
                    .owner
                    .with_untracked(|o| o == TokenOwner::Account.as_str());
                let mut body = json!({
                    "template": self.template.get_untracked(),
                    "token_owner": self.owner.get_untracked(),
                });
                match self.account()? {
                    Some(a) => body["account_id"] = json!(a),
                    None if account_owned => {
                        return Err(ApiError::local(ErrorBody {
                            code: "missing_field".to_owned(),
                            message: "An account-owned token needs the account id.".to_owned(),
                            field: Some("account_id".to_owned()),
                            hint: ACCOUNT_HELP.to_owned(),
                        }));
                    }
                    None => {}
                }
                Ok(body)
            }
            Step::ValidateIdentity => {
                let token = self.take_token()?;
                self.token_body(token)
            }
            _ => self.token_body(self.token.get_value()),
        }
    }

    fn starting(&self, step: Step) {
        if step == Step::ValidateIdentity {
            self.forget_checks();
        }
    }

    fn accept(&self, step: Step, response: &str) -> Result<(), String> {
        accept_into(self.answers, step, response)
    }

    fn in_words(&self, error: ApiError) -> ApiError {
        in_words(error)
    }

    fn connected(&self) {
        self.forget_token();
    }

    fn result(&self, step: Step, shell: BoxedSignal<Shell>) -> Option<AnyView> {
        Some(match step {
            Step::Bootstrap => {
                let data = self.answers.with(|a| a.bootstrap.clone())?;
                // The bundle says it all: the groups (values), the link,
                // what to check in the dashboard (notes), the Terraform.
                view! { <BundleView bundle=data.bundle shell links_title="Cloudflare dashboard"/> }
                    .into_any()
            }
            Step::ValidateIdentity => {
                let id = self.answers.with(|a| a.identity.clone())?;
                let mut facts: Vec<Fact> = vec![
                    ("Token id", id.token_id),
                    ("Owner", owner_label(&id.owner).to_owned()),
                    ("Status", "active".to_owned()),
                ];
                if let Some(a) = id.account_id {
                    facts.push((ACCOUNT, a));
                }
                if let Some(n) = id.not_before {
                    facts.push(("Valid from", n));
                }
                facts.push((
                    "Expires",
                    id.expires_on.unwrap_or_else(|| "never".to_owned()),
                ));
                view! {
                    <div class="result" data-result="identity">
                        <h3>"Token verified"</h3>
                        <Facts facts/>
                        {id.rotation.map_any(|r| view! { <RotationNote rotation=r/> })}
                    </div>
                }
                .into_any()
            }
            Step::ValidatePermissions => {
                let result = self.answers.with(|a| a.permissions.clone())?;
                view! { <GroupsView result/> }.into_any()
            }
            Step::EnumerateResources => {
                let r = self.answers.with(|a| a.resources.clone())?;
                view! {
                    <ResourceTable class="zones" caption=r.notes.iter().fold(format!("{} zones.", r.zones.len()), |c, n| c + " " + n)
                        headers=&["Zone", "Status", "Account"] rows=r.zones.into_iter().map(|z| z.0).collect()/>
                    <ResourceTable class="accounts" caption=format!("{} accounts", r.accounts.len())
                        headers=&["Account", "Account id"] rows=r.accounts.into_iter().map(|a| a.0).collect()/>
                }
                .into_any()
            }
            Step::Choose | Step::Connect => return None,
        })
    }

    fn status(&self, step: Step) -> StepStatus {
        // Unverified groups do not block (the proxy's connect agrees);
        // they stay amber, never green.
        self.answers
            .with(|a| a.status(step, |_| true, |p| !p.missing()))
    }
}

// ------------------------------------------------------------------ views

/// One card per choice (`value`, name, what it means), as radios.
type Choice = (&'static str, &'static str, String);

/// Step 2's choices: the template cards (what each lets AlphaSwarm do and
/// the dashboard permissions it asks for, from the core) and the owner.
/// One component, fed data, for both: each distinct view costs wasm.
#[component]
fn Choices(
    name: &'static str,
    legend: &'static str,
    choices: Vec<Choice>,
    chosen: RwSignal<String>,
    on_choose: BoxedCallback<String>,
) -> impl IntoView {
    view! {
        <fieldset class="choices" id=name aria-describedby=format!("{name}-error")>
            <legend>{legend}</legend>
            {choices.into_iter().map(|(value, title, what)| {
                let id = format!("{name}-{value}");
                let for_id = id.clone();
                view! {
                    <label class="choice" for=for_id data-choice=value>
                        <input type="radio" name=name id=id value=value
                            prop:checked=move || chosen.with(|c| c == value)
                            on:change=move |_| on_choose.run(value.to_owned())/>
                        <span class="choice-name">{title}</span>
                        <span class="choice-method small">{what}</span>
                    </label>
                }
            }).collect_any()}
        </fieldset>
    }
}

fn template_choices() -> Vec<Choice> {
    Template::ALL
        .into_iter()
        .map(|t| {
            let mut what = format!("AlphaSwarm may {}. Asks for", t.grants());
            for (i, g) in t.baseline().iter().enumerate() {
                what += if i == 0 { " " } else { ", " };
                what += &g.dashboard_path();
            }
            (t.as_str(), t.title(), what + ".")
        })
        .collect()
}

fn owner_choices() -> Vec<Choice> {
    vec![
        (
            TokenOwner::User.as_str(),
            owner_label("user"),
            "Created under My Profile > API Tokens. It stops working if that person leaves the account.".to_owned(),
        ),
        (
            TokenOwner::Account.as_str(),
            owner_label("account"),
            "Created under Manage Account > Account API Tokens. It belongs to the account, not to a person; needs the account id.".to_owned(),
        ),
    ]
}

/// The password field's element (looked up rather than a `NodeRef`: one
/// less generic type in the wasm).
fn token_input() -> Option<web_sys::HtmlInputElement> {
    use wasm_bindgen::JsCast;
    document()
        .get_element_by_id("token")
        .map(|e| e.unchecked_into())
}

/// The token's password field. It has no bound value: what is typed stays
/// in the element until submit takes it out (`take_token`), so nothing
/// reactive ever holds or renders it.
#[component]
fn TokenField(
    holds: RwSignal<bool>,
    error: Signal<Option<ApiError>>,
    on_paste: BoxedCallback<()>,
) -> impl IntoView {
    let invalid = move || error.with(|e| e.as_ref().is_some_and(|e| e.field() == Some("token")));
    view! {
        <div class="field">
            <label for="token">"API token"</label>
            <p id="token-help" class="muted small">
                {move || if holds.get() {
                    "A token is held for these checks (never shown). Paste another to replace it."
                } else {
                    "The token Cloudflare showed once when you created it. Never the Global API key."
                }}
            </p>
            <input id="token" name="token" type="password" autocomplete="off" spellcheck="false"
                aria-describedby="token-help token-error"
                aria-invalid=move || invalid().to_string()
                on:input=move |_| on_paste.run(())/>
            <FieldError field="token" error/>
        </div>
    }
}

/// Step 4: a badge per template group (granted, missing, could not be
/// verified), how it was checked, and each missing group's dashboard edit.
#[component]
fn GroupsView(result: PermissionsResponse) -> impl IntoView {
    let fixes: Vec<String> = result.groups.iter().filter_map(|g| g.fix.clone()).collect();
    let (mut checks, mut unverified) = (Vec::new(), Vec::new());
    for g in result.groups {
        let into = if g.status == "unverified" {
            &mut unverified
        } else {
            &mut checks
        };
        into.push(Check {
            granted: g.status == "granted",
            name: g.dashboard,
            detail: g.reason,
        });
    }
    let how = if result.exact {
        "Checked against the token's own permissions.".to_owned()
    } else {
        format!(
            "The token may not read its own permissions, so each one was tried with a read-only call; a write permission cannot be proven that way. Add {} to the token to check exactly.",
            result.self_check
        )
    };
    let evidence = if result.exact {
        "token_policies"
    } else {
        "probe"
    };
    view! {
        <p class="small muted" data-evidence=evidence>{how}</p>
        <CheckList label="Template permissions" checks unverified/>
        {(!fixes.is_empty()).then_any(|| view! {
            <div class="fix" data-fix="permissions">
                <h3>"Fix"</h3>
                <ul>{fixes.into_iter().map(|f| view! { <li>{f}</li> }).collect_any()}</ul>
                <p>"Then check again: editing a token's permissions keeps its value."</p>
            </div>
        })}
    }
}
