//! Step 5: save the connection (federated metadata only).

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, RoleRequest};
use crate::auth::Auth;
use crate::integrations::IntegrationCard;
use crate::model::{RoleArn, Step};
use crate::ui::ErrorBanner;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn ConnectStep(auth: Auth, state: WizardState, on_done: Callback<()>) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let save = Callback::new(move |()| save(auth, state, error, busy));
    let arn = state.role_arn.get_untracked().trim().to_owned();
    let account = RoleArn::parse(&arn)
        .map(|a| a.account_id.as_str().to_owned())
        .unwrap_or_default();
    let regions = state
        .regions
        .with_untracked(|r| r.as_ref().map_or(0, |r| r.regions.len()));
    view! {
        <section data-step="connect" aria-labelledby="step-connect-title">
            <StepHeading step=Step::Connect intro="Saving stores only the role ARN, the external id, the region and the account id. No key or secret is stored."/>
            <dl class="values summary">
                <div class="value-row"><dt>"Organisation"</dt><dd><code>{state.org().as_str().to_owned()}</code></dd></div>
                <div class="value-row"><dt>"Account id"</dt><dd><code>{account}</code></dd></div>
                <div class="value-row"><dt>"Role ARN"</dt><dd><code>{arn}</code></dd></div>
                <div class="value-row"><dt>"Regions visible"</dt><dd>{regions}</dd></div>
            </dl>
            <ErrorBanner error=error.into() fields=&[] on_retry=save/>
            {move || match state.connected.get() {
                None => view! {
                    <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| save.run(())>
                        {move || if busy.get() { "Saving…" } else { "Save connection" }}
                    </button>
                }.into_any(),
                Some(integration) => view! {
                    <div class="banner ok" role="status" data-result="connected">"Connected. The connection is now in the integrations list."</div>
                    <IntegrationCard integration/>
                    <button type="button" class="primary" on:click=move |_| on_done.run(())>"Go to the integrations list"</button>
                }.into_any(),
            }}
        </section>
        <StepNav auth state can_continue=Signal::derive(|| false)/>
    }
}

fn save(auth: Auth, state: WizardState, error: RwSignal<Option<ApiError>>, busy: RwSignal<bool>) {
    busy.set(true);
    error.set(None);
    let arn = state.role_arn.get_untracked().trim().to_owned();
    spawn_local(async move {
        let body = RoleRequest {
            role_arn: &arn,
            region: None,
        };
        let result = api::connect(&auth.token(), &state.org(), &body).await;
        busy.try_set(false);
        match result {
            Ok(r) => {
                state.connected.try_set(Some(r.integration));
            }
            Err(e) => {
                if !auth.handle(&e, move || save(auth, state, error, busy)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}
