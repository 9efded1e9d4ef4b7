//! The wizard: one module per step, the state they share, and the stepper.
//!
//! Each step module has a pure `*View` (data in, DOM out; what the component
//! tests mount) and a `*Step` that loads the data through `api`.

pub mod bootstrap;
pub mod choose;
pub mod connect;
pub mod enumerate;
pub mod identity;
pub mod permissions;

use crate::api::{
    BootstrapResponse, IdentityResponse, Integration, PermissionsResponse, RegionsResponse,
};
use crate::auth::Auth;
use crate::model::{Step, StepView};
use alphaswarm_core::shell::Shell;
use alphaswarm_core::{CloudKind, OrgId};
use leptos::prelude::*;

/// Everything the steps share; it outlives each step's view so going back
/// and forth (or through the step-up prompt) keeps what was entered.
#[derive(Clone, Copy)]
pub struct WizardState {
    pub org: StoredValue<OrgId>,
    pub step: RwSignal<Step>,
    pub cloud: RwSignal<CloudKind>,
    pub shell: RwSignal<Shell>,
    pub bootstrap: RwSignal<Option<BootstrapResponse>>,
    pub role_arn: RwSignal<String>,
    pub identity: RwSignal<Option<IdentityResponse>>,
    pub permissions: RwSignal<Option<PermissionsResponse>>,
    pub regions: RwSignal<Option<RegionsResponse>>,
    pub connected: RwSignal<Option<Integration>>,
}

impl WizardState {
    pub fn new(org: OrgId) -> Self {
        WizardState {
            org: StoredValue::new(org),
            step: RwSignal::new(Step::Choose),
            cloud: RwSignal::new(CloudKind::Aws),
            shell: RwSignal::new(Shell::Bash),
            bootstrap: RwSignal::new(None),
            role_arn: RwSignal::new(String::new()),
            identity: RwSignal::new(None),
            permissions: RwSignal::new(None),
            regions: RwSignal::new(None),
            connected: RwSignal::new(None),
        }
    }

    pub fn org(&self) -> OrgId {
        self.org.get_value()
    }

    /// Whether `step` may be opened: every earlier step has its result.
    pub fn reachable(&self, step: Step) -> bool {
        match step {
            Step::Choose | Step::Bootstrap => true,
            Step::ValidateIdentity => self.bootstrap.with(Option::is_some),
            Step::ValidatePermissions => self
                .identity
                .with(|i| i.as_ref().is_some_and(|i| i.confused_deputy.safe)),
            Step::EnumerateResources => self
                .permissions
                .with(|p| p.as_ref().is_some_and(|p| p.missing.is_empty())),
            Step::Connect => self.regions.with(Option::is_some),
        }
    }

    /// A changed ARN invalidates every result that was checked against it.
    pub fn set_role_arn(&self, arn: String) {
        if arn != self.role_arn.get_untracked() {
            self.identity.set(None);
            self.permissions.set(None);
            self.regions.set(None);
        }
        self.role_arn.set(arn);
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

#[component]
pub fn Wizard(auth: Auth, state: WizardState, on_done: Callback<()>) -> impl IntoView {
    let org = state.org();
    let org_label = if org.is_platform() {
        "AlphaSwarm (Cloud connections)".to_owned()
    } else {
        org.as_str().to_owned()
    };
    let body = move || match state.step.get() {
        Step::Choose => choose::ChooseStep(choose::ChooseStepProps { auth, state }).into_any(),
        Step::Bootstrap => {
            bootstrap::BootstrapStep(bootstrap::BootstrapStepProps { auth, state }).into_any()
        }
        Step::ValidateIdentity => {
            identity::IdentityStep(identity::IdentityStepProps { auth, state }).into_any()
        }
        Step::ValidatePermissions => {
            permissions::PermissionsStep(permissions::PermissionsStepProps { auth, state })
                .into_any()
        }
        Step::EnumerateResources => {
            enumerate::EnumerateStep(enumerate::EnumerateStepProps { auth, state }).into_any()
        }
        Step::Connect => connect::ConnectStep(connect::ConnectStepProps {
            auth,
            state,
            on_done,
        })
        .into_any(),
    };
    view! {
        <section class="wizard" aria-labelledby="wizard-title">
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
                {Step::ALL.into_iter().map(|step| {
                    let current = move || state.step.get() == step;
                    view! {
                        <li class:current=current class:done=move || { state.step.get().index() > step.index() }>
                            <button type="button"
                                aria-current=move || current().then_some("step")
                                disabled=move || !state.reachable(step) || current()
                                on:click=move |_| go_to(auth, state, step)>
                                <span class="num">{step.number()}</span>
                                <span class="title">{step.title()}</span>
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </nav>
    }
}

/// Back / Next buttons under a step.
#[component]
pub fn StepNav(
    auth: Auth,
    state: WizardState,
    #[prop(into)] can_continue: Signal<bool>,
) -> impl IntoView {
    let step = state.step.get_untracked();
    view! {
        <div class="actions step-nav">
            {step.previous().map(|prev| view! {
                <button type="button" on:click=move |_| go_to(auth, state, prev)>"Back"</button>
            })}
            {step.following().map(|next| view! {
                <button type="button" class="primary" data-next=next.slug()
                    disabled=move || !can_continue.get()
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
    Effect::new(move || {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    view! {
        <h2 id=format!("step-{}-title", step.slug()) tabindex="-1" node_ref=heading>
            {format!("Step {} · {}", step.number(), step.title())}
        </h2>
        <p class="muted">{intro}</p>
    }
}
