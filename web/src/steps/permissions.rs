//! Step 4: the baseline actions, each granted (green) or "Missing required"
//! (red) with the fix: the least-privilege policy of step 2, put again on
//! the role. When the role may not even simulate its policies (the proxy's
//! `simulate_denied`), the same fix is shown under the error.

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, PermissionsResponse};
use crate::auth::Auth;
use crate::model::{RoleArn, Step};
use crate::ui::{CopyButton, DownloadButton, ErrorBanner};
use alphaswarm_core::aws::{
    BASELINE_POLICY_FILE, baseline_policy_json, put_baseline_policy_command,
};
use alphaswarm_core::shell::Commands;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The proxy's code for a role that may not call iam:SimulatePrincipalPolicy.
const SIMULATE_DENIED: &str = "simulate_denied";

#[component]
pub fn PermissionsStep(auth: Auth, state: WizardState) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let check = Callback::new(move |()| check(auth, state, error, busy));
    if state.permissions.get_untracked().is_none() {
        check.run(());
    }
    // The fix targets the role that was checked (its name from the ARN),
    // which need not be the name step 2 suggested.
    let role_name = move || {
        state.role_arn.with(|arn| {
            RoleArn::parse(arn.trim())
                .map(|a| a.name.as_str().to_owned())
                .unwrap_or_default()
        })
    };
    view! {
        <section data-step="permissions" aria-labelledby="step-permissions-title" aria-busy=move || busy.get().to_string()>
            <StepHeading step=Step::ValidatePermissions intro="AlphaSwarm simulates the role's policies for the baseline actions it needs. Nothing is changed in the account."/>
            <ErrorBanner error=error.into() fields=&[] on_retry=check/>
            {move || error.with(|e| e.as_ref().is_some_and(|e| e.code() == SIMULATE_DENIED))
                .then(|| view! { <Fix role_name=role_name()/> })}
            {move || busy.get().then(|| view! { <p class="progress" role="status"><span class="spinner" aria-hidden="true"></span>"Simulating the role's policies…"</p> })}
            {move || state.permissions.get().map(|result| view! { <PermissionsView result role_name=role_name()/> })}
            <button type="button" on:click=move |_| check.run(()) disabled=move || busy.get()>"Check again"</button>
        </section>
        <StepNav auth state can_continue=Signal::derive(move || state.reachable(Step::EnumerateResources))/>
    }
}

fn check(auth: Auth, state: WizardState, error: RwSignal<Option<ApiError>>, busy: RwSignal<bool>) {
    busy.set(true);
    error.set(None);
    let arn = state.role_arn.get_untracked().trim().to_owned();
    spawn_local(async move {
        let result = api::validate_permissions(&auth.token(), &state.org(), &arn).await;
        busy.try_set(false);
        match result {
            Ok(p) => {
                state.permissions.try_set(Some(p));
            }
            Err(e) => {
                if !auth.handle(&e, move || check(auth, state, error, busy)) {
                    // The last check failed: an earlier result no longer holds.
                    state.permissions.try_set(None);
                    error.try_set(Some(e));
                }
            }
        }
    });
}

#[component]
pub fn PermissionsView(
    result: PermissionsResponse,
    #[prop(into)] role_name: String,
) -> impl IntoView {
    let missing = result.missing.clone();
    view! {
        <ul class="checks" aria-label="Baseline actions">
            {result.results.into_iter().map(|r| view! {
                <li data-action=r.action.clone() data-granted=r.granted.to_string()>
                    <code>{r.action.clone()}</code>
                    {if r.granted {
                        view! { <span class="badge ok">"Granted"</span> }.into_any()
                    } else {
                        view! { <span class="badge missing">"Missing required"</span> }.into_any()
                    }}
                    <span class="muted small">{r.decision}</span>
                </li>
            }).collect_view()}
        </ul>
        {(!missing.is_empty()).then(|| view! { <Fix role_name/> })}
    }
}

/// The fix: step 2's least-privilege policy (the whole baseline, from the
/// core) and the command that puts it on the checked role. The whole policy,
/// not only what is missing: put-role-policy replaces a policy of the same
/// name, so a policy of the missing actions alone would drop the others.
#[component]
fn Fix(role_name: String) -> impl IntoView {
    let policy = baseline_policy_json();
    let commands = Commands::render(&[put_baseline_policy_command(&role_name)]).unwrap_or_default();
    view! {
        <div class="fix" data-fix="permissions">
            <h3>"Fix"</h3>
            <p>"Put the least-privilege policy from step 2 on the role (it replaces an older policy of the same name), then check again."</p>
            <figure class="artifact file">
                <figcaption id="fix-policy"><code>{BASELINE_POLICY_FILE}</code></figcaption>
                <pre tabindex="0" aria-labelledby="fix-policy"><code>{policy.clone()}</code></pre>
                <div class="actions">
                    <CopyButton text=policy.clone() what="the fix policy"/>
                    <DownloadButton file_name=BASELINE_POLICY_FILE media_type="application/json" contents=policy/>
                </div>
            </figure>
            {commands.bash.into_iter().map(|c| view! {
                <div class="artifact"><pre tabindex="0"><code>{c.clone()}</code></pre><CopyButton text=c what="the fix command (bash)"/></div>
            }).collect_view()}
            {commands.powershell.into_iter().map(|c| view! {
                <div class="artifact"><pre tabindex="0"><code>{c.clone()}</code></pre><CopyButton text=c what="the fix command (PowerShell)"/></div>
            }).collect_view()}
        </div>
    }
}
