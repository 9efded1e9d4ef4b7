//! An organisation's integrations (masked metadata and status) and the
//! disconnect flow: confirm, remove, then the vendor-side clean-up list.

use crate::api::{self, ApiError, DisconnectResponse, Integration, Rotation};
use crate::auth::Auth;
use crate::clouds::{CloudCard, card};
use crate::ui::ErrorBanner;
use alphaswarm_core::{CloudKind, OrgId};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn Integrations(auth: Auth, org: OrgId, on_connect: Callback<()>) -> impl IntoView {
    let org = StoredValue::new(org);
    let list = RwSignal::new(None::<Vec<Integration>>);
    let error = RwSignal::new(None::<ApiError>);
    let cleanup = RwSignal::new(None::<DisconnectResponse>);
    let load = Callback::new(move |()| load(auth, org, list, error));
    load.run(());
    let disconnect =
        Callback::new(move |cloud: CloudKind| disconnect(auth, org, cloud, list, error, cleanup));
    view! {
        <div class="integrations" data-view="integrations">
            <ErrorBanner error=error.into() fields=&[] on_retry=load/>
            {move || cleanup.get().map(|c| view! { <Cleanup result=c/> })}
            {move || match list.get() {
                None => view! { <p class="progress" role="status">"Loading integrations…"</p> }.into_any(),
                Some(items) if items.is_empty() => view! {
                    <p class="muted" data-empty="integrations">"No cloud account is connected yet."</p>
                }.into_any(),
                Some(items) => view! {
                    <ul class="cards" aria-label="Connected cloud accounts">
                        {items.into_iter().map(|integration| {
                            let cloud = integration.kind.parse::<CloudKind>().ok();
                            view! {
                                <li>
                                    <IntegrationCard integration/>
                                    {cloud.map(|cloud| view! {
                                        <DisconnectButton card=card(cloud) on_confirm=Callback::new(move |()| disconnect.run(cloud))/>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <button type="button" class="primary" on:click=move |_| on_connect.run(())>"Connect a cloud account"</button>
        </div>
    }
}

fn load(
    auth: Auth,
    org: StoredValue<OrgId>,
    list: RwSignal<Option<Vec<Integration>>>,
    error: RwSignal<Option<ApiError>>,
) {
    error.set(None);
    spawn_local(async move {
        let result = api::integrations(&auth.token(), &org.get_value()).await;
        match result {
            Ok(r) => {
                list.try_set(Some(r.integrations));
            }
            Err(e) => {
                if !auth.handle(&e, move || load(auth, org, list, error)) {
                    error.try_set(Some(e));
                }
            }
        }
    });
}

fn disconnect(
    auth: Auth,
    org: StoredValue<OrgId>,
    cloud: CloudKind,
    list: RwSignal<Option<Vec<Integration>>>,
    error: RwSignal<Option<ApiError>>,
    cleanup: RwSignal<Option<DisconnectResponse>>,
) {
    let run = move || {
        error.set(None);
        spawn_local(async move {
            match api::disconnect(&auth.token(), &org.get_value(), cloud).await {
                Ok(r) => {
                    cleanup.try_set(Some(r));
                    load(auth, org, list, error);
                }
                Err(e) => {
                    if !auth.handle(&e, move || {
                        disconnect(auth, org, cloud, list, error, cleanup)
                    }) {
                        error.try_set(Some(e));
                    }
                }
            }
        });
    };
    auth.with_step_up(run);
}

#[component]
pub fn IntegrationCard(integration: Integration) -> impl IntoView {
    let status = integration.status.clone();
    let metadata = integration.metadata.clone();
    view! {
        <article class="card" data-kind=integration.kind.clone() aria-label=format!("{} integration", integration.kind)>
            <header>
                <h3>{kind_label(&integration.kind)}</h3>
                <span class=format!("badge status-{status}") data-status=status.clone()>{status.clone()}</span>
            </header>
            <dl class="values">
                {metadata.into_iter().map(|(k, v)| view! {
                    <div class="value-row" data-meta=k.clone()><dt>{meta_label(&k)}</dt><dd><code>{meta_value(&k, &v)}</code></dd></div>
                }).collect_view()}
                <div class="value-row"><dt>"Credential key"</dt><dd><code>{integration.credential_key}</code></dd></div>
                <div class="value-row"><dt>"Connected"</dt><dd>{plain(&integration.connected_at)}</dd></div>
                <div class="value-row"><dt>"Last health check"</dt><dd>{plain(&integration.last_health_at)}</dd></div>
            </dl>
            {integration.rotation.map(|rotation| view! { <RotationNote rotation/> })}
            {integration.error.map(|e| view! { <p class="field-error">{e}</p> })}
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

#[component]
fn DisconnectButton(card: &'static CloudCard, on_confirm: Callback<()>) -> impl IntoView {
    let kind = card.kind.as_str();
    let asking = RwSignal::new(false);
    let confirm_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move || {
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
            <ul class="cleanup">{result.vendor_cleanup.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
        </div>
    }
}

pub(crate) fn kind_label(kind: &str) -> String {
    match kind {
        "cloud_aws" => "AWS".to_owned(),
        "cloud_azure" => "Azure".to_owned(),
        "cloud_gcp" => "Google Cloud".to_owned(),
        "cloud_cloudflare" => "Cloudflare".to_owned(),
        other => other.to_owned(),
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
