//! The organisations page: every organisation with connections (the
//! proxy's overview), searchable and one click from its page, and an org id
//! box validated as you type by the core for one that has none yet.

use crate::api::{self, ApiError, OrgSummary};
use crate::auth::Auth;
use crate::integrations::kind_label;
use crate::signal::{BoxedCallback, BoxedSignal, CollectAny, ThenAny};
use crate::ui::{ErrorBanner, FieldError, field_error};
use alphaswarm_core::OrgId;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn OrgPicker(auth: Auth, on_pick: BoxedCallback<OrgId>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let parsed = move || text.with(|t| OrgId::parse(t.trim()));
    // Only complain once something was typed.
    let error = Signal::derive(move || {
        if text.with(|t| t.trim().is_empty()) {
            None
        } else {
            parsed()
                .err()
                .map(|e| field_error("org_id", "Organisation id", &e))
        }
    });
    let submit = move || {
        if let Ok(org) = parsed() {
            on_pick.run(org);
        }
    };
    view! {
        <section class="panel" aria-labelledby="orgs-title" data-view="orgs">
            <h1 id="orgs-title">"Organisations"</h1>
            <Overview auth on_pick/>
            <h2 class="small-heading">"Another organisation"</h2>
            <form on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <div class="field">
                    <label for="org_id">"Organisation id"</label>
                    <div class="inline">
                        <input id="org_id" name="org_id" spellcheck="false" autocomplete="off" placeholder="acme-corp"
                            aria-describedby="org_id-help org_id-error"
                            aria-invalid=move || error.with(Option::is_some).to_string()
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))/>
                        <button type="submit" class="primary" disabled=move || parsed().is_err()>"Open"</button>
                    </div>
                    <p id="org_id-help" class="muted small">"Lowercase letters, digits, - and _. AlphaSwarm's own accounts are under Settings → Cloud connections."</p>
                    <FieldError field="org_id" error/>
                </div>
            </form>
        </section>
    }
}

/// The organisations that have connections, filtered by what is typed
/// (organisation id, cloud or status).
#[component]
fn Overview(auth: Auth, on_pick: BoxedCallback<OrgId>) -> impl IntoView {
    let orgs = BoxedSignal::new(None::<Vec<OrgSummary>>);
    let error = BoxedSignal::new(None::<ApiError>);
    let search = RwSignal::new(String::new());
    let load = BoxedCallback::new(move |()| load(auth, orgs, error));
    load.run(());
    let shown = move || {
        let needle = search.with(|s| s.trim().to_ascii_lowercase());
        orgs.get().map(|all| {
            all.into_iter()
                .filter(|o| {
                    needle.is_empty()
                        || o.org_id.contains(&needle)
                        || o.connections.iter().any(|c| {
                            kind_label(&c.kind).to_ascii_lowercase().contains(&needle)
                                || c.status.contains(&needle)
                        })
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <ErrorBanner error=error.into() fields=&[] on_retry=load/>
        {move || match shown() {
            None => view! { <p class="progress" role="status">"Loading organisations…"</p> }.into_any(),
            Some(_) if orgs.with(|o| o.as_ref().is_some_and(Vec::is_empty)) => view! {
                <p class="muted" data-empty="organisations">"No organisation has a connection yet. Open one by its id below."</p>
            }.into_any(),
            Some(list) => view! {
                <div class="field">
                    <label for="org_search">"Search"</label>
                    <input id="org_search" type="search" spellcheck="false" autocomplete="off"
                        placeholder="Organisation, cloud or status"
                        prop:value=move || search.get()
                        on:input=move |ev| search.set(event_target_value(&ev))/>
                </div>
                <ul class="org-list" aria-label="Organisations with connections">
                    {list.is_empty().then_any(|| view! { <li class="muted">"No organisation matches."</li> })}
                    {list.into_iter().map(|o| view! { <OrgRow org=o on_pick/> }).collect_any()}
                </ul>
            }.into_any(),
        }}
    }
}

#[component]
fn OrgRow(org: OrgSummary, on_pick: BoxedCallback<OrgId>) -> impl IntoView {
    let id = OrgId::parse(&org.org_id).ok();
    let checked = match &org.last_health_at {
        Some(at) => format!("Last check {at}"),
        None => "Never checked".to_owned(),
    };
    view! {
        <li class="org-row" data-org=org.org_id.clone()>
            <button type="button" class="link org-open" disabled=id.is_none()
                on:click=move |_| { if let Some(id) = id.clone() { on_pick.run(id) } }>{org.org_id.clone()}</button>
            <span class="org-connections">
                {org.connections.into_iter().map(|c| view! {
                    <span class=format!("badge status-{}", c.status) data-kind=c.kind.clone()>
                        {format!("{} · {}", kind_label(&c.kind), c.status)}
                    </span>
                }).collect_any()}
            </span>
            <span class="muted small">{checked}</span>
        </li>
    }
}

fn load(
    auth: Auth,
    orgs: BoxedSignal<Option<Vec<OrgSummary>>>,
    error: BoxedSignal<Option<ApiError>>,
) {
    error.set(None);
    spawn_local(async move {
        match api::organisations(&auth.token()).await {
            Ok(r) => {
                orgs.try_set(Some(r.organisations));
            }
            Err(e) => {
                if !auth.handle(&e, move || load(auth, orgs, error)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}
