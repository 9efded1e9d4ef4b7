//! Small shared pieces: copy and download buttons, inputs validated as you
//! type, errors next to fields.

use crate::api::ApiError;
use crate::signal::{BoxedCallback, BoxedSignal, BoxedValue, MapAny, ThenAny};
use alphaswarm_core::operator;
use alphaswarm_core::{ErrorBody, IdError};
use leptos::prelude::*;
use leptos::tachys::html::attribute::AttributeValue;
use leptos::tachys::html::attribute::custom::{CustomAttr, custom_attribute};
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// Copies `text` with `navigator.clipboard.writeText` and says so visibly
/// (and to screen readers through a polite live region).
#[component]
pub fn CopyButton(#[prop(into)] text: String, #[prop(into)] what: String) -> impl IntoView {
    let state = BoxedSignal::new(CopyState::Idle);
    let text = BoxedValue::new(text);
    let on_click = move |_| {
        let text = text.get_value();
        spawn_local(async move {
            let ok = copy_text(&text).await;
            state.try_set(if ok {
                CopyState::Copied
            } else {
                CopyState::Failed
            });
            gloo_timers::future::TimeoutFuture::new(2_500).await;
            state.try_set(CopyState::Idle);
        });
    };
    view! {
        <span class="copy">
            // The visible word stays the start of the accessible name.
            <button type="button" class="copy-button" on:click=on_click>
                {move || match state.get() { CopyState::Copied => "Copied", _ => "Copy" }}
                <span class="visually-hidden">{format!(" {what}")}</span>
            </button>
            <span class="copy-status" role="status" {..attr("aria-live", "polite")}>
                {move || match state.get() {
                    CopyState::Idle => "",
                    CopyState::Copied => "Copied",
                    CopyState::Failed => "Copy failed: select the text and copy it by hand",
                }}
            </span>
        </span>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CopyState {
    Idle,
    Copied,
    Failed,
}

pub async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

#[component]
pub fn DownloadButton(
    #[prop(into)] file_name: String,
    #[prop(into)] media_type: String,
    #[prop(into)] contents: String,
) -> impl IntoView {
    let hidden = format!(" {file_name}");
    let file = BoxedValue::new((file_name, media_type, contents));
    view! {
        <button type="button" class="download-button"
            on:click=move |_| file.with_value(|(name, media, body)| download(name, media, body))>
            "Download"<span class="visually-hidden">{hidden}</span>
        </button>
    }
}

/// Saves `contents` as a file through a Blob and a temporary object URL.
pub fn download(file_name: &str, media_type: &str, contents: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&contents.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(anchor) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// The error for `field`, shown under its input (`id="<field>-error"`, which
/// the input names in `aria-describedby`).
#[component]
pub fn FieldError(field: &'static str, error: Signal<Option<ApiError>>) -> impl IntoView {
    let mine = move || error.get().filter(|e| e.field() == Some(field));
    view! {
        <div id=format!("{field}-error") class="field-error-slot" {..attr("aria-live", "polite")}>
            {move || mine().map_any(|e| view! { <ErrorText error=e/> })}
        </div>
    }
}

/// A core validation error in an operator's words: the input's label, not
/// its wire name, and the offending character rather than its position.
pub fn field_error(field: &'static str, label: &str, e: &IdError) -> ApiError {
    ApiError::local(ErrorBody {
        code: e.kind.code().to_owned(),
        message: operator::id_error_message(label, e),
        field: Some(field.to_owned()),
        hint: e.kind.hint().to_owned(),
    })
}

/// How an input's value is checked as it is typed (the core's parser).
pub type Check = fn(&str) -> Result<(), IdError>;

/// The trimmed value, or `None` when blank; a value that does not parse
/// is an error at its field (`label` names it).
pub fn optional(
    value: RwSignal<String>,
    field: &'static str,
    label: &str,
    check: Check,
) -> Result<Option<String>, ApiError> {
    let v = value.get_untracked().trim().to_owned();
    if v.is_empty() {
        return Ok(None);
    }
    check(&v).map_err(|e| field_error(field, label, &e))?;
    Ok(Some(v))
}

/// A required input left blank: `message` says what needs it, `hint`
/// where to find the value.
pub fn missing_input(field: &'static str, message: String, hint: &str) -> ApiError {
    ApiError::local(ErrorBody {
        code: "missing_field".to_owned(),
        message,
        field: Some(field.to_owned()),
        hint: hint.to_owned(),
    })
}

/// A text input checked as you type by the core (`check`; a blank value is
/// not checked, so optional inputs may stay empty). One error shows under
/// it: the local one while the value does not parse, else the step's error
/// for this field.
#[component]
pub fn TextField(
    field: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<ApiError>>,
    #[prop(optional)] check: Option<Check>,
    #[prop(optional)] placeholder: &'static str,
    /// Shown under the label (what the value is, where to find it).
    #[prop(optional)]
    help: Option<&'static str>,
    /// Called with each new value (e.g. to invalidate results checked
    /// against the old one) instead of setting `value` directly.
    #[prop(optional)]
    on_input: Option<BoxedCallback<String>>,
    /// A token: a password input (never shown as typed).
    #[prop(optional)]
    secret: bool,
) -> impl IntoView {
    let local = move || {
        let check = check?;
        value.with(|v| {
            let v = v.trim();
            (!v.is_empty())
                .then(|| check(v).err())
                .flatten()
                .map(|e| field_error(field, label, &e))
        })
    };
    let shown = Signal::derive(move || local().or_else(|| error.get()));
    let invalid = move || shown.with(|e| e.as_ref().is_some_and(|e| e.field() == Some(field)));
    let input_type = if secret { "password" } else { "text" };
    let described = match help {
        Some(_) => format!("{field}-help {field}-error"),
        None => format!("{field}-error"),
    };
    view! {
        <div class="field">
            <label for=field>{label}</label>
            {help.map_any(|h| view! { <p id=format!("{field}-help") class="muted small">{h}</p> })}
            <input id=field name=field spellcheck="false" autocomplete="off" placeholder=placeholder
                type=input_type
                aria-describedby=described
                aria-invalid=move || invalid().to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    match on_input {
                        Some(f) => f.run(v),
                        None => value.set(v),
                    }
                }/>
            <FieldError field error=shown/>
        </div>
    }
}

/// Errors no input on this view owns: network failures (with a retry when
/// one is given), session and configuration errors.
#[component]
pub fn ErrorBanner(
    error: Signal<Option<ApiError>>,
    fields: &'static [&'static str],
    #[prop(optional)] on_retry: Option<BoxedCallback<()>>,
) -> impl IntoView {
    let unowned = move || {
        error
            .get()
            .filter(|e| e.field().is_none_or(|f| !fields.contains(&f)))
    };
    view! {
        {move || unowned().map(|e| {
            let network = e.is_network();
            let code = e.code().to_owned();
            view! {
                <div class="banner error" role="alert" data-code=code>
                    <ErrorText error=e/>
                    {(network && on_retry.is_some()).then_any(|| view! {
                        <button type="button" on:click=move |_| { if let Some(r) = on_retry { r.run(()) } }>"Retry"</button>
                    })}
                </div>
            }
        })}
    }
}

#[component]
pub fn ErrorText(error: ApiError) -> impl IntoView {
    // The operator's words, not the API's (core::operator).
    let explanation = operator::explanation(error.code());
    let (message, hint) = operator::for_operator(error.code(), error.message(), error.hint());
    let code = error.code().to_owned();
    view! {
        <p class="field-error" data-code=code>
            <strong>{message}</strong>
            {explanation.map_any(|x| view! { <span class="explain">{x}</span> })}
            {(!hint.is_empty()).then_any(|| view! { <span class="hint">{hint}</span> })}
        </p>
    }
}

/// An attribute set by its name, for those the UI uses once or twice
/// (written `{..attr("rel", "noopener")}` in a view). Leptos gives every
/// attribute it knows its own type, and each type brings its own copy of
/// the attribute code (~0.4 KB of wasm); these share one per value type.
pub fn attr<V: AttributeValue>(name: &'static str, value: V) -> CustomAttr<&'static str, V> {
    custom_attribute(name, value)
}
