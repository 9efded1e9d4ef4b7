//! Step 1: choose the cloud and the auth method.

use super::{StepHeading, StepNav, WizardState};
use crate::auth::Auth;
use crate::model::Step;
use alphaswarm_core::CloudKind;
use leptos::prelude::*;

/// Clouds in the order shown; only AWS has a wizard in this release.
const CLOUDS: [(CloudKind, &str, &str, bool); 4] = [
    (
        CloudKind::Aws,
        "Amazon Web Services",
        "IAM role + external id",
        true,
    ),
    (
        CloudKind::Azure,
        "Microsoft Azure",
        "Workload identity federation",
        false,
    ),
    (
        CloudKind::Gcp,
        "Google Cloud",
        "Workload identity federation + impersonation",
        false,
    ),
    (
        CloudKind::Cloudflare,
        "Cloudflare",
        "Scoped API token",
        false,
    ),
];

#[component]
pub fn ChooseStep(auth: Auth, state: WizardState) -> impl IntoView {
    view! {
        <ChooseView cloud=state.cloud/>
        <StepNav auth state can_continue=Signal::derive(move || state.cloud.get() == CloudKind::Aws)/>
    }
}

#[component]
pub fn ChooseView(cloud: RwSignal<CloudKind>) -> impl IntoView {
    view! {
        <section data-step="choose" aria-labelledby="step-choose-title">
            <StepHeading step=Step::Choose intro="Pick the cloud to connect. Every method is federated: AlphaSwarm never stores a long-lived cloud secret."/>
            <fieldset class="choices">
                <legend>"Cloud and auth method"</legend>
                {CLOUDS.into_iter().map(|(kind, name, method, available)| {
                    let id = format!("cloud-{}", kind.as_str());
                    let for_id = id.clone();
                    view! {
                        <label class="choice" class:unavailable=!available for=for_id>
                            <input type="radio" name="cloud" id=id value=kind.as_str()
                                disabled=!available
                                prop:checked=move || cloud.get() == kind
                                on:change=move |_| cloud.set(kind)/>
                            <span class="choice-name">{name}</span>
                            <span class="choice-method">{method}</span>
                            {(!available).then(|| view! { <span class="muted small">"Not in this release"</span> })}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        </section>
    }
}
