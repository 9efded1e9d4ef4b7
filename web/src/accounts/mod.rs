//! Account integrations (seed 003): HuggingFace and Docker Hub. Each is one
//! short form (token → check → save) described as data in its own module
//! (`huggingface.rs`, `dockerhub.rs`); this module renders them, sends them
//! through the step-up prompt and lists the org's accounts with their
//! health (the list is `integrations::Integrations`).
//!
//! A token lives in its input only until the form is sent: the input is
//! cleared at once, the answer never carries it, and nothing shows it again.

pub mod dockerhub;
pub mod huggingface;

use crate::api::{self, ApiError, Integration};
use crate::auth::Auth;
use crate::integrations::{Integrations, Listing};
use crate::signal::{BoxedCallback, BoxedSignal, BoxedValue, CollectAny, MapAny, ThenAny};
use crate::ui::{ErrorBanner, TextField};
use alphaswarm_core::OrgId;
use alphaswarm_core::accounts::AccountKind;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use std::sync::Arc;

/// One input of an account's form; `field` is the request's (and the
/// proxy's error) field name and the input's id.
pub struct Input {
    pub field: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// A token: a password input, cleared when the form is sent.
    pub secret: bool,
    /// Left out of the request when blank.
    pub optional: bool,
}

pub struct AccountForm {
    pub kind: AccountKind,
    pub intro: &'static str,
    pub inputs: &'static [Input],
}

pub const FORMS: [&AccountForm; 2] = [&huggingface::FORM, &dockerhub::FORM];

/// Every input name of every form: their errors show at the input, others
/// in the banner.
const FIELDS: &[&str] = &["token", "namespace", "username", "pat"];

#[component]
pub fn AccountIntegrations(auth: Auth, org: OrgId) -> impl IntoView {
    let reload = Trigger::new();
    let open = BoxedSignal::new(None::<AccountKind>);
    let org = BoxedValue::new(org);
    view! {
        <section class="accounts" aria-labelledby="accounts-title" data-view="accounts">
            <h2 id="accounts-title">"Account integrations"</h2>
            <Integrations auth org=org.get_value() listing=Listing::Accounts reload/>
            <div class="actions">
                {FORMS.into_iter().map(|form| view! {
                    <button type="button" on:click=move |_| open.set(Some(form.kind))>{format!("Connect {}", form.kind.display_name())}</button>
                }).collect_any()}
            </div>
            {move || open.get().and_then(|k| FORMS.into_iter().find(|f| f.kind == k)).map_any(|form| view! {
                <AccountWizard auth org form on_connected=BoxedCallback::new(move |()| reload.notify())/>
            })}
        </section>
    }
}

/// What a send shows: progress, the error, the connected record.
#[derive(Clone, Copy)]
struct Outcome {
    busy: RwSignal<bool>,
    error: BoxedSignal<Option<ApiError>>,
    connected: BoxedSignal<Option<Integration>>,
    on_connected: BoxedCallback<()>,
    /// The form's inputs, all cleared once connected.
    values: BoxedValue<Vec<RwSignal<String>>>,
}

#[component]
fn AccountWizard(
    auth: Auth,
    org: BoxedValue<OrgId>,
    form: &'static AccountForm,
    on_connected: BoxedCallback<()>,
) -> impl IntoView {
    let name = form.kind.display_name();
    let values: Vec<RwSignal<String>> = form
        .inputs
        .iter()
        .map(|_| RwSignal::new(String::new()))
        .collect();
    let values = BoxedValue::new(values);
    let outcome = Outcome {
        busy: RwSignal::new(false),
        error: BoxedSignal::new(None),
        connected: BoxedSignal::new(None),
        on_connected,
        values,
    };
    let submit = move || {
        let mut body = serde_json::Map::new();
        for (input, value) in form.inputs.iter().zip(values.get_value()) {
            let text = value.get_untracked().trim().to_owned();
            if input.secret {
                value.set(String::new());
            }
            if !(input.optional && text.is_empty()) {
                body.insert(input.field.to_owned(), Value::String(text));
            }
        }
        outcome.error.set(None);
        outcome.connected.set(None);
        let body = Arc::new(Value::Object(body));
        auth.with_step_up(move || connect(auth, org, form.kind, body.clone(), outcome));
    };
    let error: Signal<Option<ApiError>> = outcome.error.into();
    view! {
        <form class="account-form" data-account=form.kind.integration_kind() aria-label=format!("Connect {name}")
            on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <h3>{format!("Connect {name}")}</h3>
            <p class="muted">{form.intro}</p>
            {form.inputs.iter().zip(values.get_value()).map(|(input, value)| view! {
                <TextField field=input.field label=input.label value error help=input.help secret=input.secret/>
            }).collect_any()}
            <ErrorBanner error fields=FIELDS/>
            <div class="actions" aria-busy=move || outcome.busy.get().to_string()>
                <button type="submit" class="primary" disabled=move || outcome.busy.get()>"Check and save"</button>
                {move || outcome.busy.get().then_any(|| view! {
                    <span class="progress" role="status">{format!("Checking with {name}…")}</span>
                })}
            </div>
            {move || outcome.connected.get().map(|i| {
                let namespace = i.namespace.unwrap_or_default();
                view! {
                    <div class="banner ok" role="status" data-result="account-connected">
                        <p><strong>{format!("{name} connected: namespace {namespace}.")}</strong>
                        " The token is kept encrypted and is never shown again; the list above shows its health."</p>
                    </div>
                }
            })}
        </form>
    }
}

/// Sends the form (after the step-up prompt when the proxy asks for it).
fn connect(
    auth: Auth,
    org: BoxedValue<OrgId>,
    kind: AccountKind,
    body: Arc<Value>,
    outcome: Outcome,
) {
    outcome.busy.set(true);
    spawn_local(async move {
        let result = api::connect_account(&auth.token(), &org.get_value(), kind, &body).await;
        outcome.busy.try_set(false);
        match result {
            Ok(r) => {
                for value in outcome.values.get_value() {
                    value.try_set(String::new());
                }
                outcome.connected.try_set(Some(r.integration));
                outcome.on_connected.run(());
            }
            Err(e) => {
                if !auth.handle(&e, move || connect(auth, org, kind, body.clone(), outcome)) {
                    outcome.error.try_set(Some(e));
                }
            }
        }
    });
}
