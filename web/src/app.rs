//! The page: header navigation, sign-in gate, and the views.
//!
//! Views are addressed by the URL hash so a reload or a link lands in the
//! same place: `#/orgs`, `#/orgs/<org>`, `#/orgs/<org>/connect/<cloud>`,
//! `#/settings`, `#/settings/connect/<cloud>`, `#/settings/workload-identity`.

use crate::accounts::AccountIntegrations;
use crate::auth::{Auth, Login, StepUp};
use crate::integrations::Integrations;
use crate::org::OrgPicker;
use crate::sandbox::SandboxBanner;
use crate::signal::{BoxedCallback, BoxedSignal, ThenAny, effect};
use crate::steps::{Wizard, WizardState};
use crate::ui::attr;
use crate::workload_identity::WorkloadIdentity;
use alphaswarm_core::{CloudKind, OrgId};
use leptos::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub enum View {
    Orgs,
    Org(OrgId),
    Settings,
    /// The wizard, opened on this cloud.
    Wizard(OrgId, CloudKind),
    WorkloadIdentity,
}

impl View {
    pub fn from_hash(hash: &str) -> View {
        let parts: Vec<&str> = hash
            .trim_start_matches('#')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        match parts.as_slice() {
            ["settings"] => View::Settings,
            ["settings", "workload-identity"] => View::WorkloadIdentity,
            ["settings", "connect", cloud] => View::Wizard(OrgId::platform(), cloud_or_aws(cloud)),
            ["orgs", org] => OrgId::parse(org).map(View::Org).unwrap_or(View::Orgs),
            ["orgs", org, "connect", cloud] => OrgId::parse(org)
                .map(|org| View::Wizard(org, cloud_or_aws(cloud)))
                .unwrap_or(View::Orgs),
            _ => View::Orgs,
        }
    }

    pub fn to_hash(&self) -> String {
        match self {
            View::Orgs => "#/orgs".to_owned(),
            View::Settings => "#/settings".to_owned(),
            View::WorkloadIdentity => "#/settings/workload-identity".to_owned(),
            View::Org(org) if org.is_platform() => "#/settings".to_owned(),
            View::Org(org) => format!("#/orgs/{}", org.as_str()),
            View::Wizard(org, cloud) if org.is_platform() => {
                format!("#/settings/connect/{}", cloud.as_str())
            }
            View::Wizard(org, cloud) => {
                format!("#/orgs/{}/connect/{}", org.as_str(), cloud.as_str())
            }
        }
    }
}

fn cloud_or_aws(segment: &str) -> CloudKind {
    segment.parse().unwrap_or(CloudKind::Aws)
}

#[component]
pub fn App() -> impl IntoView {
    let auth = Auth::new();
    crate::sandbox::provide();
    let hash = window().location().hash().unwrap_or_default();
    let view = BoxedSignal::new(View::from_hash(&hash));
    effect(move || {
        let h = view.with(View::to_hash);
        if window().location().hash().unwrap_or_default() != h {
            let _ = window().location().set_hash(&h);
        }
    });
    let open = move |v: View| {
        // The admin tenant lives under Settings, whichever way it was reached.
        let v = match v {
            View::Org(org) if org.is_platform() => View::Settings,
            other => other,
        };
        view.set(v);
    };
    // A memo, so a new token (after the step-up) does not rebuild the views.
    let signed_in = Memo::new(move |_| auth.signed_in());
    let content = move || {
        if !signed_in.get() {
            return view! { <Login auth/> }.into_any();
        }
        match view.get() {
            View::Orgs => view! {
                <OrgPicker auth on_pick=BoxedCallback::new(move |org| open(View::Org(org)))/>
            }.into_any(),
            View::Org(org) => {
                let title = format!("Organisation {}", org.as_str());
                let connect_org = org.clone();
                view! {
                    <section class="panel" aria-labelledby="org-title" data-view="org">
                        <p><button type="button" class="link" on:click=move |_| view.set(View::Orgs)>"← Organisations"</button></p>
                        <h1 id="org-title">{title}</h1>
                        <h2>"Cloud accounts"</h2>
                        <Integrations auth org=org.clone() on_connect=BoxedCallback::new(move |()| open(View::Wizard(connect_org.clone(), CloudKind::Aws)))/>
                        <AccountIntegrations auth org/>
                    </section>
                }.into_any()
            }
            View::Settings => view! {
                <section class="panel" aria-labelledby="settings-title" data-view="settings">
                    <h1 id="settings-title">"Settings"</h1>
                    <h2>"Cloud connections"</h2>
                    <p class="muted">"AlphaSwarm's own cloud accounts (the admin tenant). Mode: Guided (federated)."</p>
                    <Integrations auth org=OrgId::platform() on_connect=BoxedCallback::new(move |()| open(View::Wizard(OrgId::platform(), CloudKind::Aws)))/>
                    <h2>"Kubernetes"</h2>
                    <p><button type="button" class="link" on:click=move |_| view.set(View::WorkloadIdentity)>"Workload identity: wire a workload, or find why a pod gets no credential"</button></p>
                </section>
            }.into_any(),
            View::WorkloadIdentity => view! {
                <p><button type="button" class="link" on:click=move |_| view.set(View::Settings)>"← Settings"</button></p>
                <WorkloadIdentity auth/>
            }.into_any(),
            View::Wizard(org, cloud) => {
                let back = if org.is_platform() { View::Settings } else { View::Org(org.clone()) };
                let state = WizardState::new(org.clone(), cloud);
                // The hash follows the chosen cloud (without rebuilding the
                // wizard), so a reload or a shared link opens it again.
                effect(move || {
                    let h = View::Wizard(org.clone(), state.cloud.get()).to_hash();
                    let _ = window().location().set_hash(&h);
                });
                view! { <Wizard auth state on_done=BoxedCallback::new(move |()| view.set(back.clone()))/> }.into_any()
            }
        }
    };
    let nav_button = move |label: &'static str, target: View, is_current: fn(&View) -> bool| {
        view! {
            <button type="button" class="nav-link"
                {..attr("aria-current", move || view.with(is_current).then_some("page"))}
                on:click=move |_| view.set(target.clone())>{label}</button>
        }
    };
    view! {
        <a class="skip-link" {..attr("href", "#main")}>"Skip to content"</a>
        <header class="top">
            <span class="brand">"AlphaSwarm" <span class="muted">" · Cloud onboarding"</span></span>
            {move || signed_in.get().then_any(|| view! {
                <nav aria-label="Main">
                    {nav_button("Organisations", View::Orgs, |v| matches!(v, View::Orgs | View::Org(_)) || matches!(v, View::Wizard(o, _) if !o.is_platform()))}
                    {nav_button("Settings", View::Settings, |v| matches!(v, View::Settings | View::WorkloadIdentity) || matches!(v, View::Wizard(o, _) if o.is_platform()))}
                    <button type="button" class="nav-link" on:click=move |_| auth.sign_out()>"Sign out"</button>
                </nav>
            })}
        </header>
        <SandboxBanner/>
        <main id="main" tabindex="-1">
            {move || auth.step_up_wanted.get().then_any(|| view! { <StepUp auth/> })}
            // Hidden, not unmounted, during the step-up prompt: the action it
            // resumes still owns its signals.
            <div {..attr("hidden", move || auth.step_up_wanted.get())}>{content}</div>
        </main>
    }
}
