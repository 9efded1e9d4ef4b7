//! Step 1: choose the cloud. Every cloud is listed; one that this UI has no
//! wizard for, or the proxy no provider for, is "Coming soon" and cannot
//! be picked, so no choice leads to a dead end.

use super::{StepHeading, StepNav, WizardState};
use crate::api;
use crate::auth::Auth;
use crate::clouds::CARDS;
use crate::model::Step;
use crate::signal::{BoxedCallback, BoxedSignal, CollectAny, ThenAny};
use crate::ui::ErrorBanner;
use alphaswarm_core::CloudKind;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Asks the proxy which clouds it has providers for (once per wizard).
pub fn load_offered(auth: Auth, state: WizardState) {
    spawn_local(async move {
        match api::clouds(&auth.token()).await {
            Ok(r) => {
                let offered = r.kinds();
                // A cloud named in the URL that cannot be picked gives way
                // to the first one that can.
                let chosen = state.cloud.get_untracked();
                if !(state.has_ui(chosen) && offered.contains(&chosen))
                    && let Some(first) = offered.iter().find(|k| state.has_ui(**k))
                {
                    state.cloud.try_set(*first);
                }
                state.offered.try_set(Some(offered));
            }
            Err(e) => {
                if !auth.handle(&e, move || load_offered(auth, state)) {
                    // Without the list nothing can be picked; say why.
                    state.offered.try_set(Some(Vec::new()));
                    state.offered_error.try_set(Some(e));
                }
            }
        }
    });
}

#[component]
pub fn ChooseStep(auth: Auth, state: WizardState) -> impl IntoView {
    let retry = BoxedCallback::new(move |()| {
        state.offered_error.set(None);
        state.offered.set(None);
        load_offered(auth, state);
    });
    view! {
        <ChooseView cloud=state.cloud choosable=BoxedCallback::new(move |kind| state.choosable(kind))/>
        <ErrorBanner error=state.offered_error.into() fields=&[] on_retry=retry/>
        <StepNav auth state/>
    }
}

#[component]
pub fn ChooseView(
    cloud: BoxedSignal<CloudKind>,
    /// Whether a cloud can be picked, `None` while that is being asked
    /// (tracked).
    choosable: BoxedCallback<CloudKind, Option<bool>>,
) -> impl IntoView {
    view! {
        <section data-step="choose" aria-labelledby="step-choose-title">
            <StepHeading step=Step::Choose intro="Pick the cloud to connect. Every method is federated or scoped: AlphaSwarm never stores a long-lived cloud key."/>
            <fieldset class="choices">
                <legend>"Cloud and auth method"</legend>
                {CARDS.iter().map(|card| {
                    let kind = card.kind;
                    let id = format!("cloud-{}", kind.as_str());
                    let for_id = id.clone();
                    let open = move || choosable.run(kind) == Some(true);
                    view! {
                        <label class="choice" class:unavailable=move || !open() for=for_id>
                            <input type="radio" name="cloud" id=id value=kind.as_str()
                                disabled=move || !open()
                                prop:checked=move || cloud.get() == kind
                                on:change=move |_| cloud.set(kind)/>
                            <span class="choice-name">{card.name}</span>
                            <span class="choice-method">{card.method}</span>
                            {move || (!open()).then_any(|| view! {
                                <span class="muted small" data-status="unavailable">
                                    {if choosable.run(kind).is_none() { "Checking…" } else { "Coming soon" }}
                                </span>
                            })}
                        </label>
                    }
                }).collect_any()}
            </fieldset>
        </section>
    }
}
