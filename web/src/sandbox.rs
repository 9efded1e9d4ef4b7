//! Sandbox mode: the proxy simulates every cloud on its own machine
//! (`GET /healthz` says `sandbox: true`). The page then carries a banner
//! that never goes away, and step 2 offers "Apply in the sandbox", which
//! plays the customer's administrator: the proxy applies what it rendered
//! to the simulated cloud (optionally broken on purpose) and answers the
//! values the next steps need.

use crate::api::{self, ApiError};
use crate::auth::Auth;
use crate::model::Step;
use crate::signal::{BoxedSignal, BoxedValue, CollectAny, ThenAny};
use crate::steps::{CloudSlot, StepStatus};
use crate::ui::{ErrorBanner, attr};
use alphaswarm_core::{CloudKind, OrgId};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

/// Whether the clouds are simulated; provided by the app as context.
#[derive(Clone, Copy)]
pub struct SandboxMode(pub RwSignal<bool>);

/// Asks the proxy once whether it runs in sandbox mode.
pub fn provide() -> SandboxMode {
    let mode = SandboxMode(RwSignal::new(false));
    provide_context(mode);
    spawn_local(async move {
        if let Ok(on) = api::sandbox_mode().await {
            mode.0.try_set(on);
        }
    });
    mode
}

#[component]
pub fn SandboxBanner() -> impl IntoView {
    let on = expect_context::<SandboxMode>().0;
    move || {
        on.get().then(|| {
            view! {
                <div class="banner sandbox" role="note" data-sandbox="on">
                    <strong>"Sandbox — clouds are simulated on this machine"</strong>
                    " Nothing you connect here reaches a real cloud account."
                </div>
            }
        })
    }
}

/// The ways a cloud's set-up can be broken on purpose, with their labels.
fn breakages(cloud: CloudKind) -> &'static [(&'static str, &'static str)] {
    match cloud {
        CloudKind::Aws => &[
            ("", "As rendered"),
            (
                "wrong_external_id",
                "Broken: the trust policy has another organisation's external id",
            ),
            ("missing_role", "Broken: the role is missing"),
            (
                "missing_permissions",
                "Broken: the role has no permissions policy",
            ),
        ],
        CloudKind::Cloudflare => &[
            ("", "As rendered"),
            ("revoked_token", "Broken: the token is revoked"),
        ],
        _ => &[("", "As rendered")],
    }
}

/// Step 2's "Apply in the sandbox" (only in sandbox mode, once step 2 has
/// rendered). On success the next steps' inputs are filled in.
#[component]
pub fn SandboxApply(auth: Auth, org: OrgId, for_slot: CloudSlot) -> impl IntoView {
    let slot = for_slot;
    // A step mounted without the app (the component tests) is not in sandbox mode.
    let on = use_context::<SandboxMode>().map_or_else(|| RwSignal::new(false), |m| m.0);
    let cloud = slot.wizard.kind();
    let how = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = BoxedSignal::new(None::<ApiError>);
    let applied = BoxedSignal::new(Vec::<String>::new());
    let wizard = slot.wizard.clone();
    let rendered = move || wizard.status(Step::Bootstrap) == StepStatus::Passed;
    let apply = move || {
        let request = match slot.wizard.body(Step::Bootstrap) {
            Ok(request) => request,
            Err(e) => return error.set(Some(e)),
        };
        let mut body = json!({ "request": request });
        let chosen = how.get_untracked();
        if !chosen.is_empty() {
            body["break"] = json!(chosen);
        }
        let (org, slot) = (org.clone(), slot.clone());
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let answer = api::sandbox_apply(&auth.token(), &org, cloud, &body).await;
            busy.try_set(false);
            match answer
                .and_then(|text| crate::json::value(&text).map_err(|e| api::unexpected(200, &e)))
            {
                Ok(v) => {
                    slot.wizard.sandbox_applied(&v["fields"]);
                    let done = v["applied"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    applied.try_set(done);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    let apply = BoxedValue::new(apply);
    move || {
        (on.get() && rendered()).then(|| {
            view! {
                <div class="sandbox-apply" data-sandbox-apply=cloud.as_str()>
                    <h3>"Try it in the sandbox"</h3>
                    <p class="muted">"Play the customer's administrator: apply the artifacts above to the simulated cloud, then go on to the next step."</p>
                    <div class="field">
                        <label for="sandbox-break">"How to apply"</label>
                        <select id="sandbox-break" on:change=move |ev| how.set(event_target_value(&ev))>
                            {breakages(cloud).iter().map(|(value, label)| view! {
                                <option value={*value} {..attr("selected", move || how.get() == *value)}>{*label}</option>
                            }).collect_any()}
                        </select>
                    </div>
                    <button type="button" class="primary" data-action="sandbox-apply" disabled=move || busy.get()
                        on:click=move |_| apply.with_value(|a| a())>
                        {move || if busy.get() { "Applying…" } else { "Apply in the sandbox" }}
                    </button>
                    <ErrorBanner error=Signal::from(error) fields=&[]/>
                    {move || (!applied.with(Vec::is_empty)).then_any(|| view! {
                        <div class="banner ok" role="status" data-result="sandbox-applied">
                            <p>"Applied in the sandbox:"</p>
                            <ul>{applied.get().into_iter().map(|a| view! { <li>{a}</li> }).collect_any()}</ul>
                        </div>
                    })}
                </div>
            }
        })
    }
}
