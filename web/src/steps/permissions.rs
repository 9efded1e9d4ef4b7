//! Step 4: the baseline actions, each granted (green) or "Missing required"
//! (red) with the fix: a policy granting exactly the missing actions.

use super::{StepHeading, StepNav, WizardState};
use crate::api::{self, ApiError, PermissionsResponse};
use crate::auth::Auth;
use crate::model::{RoleArn, Step};
use crate::ui::{CopyButton, DownloadButton, ErrorBanner};
use alphaswarm_core::shell::{Command, Commands};
use leptos::prelude::*;
use leptos::task::spawn_local;

const FIX_POLICY_FILE: &str = "alphaswarm_baseline_policy.json";
const FIX_POLICY_NAME: &str = "alphaswarm-baseline";

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
        {(!missing.is_empty()).then(|| view! { <Fix missing role_name/> })}
    }
}

/// The fix for missing actions: an inline policy with exactly those actions
/// and the command that attaches it (rendered and quoted by the core).
#[component]
fn Fix(missing: Vec<String>, role_name: String) -> impl IntoView {
    // Written out (not a serde_json::Value) to keep IAM's usual key order.
    let actions = missing
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",\n        ");
    let policy = format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Sid\": \"AlphaSwarmBaseline\",\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        {actions}\n      ],\n      \"Resource\": \"*\"\n    }}\n  ]\n}}\n"
    );
    let command = Command::new(&["aws", "iam", "put-role-policy"])
        .opt("--role-name", role_name)
        .opt("--policy-name", FIX_POLICY_NAME)
        .opt("--policy-document", format!("file://{FIX_POLICY_FILE}"));
    let commands = Commands::render(&[command]).unwrap_or_default();
    view! {
        <div class="fix" data-fix="permissions">
            <h3>"Fix"</h3>
            <p>"Add this inline policy to the role, then check again."</p>
            <figure class="artifact file">
                <figcaption id="fix-policy"><code>{FIX_POLICY_FILE}</code></figcaption>
                <pre tabindex="0" aria-labelledby="fix-policy"><code>{policy.clone()}</code></pre>
                <div class="actions">
                    <CopyButton text=policy.clone() what="the fix policy"/>
                    <DownloadButton file_name=FIX_POLICY_FILE media_type="application/json" contents=policy/>
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
