//! Step 2: the bootstrap artifacts from the proxy, each one click from the
//! clipboard (and the files one click from disk).

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, BootstrapRequest, BootstrapResponse};
use crate::auth::Auth;
use crate::bundle_view::BundleView;
use crate::model::Step;
use crate::ui::{ErrorBanner, FieldError};
use alphaswarm_core::bundle::NamedValue;
use alphaswarm_core::shell::Shell;
use leptos::prelude::*;
use leptos::task::spawn_local;

const FIELDS: &[&str] = &["region", "organizational_unit_ids"];

#[component]
pub fn BootstrapStep(auth: Auth, state: WizardState) -> impl IntoView {
    let region = RwSignal::new(String::new());
    let ous = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let load = Callback::new(move |()| {
        busy.set(true);
        error.set(None);
        let body = BootstrapRequest {
            region: Some(region.get_untracked().trim().to_owned()).filter(|r| !r.is_empty()),
            organizational_unit_ids: Some(
                ous.get_untracked()
                    .split([',', ' ', '\n'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
            .filter(|v| !v.is_empty()),
        };
        spawn_local(async move {
            let result = api::bootstrap(&auth.token(), &state.org(), &body).await;
            busy.try_set(false);
            match result {
                Ok(data) => {
                    state.bootstrap.try_set(Some(data));
                }
                Err(e) => {
                    if !auth.handle(&e, || {}) {
                        error.try_set(Some(e));
                    }
                }
            }
        });
    });
    if state.bootstrap.get_untracked().is_none() {
        load.run(());
    }
    view! {
        <section data-step="bootstrap" aria-labelledby="step-bootstrap-title" aria-busy=move || busy.get().to_string()>
            <StepHeading step=Step::Bootstrap intro="Set up the role in the customer's AWS account with any one of these: the commands, Terraform, or CloudFormation. Then come back with the role ARN."/>
            <details class="options">
                <summary>"Options: region, organisation-wide roll-out"</summary>
                <form on:submit=move |ev| { ev.prevent_default(); load.run(()); }>
                    <div class="field">
                        <label for="region">"Region (optional)"</label>
                        <input id="region" placeholder="us-east-1" aria-describedby="region-error"
                            prop:value=move || region.get() on:input=move |ev| region.set(event_target_value(&ev))/>
                        <FieldError field="region" error=error.into()/>
                    </div>
                    <div class="field">
                        <label for="organizational_unit_ids">"Organizational unit ids for a StackSet (optional, comma separated)"</label>
                        <input id="organizational_unit_ids" placeholder="ou-ab12-cd34ef56" aria-describedby="organizational_unit_ids-error"
                            prop:value=move || ous.get() on:input=move |ev| ous.set(event_target_value(&ev))/>
                        <FieldError field="organizational_unit_ids" error=error.into()/>
                    </div>
                    <button type="submit" disabled=move || busy.get()>"Render again"</button>
                </form>
            </details>
            <ErrorBanner error=error.into() fields=FIELDS on_retry=load/>
            {move || busy.get().then(|| view! { <p class="progress" role="status">"Rendering the artifacts…"</p> })}
            {move || state.bootstrap.get().map(|data| view! { <BootstrapView data shell=state.shell/> })}
        </section>
        <StepNav auth state can_continue=Signal::derive(move || state.bootstrap.with(Option::is_some))/>
    }
}

#[component]
pub fn BootstrapView(data: BootstrapResponse, shell: RwSignal<Shell>) -> impl IntoView {
    // The external id and role name lead: they are what the operator copies first.
    let lead = vec![
        NamedValue::new("external_id", "External id", data.external_id),
        NamedValue::new("role_name", "Role name", data.role_name),
    ];
    view! { <BundleView bundle=data.bundle shell lead/> }
}
