//! The wizard every cloud shares: the stepper, the step chrome (heading,
//! inputs, progress, errors next to their fields, Back/Next), running a
//! step's request through the step-up prompt, and the per-cloud state.
//!
//! A cloud contributes only what is its own, by implementing
//! [`CloudWizard`] in `crate::clouds::<cloud>`: its step inputs, the request
//! bodies built from them, reading the answers, and the result views.
//! Everything here is cloud-agnostic.

pub mod choose;
pub mod connect;
pub mod enumerate;
pub mod identity;
pub mod permissions;

use crate::api::{self, ApiError, ConnectResponse, Integration};
use crate::auth::Auth;
use crate::json::{self, FromJson};
use crate::model::{Step, StepView};
use crate::sandbox::SandboxApply;
use crate::signal::{BoxedCallback, BoxedSignal, BoxedValue, CollectAny, MapAny, ThenAny, effect};
use crate::ui::{ErrorBanner, attr};
use alphaswarm_core::Bundle;
use alphaswarm_core::shell::Shell;
use alphaswarm_core::{CloudKind, OrgId};
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use std::sync::Arc;

/// Where one step of one cloud stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// No result yet (or it was invalidated by a changed input).
    Pending,
    /// A result that does not let the wizard go on (a missing permission,
    /// an identity that is not isolated).
    Blocked,
    /// A result that opens the next step.
    Passed,
}

/// Step 2's answer: the core's bundle (the same for every cloud) and what
/// else the cloud's bootstrap answers (`X`, e.g. AWS's external id).
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap<X> {
    pub bundle: Bundle,
    pub more: X,
}

/// A cloud's answers to steps 2, 3, 4 and 4*, each read into the cloud's
/// own type. A cloud keeps them in one signal: one signal type per cloud
/// rather than four keeps the wasm small.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers<X, I, P, R> {
    pub bootstrap: Option<Bootstrap<X>>,
    pub identity: Option<I>,
    pub permissions: Option<P>,
    pub resources: Option<R>,
}

impl<X, I, P, R> Default for Answers<X, I, P, R> {
    fn default() -> Self {
        Answers {
            bootstrap: None,
            identity: None,
            permissions: None,
            resources: None,
        }
    }
}

impl<X, I, P, R> Answers<X, I, P, R>
where
    X: FromJson,
    I: FromJson,
    P: FromJson,
    R: FromJson,
{
    /// Keeps `step`'s answer, read from the proxy's JSON text; an answer
    /// that is not the documented shape is refused (its reason returned).
    pub fn accept(&mut self, step: Step, text: &str) -> Result<(), String> {
        match step {
            Step::Bootstrap => {
                let v = json::value(text)?;
                let read = |v: &Value| {
                    Ok(Bootstrap {
                        bundle: json::object(v, "bundle")?,
                        more: X::from_json(v)?,
                    })
                };
                self.bootstrap = Some(read(&v).map_err(json::Missing::into_reason)?);
            }
            Step::ValidateIdentity => self.identity = Some(json::parse(text)?),
            Step::ValidatePermissions => self.permissions = Some(json::parse(text)?),
            _ => self.resources = Some(json::parse(text)?),
        }
        Ok(())
    }

    /// Forgets what was checked against the cloud (steps 3, 4, 4*), e.g.
    /// when an input it was checked with changed.
    pub fn forget_checks(&mut self) {
        self.identity = None;
        self.permissions = None;
        self.resources = None;
    }

    /// Steps 2 and 4* pass with an answer; 3 and 4 when the cloud's test
    /// of the answer holds.
    pub fn status(
        &self,
        step: Step,
        identity_ok: impl Fn(&I) -> bool,
        permissions_ok: impl Fn(&P) -> bool,
    ) -> StepStatus {
        let (some, ok) = match step {
            Step::Bootstrap => (self.bootstrap.is_some(), true),
            Step::ValidateIdentity => (
                self.identity.is_some(),
                self.identity.as_ref().is_some_and(identity_ok),
            ),
            Step::ValidatePermissions => (
                self.permissions.is_some(),
                self.permissions.as_ref().is_some_and(permissions_ok),
            ),
            Step::EnumerateResources => (self.resources.is_some(), true),
            Step::Choose | Step::Connect => (false, false),
        };
        match (some, ok) {
            (false, _) => StepStatus::Pending,
            (true, true) => StepStatus::Passed,
            (true, false) => StepStatus::Blocked,
        }
    }
}

/// How one cloud's step looks and behaves; the generic step view does the rest.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepSpec {
    /// Under the heading: what the operator does here, in the cloud's words.
    pub intro: &'static str,
    /// The button that runs the step. Under the inputs when the step has
    /// some, else under the result ("Check again"); none: the step only
    /// runs when it opens.
    pub action: Option<&'static str>,
    /// Shown, with the seconds so far, while the request runs.
    pub progress: &'static str,
    /// The step runs as soon as it opens without a result.
    pub auto: bool,
    /// The inputs sit in a collapsed `<details>` with this summary.
    pub collapsed: Option<&'static str>,
    /// Inputs that show their own errors; the banner shows any other.
    pub fields: &'static [&'static str],
}

impl StepSpec {
    /// `step` as every cloud runs it: 2, 4 and 4* run when they open; 2 and
    /// 4 can be run again, 3 runs from its inputs' "Validate identity".
    pub fn of(
        step: Step,
        intro: &'static str,
        progress: &'static str,
        fields: &'static [&'static str],
    ) -> Self {
        let (action, auto) = match step {
            Step::Bootstrap => (Some("Render again"), true),
            Step::ValidateIdentity => (Some("Validate identity"), false),
            Step::ValidatePermissions => (Some("Check again"), true),
            Step::EnumerateResources => (None, true),
            Step::Choose | Step::Connect => (None, false),
        };
        StepSpec {
            intro,
            action,
            progress,
            auto,
            collapsed: None,
            fields,
        }
    }
}

/// Keeps `step`'s answer text in a cloud's answers (its
/// [`CloudWizard::accept`]).
pub fn accept_into<X, I, P, R>(
    answers: AnswersSignal<Answers<X, I, P, R>>,
    step: Step,
    text: &str,
) -> Result<(), String>
where
    Answers<X, I, P, R>: Send + Sync + 'static,
    X: FromJson,
    I: FromJson,
    P: FromJson,
    R: FromJson,
{
    answers
        .try_update(|a| a.accept(step, text))
        .unwrap_or(Ok(()))
}

/// A cloud's [`Answers`] in a signal (one signal type for every cloud).
pub type AnswersSignal<A> = BoxedSignal<A>;

/// The `on_input` maker for inputs the cloud's checks were made with: a
/// changed value first forgets those checks (`forget`), then is kept.
pub fn edits(
    forget: BoxedCallback<()>,
) -> impl Fn(RwSignal<String>) -> BoxedCallback<String> + Copy {
    let changed = BoxedCallback::new(move |(value, v): (RwSignal<String>, String)| {
        if v != value.get_untracked() {
            forget.run(());
        }
        value.set(v);
    });
    move |value| BoxedCallback::new(move |v| changed.run((value, v)))
}

/// One cloud's part of the wizard (see web/README.md, "Adding a cloud").
///
/// Implemented by a `Copy` struct of signals holding that cloud's inputs
/// and results, so switching cloud in step 1 never mixes two clouds' state
/// and switching back finds everything as it was left.
pub trait CloudWizard: Send + Sync {
    fn kind(&self) -> CloudKind;
    /// The steps in order; account wizards (HuggingFace, Docker Hub) use a
    /// shorter list.
    fn steps(&self) -> &'static [Step] {
        &Step::ALL
    }
    fn spec(&self, step: Step) -> StepSpec;
    /// The step's inputs (step 5: the summary of what will be saved).
    /// `error` is the step's last error, for the fields to show their own;
    /// `run` re-runs the step (e.g. when a choice changes the artifacts).
    fn form(
        &self,
        step: Step,
        error: Signal<Option<ApiError>>,
        run: BoxedCallback<()>,
    ) -> Option<AnyView>;
    /// The request body, from the inputs. An `Err` is a local validation
    /// error naming its field; nothing is sent.
    fn body(&self, step: Step) -> Result<Value, ApiError>;
    /// Just before the request goes out: forget what it makes stale.
    fn starting(&self, _step: Step) {}
    /// Keeps the proxy's answer (its JSON text), read into the cloud's own
    /// type (not called for step 5, whose answer is the same for every cloud).
    fn accept(&self, step: Step, response: &str) -> Result<(), String>;
    /// An error of this cloud's steps in the operator's words (the code
    /// and field kept); most clouds' proxy messages already are.
    fn in_words(&self, error: ApiError) -> ApiError {
        error
    }
    /// Step 5 saved the connection: forget what only the steps needed
    /// (a secret held for their bodies).
    fn connected(&self) {}
    /// The step's result view (reactive: read the cloud's signals inside).
    fn result(&self, step: Step, shell: BoxedSignal<Shell>) -> Option<AnyView>;
    /// Tracked, so the stepper and Next follow it.
    fn status(&self, step: Step) -> StepStatus;
    /// The sandbox applied step 2: `fields` holds the next steps' inputs
    /// by their body field names (e.g. AWS's `role_arn`).
    fn sandbox_applied(&self, _fields: &Value) {}
}

/// A cloud's wizard and what the generic steps keep for it.
#[derive(Clone)]
pub struct CloudSlot {
    pub wizard: Arc<dyn CloudWizard>,
    /// Step 5's answer: the same shape for every cloud.
    pub connected: BoxedSignal<Option<Integration>>,
}

impl CloudSlot {
    pub fn new(wizard: impl CloudWizard + 'static) -> Self {
        CloudSlot {
            wizard: Arc::new(wizard),
            connected: BoxedSignal::new(None),
        }
    }

    pub fn status(&self, step: Step) -> StepStatus {
        match step {
            Step::Connect if self.connected.with(Option::is_some) => StepStatus::Passed,
            Step::Connect => StepStatus::Pending,
            _ => self.wizard.status(step),
        }
    }
}

/// Everything the steps share; it outlives each step's view so going back
/// and forth (or through the step-up prompt) keeps what was entered.
#[derive(Clone, Copy)]
pub struct WizardState {
    pub org: BoxedValue<OrgId>,
    pub step: BoxedSignal<Step>,
    /// The chosen cloud; always one that has a slot.
    pub cloud: BoxedSignal<CloudKind>,
    pub shell: BoxedSignal<Shell>,
    /// The clouds the proxy has a provider for; `None` until it said.
    pub offered: BoxedSignal<Option<Vec<CloudKind>>>,
    /// Why the proxy could not say which clouds it offers.
    pub offered_error: BoxedSignal<Option<ApiError>>,
    slots: BoxedValue<Vec<CloudSlot>>,
}

impl WizardState {
    /// One slot per cloud with a UI module (`crate::clouds::all`).
    pub fn new(org: OrgId, cloud: CloudKind) -> Self {
        Self::with_clouds(org, cloud, crate::clouds::all())
    }

    pub fn with_clouds(org: OrgId, cloud: CloudKind, slots: Vec<CloudSlot>) -> Self {
        let cloud = if slots.iter().any(|s| s.wizard.kind() == cloud) {
            cloud
        } else {
            slots.first().map_or(CloudKind::Aws, |s| s.wizard.kind())
        };
        WizardState {
            org: BoxedValue::new(org),
            step: BoxedSignal::new(Step::Choose),
            cloud: BoxedSignal::new(cloud),
            shell: BoxedSignal::new(Shell::Bash),
            offered: BoxedSignal::new(None),
            offered_error: BoxedSignal::new(None),
            slots: BoxedValue::new(slots),
        }
    }

    pub fn org(&self) -> OrgId {
        self.org.get_value()
    }

    /// Whether this UI has a wizard for `cloud`.
    pub fn has_ui(&self, cloud: CloudKind) -> bool {
        self.slots
            .with_value(|s| s.iter().any(|s| s.wizard.kind() == cloud))
    }

    /// Whether `cloud` can be chosen: this UI has its wizard and the proxy
    /// its provider; `None` while the proxy has not said (tracked).
    pub fn choosable(&self, cloud: CloudKind) -> Option<bool> {
        if !self.has_ui(cloud) {
            return Some(false);
        }
        self.offered
            .with(|o| o.as_ref().map(|o| o.contains(&cloud)))
    }

    /// The chosen cloud's slot (tracked).
    pub fn slot(&self) -> CloudSlot {
        let cloud = self.cloud.get();
        self.slots.with_value(|slots| {
            slots
                .iter()
                .find(|s| s.wizard.kind() == cloud)
                .unwrap_or(&slots[0])
                .clone()
        })
    }

    pub fn steps(&self) -> &'static [Step] {
        self.slot().wizard.steps()
    }

    /// Whether `step` passed (step 1: the chosen cloud is available).
    pub fn passed(&self, step: Step) -> bool {
        match step {
            Step::Choose => self.choosable(self.cloud.get()) == Some(true),
            _ => self.slot().status(step) == StepStatus::Passed,
        }
    }

    /// Whether `step` may be opened: every earlier step passed.
    pub fn reachable(&self, step: Step) -> bool {
        self.steps()
            .iter()
            .take_while(|s| **s != step)
            .all(|s| self.passed(*s))
    }
}

/// Opens `step`, through the step-up prompt when it needs one.
pub fn go_to(auth: Auth, state: WizardState, step: Step) {
    if step.requires_step_up() {
        auth.with_step_up(move || state.step.set(step));
    } else {
        state.step.set(step);
    }
}

/// One run of a step as the view shows it: the last error (next to its
/// field, or in the banner) and the seconds since it started, while it runs.
#[derive(Clone, Copy)]
pub struct StepRun {
    pub error: BoxedSignal<Option<ApiError>>,
    pub elapsed: BoxedSignal<Option<u32>>,
    /// Step 5: the operator confirmed replacing the existing connection.
    pub replace: RwSignal<bool>,
}

impl StepRun {
    pub fn new() -> Self {
        StepRun {
            error: BoxedSignal::new(None),
            elapsed: BoxedSignal::new(None),
            replace: RwSignal::new(false),
        }
    }
    pub fn busy(&self) -> bool {
        self.elapsed.with(Option::is_some)
    }
}

impl Default for StepRun {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends `step`'s request for `slot`'s cloud and keeps the answer there.
/// A stale step-up shows the code prompt and then sends the same step
/// again, for the same cloud, with the inputs as they are by then.
pub fn run_step(auth: Auth, org: OrgId, slot: CloudSlot, step: Step, run: StepRun) {
    let body = match slot.wizard.body(step) {
        Ok(mut body) if step == Step::Connect && run.replace.get_untracked() => {
            body["replace"] = Value::Bool(true);
            body
        }
        Ok(body) => body,
        Err(e) => {
            run.error.set(Some(slot.wizard.in_words(e)));
            return;
        }
    };
    run.error.set(None);
    slot.wizard.starting(step);
    let started = js_sys::Date::now();
    run.elapsed.set(Some(0));
    spawn_local(async move {
        let ticker = Interval::new(250, move || {
            run.elapsed
                .try_set(Some(((js_sys::Date::now() - started) / 1000.0) as u32));
        });
        let cloud = slot.wizard.kind();
        let answer = api::cloud_step(&auth.token(), &org, cloud, step, &body).await;
        drop(ticker);
        run.elapsed.try_set(None);
        let kept = answer.and_then(|text| {
            let read = if step == Step::Connect {
                json::parse::<ConnectResponse>(&text).map(|r| {
                    slot.connected.try_set(Some(r.integration));
                    slot.wizard.connected();
                })
            } else {
                slot.wizard.accept(step, &text)
            };
            read.map_err(|e| api::unexpected(200, &e))
        });
        if let Err(e) = kept {
            let again = slot.clone();
            if !auth.handle(&e, move || {
                run_step(auth, org.clone(), again.clone(), step, run)
            }) {
                run.error.try_set(Some(slot.wizard.in_words(e)));
            }
        }
    });
}

#[component]
pub fn Wizard(auth: Auth, state: WizardState, on_done: BoxedCallback<()>) -> impl IntoView {
    let org = state.org();
    let org_label = if org.is_platform() {
        "AlphaSwarm (Cloud connections)".to_owned()
    } else {
        org.as_str().to_owned()
    };
    provide_context(ForPlatform(org.is_platform()));
    choose::load_offered(auth, state);
    // Each step's view is rebuilt when the step or the cloud changes; the
    // cloud's inputs and results live in its slot, not in the view.
    let body = move || {
        let step = state.step.get();
        // Only the step rebuilds the view: a radio changing the cloud in
        // step 1 must keep its focus.
        untrack(|| match step {
            Step::Choose => choose::ChooseStep(choose::ChooseStepProps { auth, state }).into_any(),
            Step::Connect => connect::ConnectStep(connect::ConnectStepProps {
                auth,
                state,
                slot: state.slot(),
                on_done,
            })
            .into_any(),
            _ => CloudStep(CloudStepProps {
                auth,
                state,
                slot: state.slot(),
                step,
            })
            .into_any(),
        })
    };
    view! {
        <section class="wizard" aria-labelledby="wizard-title" data-cloud=move || state.cloud.get().as_str()>
            <h1 id="wizard-title">"Connect a cloud account"<span class="org-chip">{org_label}</span></h1>
            <Stepper auth state/>
            <div class="step-body">{body}</div>
        </section>
    }
}

#[component]
fn Stepper(auth: Auth, state: WizardState) -> impl IntoView {
    view! {
        <nav aria-label="Wizard steps">
            <ol class="stepper">
                {move || state.steps().iter().map(|&step| {
                    let current = move || state.step.get() == step;
                    view! {
                        <li class:current=current class:done=move || { state.step.get().index() > step.index() }>
                            <button type="button"
                                {..attr("aria-current", move || current().then_some("step"))}
                                disabled=move || !state.reachable(step) || current()
                                on:click=move |_| go_to(auth, state, step)>
                                <span class="num">{step.number()}</span>
                                <span class="title">{step.title()}</span>
                            </button>
                        </li>
                    }
                }).collect_any()}
            </ol>
            {move || state.steps().contains(&Step::EnumerateResources).then_any(|| view! {
                <p class="muted small" data-note="optional-step">"4* is optional: it lists what the connection can see, read-only, and changes nothing."</p>
            })}
        </nav>
    }
}

/// Steps 2 to 4* of the chosen cloud: loads through [`run_step`].
#[component]
pub fn CloudStep(auth: Auth, state: WizardState, slot: CloudSlot, step: Step) -> impl IntoView {
    let run = StepRun::new();
    let org = state.org();
    let runner = slot.clone();
    let on_run =
        BoxedCallback::new(move |()| run_step(auth, org.clone(), runner.clone(), step, run));
    if slot.wizard.spec(step).auto && untrack(|| slot.status(step)) == StepStatus::Pending {
        on_run.run(());
    }
    let sandbox = (step == Step::Bootstrap).then(|| {
        view! { <SandboxApply auth org=state.org() for_slot=slot.clone()/> }
    });
    view! {
        <StepView wizard=slot.wizard run shell=state.shell step on_run/>
        {sandbox}
        <StepNav auth state/>
    }
}

/// A cloud's step 2 to 4*: data in, DOM out (what the component tests mount).
#[component]
pub fn StepView(
    wizard: Arc<dyn CloudWizard>,
    step: Step,
    run: StepRun,
    shell: BoxedSignal<Shell>,
    on_run: BoxedCallback<()>,
) -> impl IntoView {
    let spec = wizard.spec(step);
    let error = Signal::from(run.error);
    let busy = move || run.busy();
    let form = wizard.form(step, error, on_run).map(|inputs| {
        let form = view! {
            <form on:submit=move |ev| { ev.prevent_default(); on_run.run(()); }>
                {inputs}
                {spec.action.map_any(|label| view! {
                    <button type="submit" class=if spec.collapsed.is_some() { "" } else { "primary" } disabled=busy>{label}</button>
                })}
            </form>
        };
        match spec.collapsed {
            Some(summary) => view! { <details class="options"><summary>{summary}</summary>{form}</details> }.into_any(),
            None => form.into_any(),
        }
    });
    let has_form = form.is_some();
    let wizard_for_result = wizard.clone();
    view! {
        <section data-step=step.slug() aria-labelledby=format!("step-{}-title", step.slug()) aria-busy=move || busy().to_string()>
            <StepHeading step intro=spec.intro/>
            {form}
            <ErrorBanner error fields=spec.fields on_retry=on_run/>
            {move || run.elapsed.get().map_any(|secs| view! {
                <p class="progress" role="status" data-progress=step.slug()>
                    <span class="spinner" aria-hidden="true"></span>
                    {format!("{} ({secs} s)", spec.progress)}
                </p>
            })}
            {move || wizard_for_result.result(step, shell)}
            {spec.action.filter(|_| !has_form).map_any(|label| view! {
                <button type="button" on:click=move |_| on_run.run(()) disabled=busy>{label}</button>
            })}
        </section>
    }
}

/// Back / Next buttons under a step; Next opens once the step passed.
#[component]
pub fn StepNav(auth: Auth, state: WizardState) -> impl IntoView {
    let step = state.step.get_untracked();
    let steps = state.slot().wizard.steps();
    view! {
        <div class="actions step-nav">
            {step.previous_in(steps).map_any(|prev| view! {
                <button type="button" on:click=move |_| go_to(auth, state, prev)>"Back"</button>
            })}
            {step.following_in(steps).map_any(|next| view! {
                <button type="button" class="primary" data-next=next.slug()
                    disabled=move || !state.passed(step)
                    on:click=move |_| go_to(auth, state, next)>
                    {format!("Next: {} {}", next.number(), next.title())}
                </button>
            })}
        </div>
    }
}

/// Heading block every step view starts with.
#[component]
pub fn StepHeading(step: Step, #[prop(into)] intro: String) -> impl IntoView {
    // Move focus to the new step's heading, so keyboard and screen-reader
    // users continue from the top of the step rather than from <body>.
    let heading = NodeRef::<leptos::html::H2>::new();
    effect(move || {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    view! {
        <h2 id=format!("step-{}-title", step.slug()) tabindex="-1" node_ref=heading>
            {format!("Step {} · {}", step.number(), step.title())}
        </h2>
        <p class="muted">{in_org_words(&intro)}</p>
    }
}

/// Whether the wizard connects AlphaSwarm's own accounts (Settings → Cloud
/// connections) rather than a customer's; provided by [`Wizard`].
#[derive(Debug, Clone, Copy)]
pub struct ForPlatform(pub bool);

/// `text` as the open wizard should say it: in the Settings wizard the
/// accounts are AlphaSwarm's own, not a customer's.
pub fn in_org_words(text: &str) -> String {
    let platform = use_context::<ForPlatform>().is_some_and(|p| p.0);
    if !platform {
        return text.to_owned();
    }
    text.replace("the customer's administrator", "your cloud administrator")
        .replace("The customer's administrator", "Your cloud administrator")
        .replace("the customer's", "AlphaSwarm's own")
        .replace("The customer's", "AlphaSwarm's own")
        .replace("the customer", "AlphaSwarm")
        .replace("The customer", "AlphaSwarm")
}
