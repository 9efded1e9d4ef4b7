//! Step 3: paste the role ARN; the proxy assumes the role (retrying while a
//! new role propagates) and checks the trust policy against confused deputies.

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, IdentityResponse, RoleRequest};
use crate::auth::Auth;
use crate::model::{RoleArn, Step};
use crate::ui::{ErrorBanner, FieldError};
use alphaswarm_core::CoreError;
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;

const FIELDS: &[&str] = &["role_arn", "region"];

#[component]
pub fn IdentityStep(auth: Auth, state: WizardState) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let elapsed = RwSignal::new(None::<u32>);
    let validate = Callback::new(move |()| validate(auth, state, error, elapsed));
    view! {
        <IdentityView
            role_arn=state.role_arn
            on_arn=Callback::new(move |v: String| state.set_role_arn(v))
            error=error.into()
            elapsed=elapsed.into()
            identity=state.identity.into()
            on_validate=validate/>
        <StepNav auth state can_continue=Signal::derive(move || state.reachable(Step::ValidatePermissions))/>
    }
}

fn validate(
    auth: Auth,
    state: WizardState,
    error: RwSignal<Option<ApiError>>,
    elapsed: RwSignal<Option<u32>>,
) {
    let arn = state.role_arn.get_untracked().trim().to_owned();
    if let Err(e) = RoleArn::parse(&arn) {
        error.set(Some(ApiError::local(e.to_body())));
        return;
    }
    error.set(None);
    state.identity.set(None);
    let started = js_sys::Date::now();
    elapsed.set(Some(0));
    spawn_local(async move {
        let ticker = Interval::new(250, move || {
            elapsed.try_set(Some(((js_sys::Date::now() - started) / 1000.0) as u32));
        });
        let body = RoleRequest {
            role_arn: &arn,
            region: None,
        };
        let result = api::validate_identity(&auth.token(), &state.org(), &body).await;
        drop(ticker);
        elapsed.try_set(None);
        match result {
            Ok(identity) => {
                state.identity.try_set(Some(identity));
            }
            Err(e) => {
                // After the step-up prompt the same validation runs again.
                if !auth.handle(&e, move || validate(auth, state, error, elapsed)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}

#[component]
pub fn IdentityView(
    role_arn: RwSignal<String>,
    on_arn: Callback<String>,
    error: Signal<Option<ApiError>>,
    /// Seconds since the validation started, while it runs.
    elapsed: Signal<Option<u32>>,
    identity: Signal<Option<IdentityResponse>>,
    on_validate: Callback<()>,
) -> impl IntoView {
    let parsed = move || role_arn.with(|a| RoleArn::parse(a));
    let account = move || parsed().ok().map(|a| a.account_id.as_str().to_owned());
    let busy = move || elapsed.get().is_some();
    view! {
        <section data-step="identity" aria-labelledby="step-identity-title" aria-busy=move || busy().to_string()>
            <StepHeading step=Step::ValidateIdentity intro="Paste the ARN of the role you created. AlphaSwarm assumes it with the external id from step 2 and asks AWS who it is."/>
            <form on:submit=move |ev| { ev.prevent_default(); on_validate.run(()); }>
                <div class="field">
                    <label for="role_arn">"Role ARN"</label>
                    <input id="role_arn" name="role_arn" spellcheck="false" autocomplete="off"
                        placeholder="arn:aws:iam::123456789012:role/alphaswarm-broker-acme"
                        aria-describedby="role_arn-derived role_arn-error"
                        aria-invalid=move || error.with(|e| e.as_ref().is_some_and(|e| e.field() == Some("role_arn"))).to_string()
                        prop:value=move || role_arn.get()
                        on:input=move |ev| on_arn.run(event_target_value(&ev))/>
                    <p id="role_arn-derived" class="derived" aria-live="polite">
                        {move || match (account(), role_arn.with(|a| a.trim().is_empty())) {
                            (Some(id), _) => view! { "Account id (from the ARN): " <code data-derived="account_id">{id}</code> }.into_any(),
                            (None, true) => view! { "The account id is read from the ARN." }.into_any(),
                            (None, false) => view! { <span class="warn-text">{parsed().err().map(|e| e.to_body().message)}</span> }.into_any(),
                        }}
                    </p>
                    <FieldError field="role_arn" error/>
                </div>
                <ErrorBanner error fields=FIELDS on_retry=on_validate/>
                <button type="submit" class="primary" disabled=busy>"Validate identity"</button>
            </form>
            {move || elapsed.get().map(|secs| view! {
                <p class="progress" role="status" data-progress="identity">
                    <span class="spinner" aria-hidden="true"></span>
                    {format!("Assuming the role… {secs} s. A role created moments ago can take a little while to become usable; the proxy keeps retrying.")}
                </p>
            })}
            {move || identity.get().map(|id| view! { <IdentityResult identity=id/> })}
        </section>
    }
}

#[component]
fn IdentityResult(identity: IdentityResponse) -> impl IntoView {
    let deputy = identity.confused_deputy;
    view! {
        <div class="result" data-result="identity">
            <h3>"Assumed identity"</h3>
            <dl class="values">
                <div class="value-row"><dt>"Account id"</dt><dd><code>{identity.account_id}</code></dd></div>
                <div class="value-row"><dt>"Assumed ARN"</dt><dd><code>{identity.assumed_arn}</code></dd></div>
                <div class="value-row"><dt>"Attempts"</dt><dd>{identity.attempts}</dd></div>
            </dl>
            <p class="deputy" data-safe=deputy.safe.to_string()>
                {if deputy.safe {
                    view! { <span class="badge ok">"Confused-deputy check passed"</span> }.into_any()
                } else {
                    view! { <span class="badge missing">"Confused-deputy risk"</span> }.into_any()
                }}
                " " {deputy.message}
            </p>
        </div>
    }
}
