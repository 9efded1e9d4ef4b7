//! An organisation's integrations (masked metadata, status and health) with
//! a Re-check per connection, and the disconnect flow: confirm, remove,
//! then the vendor-side clean-up list.

use crate::api::{self, ApiError, DisconnectResponse, Integration, Rotation};
use crate::auth::Auth;
use crate::clouds::{CloudCard, card};
use crate::signal::{BoxedCallback, BoxedSignal, BoxedValue, CollectAny, MapAny, ThenAny, effect};
use crate::ui::{ErrorBanner, ErrorText, attr};
use alphaswarm_core::accounts::AccountKind;
use alphaswarm_core::{CloudKind, ErrorBody, OrgId};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Which of the org's connections a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listing {
    /// AWS, Azure, GCP, Cloudflare (the wizard's).
    #[default]
    Clouds,
    /// HuggingFace and Docker Hub.
    Accounts,
}

impl Listing {
    fn shows(self, kind: &str) -> bool {
        let account = AccountKind::from_segment(kind).is_some();
        account == (self == Listing::Accounts)
    }
}

#[component]
pub fn Integrations(
    auth: Auth,
    org: OrgId,
    /// The "Connect a cloud account" button (absent: no button).
    #[prop(optional)]
    on_connect: Option<BoxedCallback<()>>,
    #[prop(optional)] listing: Listing,
    /// Notified when the list must be read again (a connection was added).
    #[prop(optional)]
    reload: Option<Trigger>,
) -> impl IntoView {
    let org = BoxedValue::new(org);
    let list = BoxedSignal::new(None::<Vec<Integration>>);
    let error = BoxedSignal::new(None::<ApiError>);
    let cleanup = BoxedSignal::new(None::<DisconnectResponse>);
    let load = BoxedCallback::new(move |()| load(auth, org, listing, list, error));
    effect(move || {
        if let Some(r) = reload {
            r.track();
        }
        load.run(());
    });
    let disconnect = BoxedCallback::new(move |cloud: CloudKind| {
        disconnect(auth, org, cloud, listing, list, error, cleanup)
    });
    let (empty, label, empty_name) = match listing {
        Listing::Clouds => (
            "No cloud account is connected yet.",
            "Connected cloud accounts",
            "integrations",
        ),
        Listing::Accounts => (
            "No HuggingFace or Docker Hub account is connected yet.",
            "Connected accounts",
            "accounts",
        ),
    };
    view! {
        <div class="integrations" data-view="integrations">
            <ErrorBanner error=error.into() fields=&[] on_retry=load/>
            {move || cleanup.get().map_any(|c| view! { <Cleanup result=c/> })}
            {move || match list.get() {
                None => view! { <p class="progress" role="status">"Loading integrations…"</p> }.into_any(),
                Some(items) if items.is_empty() => view! {
                    <p class="muted" data-empty=empty_name>{empty}</p>
                }.into_any(),
                Some(items) => view! {
                    <ul class="cards" aria-label=label>
                        {items.into_iter().map(|integration| {
                            let cloud = integration.kind.parse::<CloudKind>().ok();
                            view! {
                                <li>
                                    <IntegrationRow auth org integration/>
                                    {cloud.map_any(|cloud| view! {
                                        <DisconnectButton card=card(cloud) on_confirm=BoxedCallback::new(move |()| disconnect.run(cloud))/>
                                    })}
                                </li>
                            }
                        }).collect_any()}
                    </ul>
                }.into_any(),
            }}
            {on_connect.map_any(|c| view! {
                <button type="button" class="primary" on:click=move |_| c.run(())>"Connect a cloud account"</button>
            })}
        </div>
    }
}

fn load(
    auth: Auth,
    org: BoxedValue<OrgId>,
    listing: Listing,
    list: BoxedSignal<Option<Vec<Integration>>>,
    error: BoxedSignal<Option<ApiError>>,
) {
    error.set(None);
    spawn_local(async move {
        let result = api::integrations(&auth.token(), &org.get_value()).await;
        match result {
            Ok(r) => {
                let mine = r
                    .integrations
                    .into_iter()
                    .filter(|i| listing.shows(&i.kind));
                list.try_set(Some(mine.collect()));
            }
            Err(e) => {
                if !auth.handle(&e, move || load(auth, org, listing, list, error)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}

fn disconnect(
    auth: Auth,
    org: BoxedValue<OrgId>,
    cloud: CloudKind,
    listing: Listing,
    list: BoxedSignal<Option<Vec<Integration>>>,
    error: BoxedSignal<Option<ApiError>>,
    cleanup: BoxedSignal<Option<DisconnectResponse>>,
) {
    let run = move || {
        error.set(None);
        spawn_local(async move {
            match api::disconnect(&auth.token(), &org.get_value(), cloud).await {
                Ok(r) => {
                    cleanup.try_set(Some(r));
                    load(auth, org, listing, list, error);
                }
                Err(e) => {
                    if !auth.handle(&e, move || {
                        disconnect(auth, org, cloud, listing, list, error, cleanup)
                    }) {
                        error.try_set(Some(e));
                    }
                }
            }
        });
    };
    auth.with_step_up(run);
}

/// One connection: its card, which a Re-check replaces with the record the
/// check answered (through the step-up prompt when it is not fresh).
#[component]
fn IntegrationRow(auth: Auth, org: BoxedValue<OrgId>, integration: Integration) -> impl IntoView {
    let kind = BoxedValue::new(integration.kind.clone());
    let label = kind_label(&integration.kind);
    let current = BoxedSignal::new(integration);
    let busy = RwSignal::new(false);
    let error = BoxedSignal::new(None::<ApiError>);
    let recheck = move || recheck(auth, org, kind, current, busy, error);
    view! {
        {move || view! { <IntegrationCard integration=current.get()/> }}
        <div class="actions" aria-busy=move || busy.get().to_string()>
            <button type="button" disabled=move || busy.get()
                on:click=move |_| { error.set(None); auth.with_step_up(recheck); }>
                "Re-check"<span class="visually-hidden">{format!(" {label}")}</span>
            </button>
            {move || busy.get().then_any(|| view! { <span class="progress" role="status">"Checking…"</span> })}
        </div>
        <ErrorBanner error=error.into() fields=&[]/>
    }
}

fn recheck(
    auth: Auth,
    org: BoxedValue<OrgId>,
    kind: BoxedValue<String>,
    current: BoxedSignal<Integration>,
    busy: RwSignal<bool>,
    error: BoxedSignal<Option<ApiError>>,
) {
    busy.set(true);
    spawn_local(async move {
        let result = api::check_health(&auth.token(), &org.get_value(), &kind.get_value()).await;
        busy.try_set(false);
        match result {
            Ok(r) => {
                current.try_set(r.integration);
            }
            Err(e) => {
                if !auth.handle(&e, move || recheck(auth, org, kind, current, busy, error)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}

#[component]
pub fn IntegrationCard(integration: Integration) -> impl IntoView {
    let metadata = integration.metadata.clone();
    let namespace = integration.namespace.clone();
    view! {
        <article class="card" data-kind=integration.kind.clone() aria-label=format!("{} integration", kind_label(&integration.kind))>
            <h3>{kind_label(&integration.kind)}</h3>
            <Health integration=integration.clone()/>
            <dl class="values">
                {namespace.map_any(|n| view! {
                    <div class="value-row" data-meta="namespace"><dt>"Namespace"</dt><dd><code>{n}</code></dd></div>
                })}
                {metadata.into_iter().map(|(k, v)| view! {
                    <div class="value-row" data-meta=k.clone()><dt>{meta_label(&k)}</dt><dd><code>{meta_value(&k, &v)}</code></dd></div>
                }).collect_any()}
                <div class="value-row"><dt>"Credential key"</dt><dd><code>{integration.credential_key}</code></dd></div>
                <div class="value-row"><dt>"Connected"</dt><dd>{plain(&integration.connected_at)}</dd></div>
            </dl>
            {integration.rotation.map_any(|rotation| view! { <RotationNote rotation/> })}
        </article>
    }
}

/// The rotation reminder: green, amber 14 days before the due date, red
/// after it (the core computes it, with "now" the proxy's).
#[component]
pub fn RotationNote(rotation: Rotation) -> impl IntoView {
    let label = match rotation.state.as_str() {
        "ok" => "Rotation on track",
        "due_soon" => "Rotate soon",
        _ => "Rotation overdue",
    };
    view! {
        <p class="rotation" data-rotation=rotation.state.clone()>
            <span class=format!("badge rotation-{}", rotation.state)>{label}</span>" "{rotation.message}
        </p>
    }
}

/// The health badge (never checked / healthy / needs attention /
/// unhealthy), when it was checked, and the last problem in the proxy's
/// operator wording (its message and what to do), never the bare code.
#[component]
fn Health(integration: Integration) -> impl IntoView {
    let checked_at = match &integration.last_health_at {
        serde_json::Value::Null => None,
        at => Some(plain(at)),
    };
    let status = checked_at
        .as_ref()
        .and(integration.last_health_status.clone())
        .unwrap_or_else(|| "never".to_owned());
    let label = match status.as_str() {
        "never" => "Never checked",
        "healthy" => "Healthy",
        "degraded" => "Needs attention",
        "failed" => "Unhealthy",
        _ => "Unknown",
    };
    // The proxy's wording, shown as every other error is.
    let problem = (status != "healthy" && status != "never").then(|| {
        ApiError::local(ErrorBody {
            code: integration.error.clone().unwrap_or_default(),
            message: integration.error_message.clone().unwrap_or_default(),
            field: None,
            hint: integration.error_hint.clone().unwrap_or_default(),
        })
    });
    view! {
        <div class="health" data-health=status.clone()>
            <span class=format!("badge health-{status}")>{label}</span>
            {checked_at.map_any(|at| view! { <span class="muted small">" Checked " <time {..attr("datetime", at.clone())}>{at.clone()}</time></span> })}
            {problem.map_any(|error| view! { <ErrorText error/> })}
        </div>
    }
}

#[component]
fn DisconnectButton(card: &'static CloudCard, on_confirm: BoxedCallback<()>) -> impl IntoView {
    let kind = card.kind.as_str();
    let asking = RwSignal::new(false);
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    effect(move || {
        if let Some(b) = confirm_ref.get() {
            let _ = b.focus();
        }
    });
    view! {
        {move || if asking.get() {
            view! {
                <div class="confirm" role="alertdialog" aria-labelledby=format!("confirm-title-{kind}") aria-describedby=format!("confirm-text-{kind}")>
                    <p id=format!("confirm-title-{kind}")><strong>{format!("Disconnect this {}?", card.account)}</strong></p>
                    <p id=format!("confirm-text-{kind}")>{card.forgets}</p>
                    <div class="actions">
                        <button type="button" class="danger" node_ref=confirm_ref
                            on:click=move |_| { asking.set(false); on_confirm.run(()); }>"Yes, disconnect"</button>
                        <button type="button" on:click=move |_| asking.set(false)>"Cancel"</button>
                    </div>
                </div>
            }.into_any()
        } else {
            view! { <button type="button" class="danger" on:click=move |_| asking.set(true)>"Disconnect"</button> }.into_any()
        }}
    }
}

#[component]
fn Cleanup(result: DisconnectResponse) -> impl IntoView {
    view! {
        <div class="banner warn" role="status" data-result="disconnected">
            <p><strong>{if result.removed { "Disconnected." } else { "There was nothing to disconnect." }}</strong>
            " AlphaSwarm does not delete anything in the customer's cloud; these clean-ups are still yours to do:"</p>
            <ul class="cleanup">{result.vendor_cleanup.into_iter().map(|c| view! { <li>{c}</li> }).collect_any()}</ul>
        </div>
    }
}

pub(crate) fn kind_label(kind: &str) -> String {
    match kind {
        "cloud_aws" => "AWS".to_owned(),
        "cloud_azure" => "Azure".to_owned(),
        "cloud_gcp" => "Google Cloud".to_owned(),
        "cloud_cloudflare" => "Cloudflare".to_owned(),
        other => AccountKind::from_segment(other)
            .map_or_else(|| other.to_owned(), |k| k.display_name().to_owned()),
    }
}

fn meta_label(key: &str) -> String {
    match key {
        "account_id" => "Account id".to_owned(),
        "role_arn" => "Role ARN".to_owned(),
        "region" => "Region".to_owned(),
        "external_id_masked" => "External id (masked)".to_owned(),
        "tenant_id" => "Tenant id".to_owned(),
        "subscription_id" => "Subscription id".to_owned(),
        "client_id" => "Client id".to_owned(),
        "principal_object_id" => "Principal object id".to_owned(),
        "issuer" => "Issuer".to_owned(),
        "subject" => "Subject".to_owned(),
        "mode" => "Set-up".to_owned(),
        "expires_on" => "Token expires".to_owned(),
        "not_before" => "Token valid from".to_owned(),
        other => other.replace('_', " "),
    }
}

/// A metadata value as the operator reads it (Azure's set-up by its name).
fn meta_value(key: &str, value: &serde_json::Value) -> String {
    use alphaswarm_core::azure::AzureMode;
    let mode = [AzureMode::ManagedIdentity, AzureMode::SharedApp]
        .into_iter()
        .find(|m| key == "mode" && value.as_str() == Some(m.as_str()));
    match mode {
        Some(mode) => crate::clouds::azure::mode_label(mode).to_owned(),
        None => plain(value),
    }
}

/// A JSON value as text: strings bare, null as a dash.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "–".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
