//! Sign-in and MFA step-up (local operator mode, proxy/API.md "Session").
//!
//! The session token lives in memory and in `sessionStorage` (this tab only).
//! Actions that need a fresh step-up go through [`Auth::with_step_up`]: when
//! the step-up is missing or stale, the code prompt is shown and the action
//! resumes once it succeeds.

use crate::api::{self, ApiError, TokenResponse};
use crate::signal::{BoxedSignal, BoxedValue, effect};
use crate::ui::{ErrorBanner, FieldError, attr};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::sync::Arc;

const TOKEN_KEY: &str = "alphaswarm.token";
const STEP_UP_KEY: &str = "alphaswarm.step_up_until";
/// Used when the proxy's `step_up_until` cannot be read: its documented
/// default max age. The proxy stays the judge (403 `step_up_required`).
const DEFAULT_STEP_UP_MS: f64 = 300_000.0;
/// Ask again a little before the proxy would refuse.
const STEP_UP_MARGIN_MS: f64 = 5_000.0;

type Resume = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Copy)]
pub struct Auth {
    pub token: BoxedSignal<Option<String>>,
    /// When the step-up stops being fresh (ms since the epoch).
    pub step_up_until_ms: BoxedSignal<Option<f64>>,
    /// True while the code prompt is shown.
    pub step_up_wanted: RwSignal<bool>,
    resume: BoxedValue<Option<Resume>>,
}

impl Auth {
    pub fn new() -> Self {
        let storage = session_storage();
        let get = |key| {
            storage
                .as_ref()
                .and_then(|s| s.get_item(key).ok().flatten())
        };
        Auth {
            token: BoxedSignal::new(get(TOKEN_KEY)),
            step_up_until_ms: BoxedSignal::new(
                get(STEP_UP_KEY)
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|ms| ms as f64),
            ),
            step_up_wanted: RwSignal::new(false),
            resume: BoxedValue::new(None),
        }
    }

    pub fn token(&self) -> String {
        self.token.get_untracked().unwrap_or_default()
    }

    pub fn signed_in(&self) -> bool {
        self.token.get().is_some()
    }

    pub fn step_up_fresh(&self) -> bool {
        self.step_up_until_ms
            .get_untracked()
            .is_some_and(|until| js_sys::Date::now() + STEP_UP_MARGIN_MS < until)
    }

    fn store(&self, tokens: &TokenResponse) {
        let until = until_ms(&tokens.step_up_until);
        self.token.set(Some(tokens.token.clone()));
        self.step_up_until_ms.set(until);
        if let Some(s) = session_storage() {
            let _ = s.set_item(TOKEN_KEY, &tokens.token);
            match until {
                Some(ms) => {
                    // Whole milliseconds: integer formatting keeps float printing out of the wasm.
                    let _ = s.set_item(STEP_UP_KEY, &(ms as u64).to_string());
                }
                None => {
                    let _ = s.remove_item(STEP_UP_KEY);
                }
            }
        }
    }

    pub fn sign_out(&self) {
        self.token.set(None);
        self.step_up_until_ms.set(None);
        self.step_up_wanted.set(false);
        self.resume.set_value(None);
        if let Some(s) = session_storage() {
            let _ = s.remove_item(TOKEN_KEY);
            let _ = s.remove_item(STEP_UP_KEY);
        }
    }

    /// Runs `action` now if the step-up is fresh, else after the code prompt.
    pub fn with_step_up(&self, action: impl Fn() + Send + Sync + 'static) {
        if self.step_up_fresh() {
            action();
        } else {
            self.require_step_up(action);
        }
    }

    pub fn require_step_up(&self, resume: impl Fn() + Send + Sync + 'static) {
        self.resume.set_value(Some(Arc::new(resume)));
        self.step_up_wanted.set(true);
    }

    /// Reacts to session errors from any call: 401 signs out, 403
    /// `step_up_required` asks for the code and then runs `retry`.
    /// Returns true when the error was handled here.
    pub fn handle(&self, err: &ApiError, retry: impl Fn() + Send + Sync + 'static) -> bool {
        match err.code() {
            "unauthenticated" => {
                self.sign_out();
                true
            }
            "step_up_required" => {
                self.step_up_until_ms.set(None);
                self.require_step_up(retry);
                true
            }
            _ => false,
        }
    }

    fn finish_step_up(&self) {
        self.step_up_wanted.set(false);
        if let Some(resume) = self.resume.try_update_value(Option::take).flatten() {
            resume();
        }
    }

    fn cancel_step_up(&self) {
        self.resume.set_value(None);
        self.step_up_wanted.set(false);
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// `step_up_until` as sent: unix seconds, unix milliseconds or RFC 3339.
pub fn until_ms(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::Number(n) => n.as_f64().map(|v| if v > 1e12 { v } else { v * 1000.0 }),
        serde_json::Value::String(s) => {
            let parsed = js_sys::Date::parse(s);
            Some(if parsed.is_nan() {
                js_sys::Date::now() + DEFAULT_STEP_UP_MS
            } else {
                parsed
            })
        }
        _ => Some(js_sys::Date::now() + DEFAULT_STEP_UP_MS),
    }
}

#[component]
pub fn Login(auth: Auth) -> impl IntoView {
    let username = RwSignal::new("admin".to_owned());
    let password = RwSignal::new(String::new());
    let error = BoxedSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move || {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::login(&username.get_untracked(), &password.get_untracked()).await;
            busy.try_set(false);
            match result {
                Ok(tokens) => {
                    password.try_set(String::new());
                    auth.store(&tokens);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="panel narrow" aria-labelledby="login-title" data-view="login">
            <h1 id="login-title">"Sign in"</h1>
            <p class="muted">"Local operator sign-in. The password and TOTP secret were printed once when the proxy first started."</p>
            <form on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                        aria-describedby="username-error"/>
                    <FieldError field="username" error=error.into()/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                        aria-describedby="password-error"/>
                    <FieldError field="password" error=error.into()/>
                </div>
                <ErrorBanner error=error.into() fields=&["username", "password"]/>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </section>
    }
}

#[component]
pub fn StepUp(auth: Auth) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let error = BoxedSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    // Focus the code field as soon as the prompt appears.
    effect(move || {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let submit = move || {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::step_up(&auth.token(), code.get_untracked().trim()).await;
            busy.try_set(false);
            code.try_set(String::new());
            match result {
                Ok(tokens) => {
                    auth.store(&tokens);
                    auth.finish_step_up();
                }
                Err(e) => {
                    if e.code() == "unauthenticated" {
                        auth.sign_out();
                    } else {
                        error.try_set(Some(e));
                    }
                }
            }
        });
    };
    view! {
        <section class="panel narrow" aria-labelledby="step-up-title" data-view="step-up">
            <h1 id="step-up-title">"Confirm it is you"</h1>
            <p class="muted">"This step talks to the cloud or changes what is stored, so it needs a fresh second factor. Enter the 6-digit code from your authenticator app; the wizard then continues where it was."</p>
            <form on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <div class="field">
                    <label for="code">"Authenticator code"</label>
                    <input id="code" name="code" node_ref={input} {..attr("inputmode", "numeric")} autocomplete="one-time-code"
                        {..attr("pattern", "[0-9]{6}")} {..attr("maxlength", "6")} required
                        prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev))
                        aria-describedby="code-error"/>
                    <FieldError field="code" error=error.into()/>
                </div>
                <ErrorBanner error=error.into() fields=&["code"]/>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || busy.get()>"Verify"</button>
                    <button type="button" on:click=move |_| auth.cancel_step_up()>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use alphaswarm_core::ErrorBody;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn proxy_error(code: &str) -> ApiError {
        ApiError::Proxy {
            status: 403,
            body: ErrorBody {
                code: code.into(),
                message: "m".into(),
                field: None,
                hint: String::new(),
            },
            audit_run_id: None,
        }
    }

    #[wasm_bindgen_test]
    fn step_up_required_prompts_then_resumes_the_action() {
        let auth = Auth::new();
        auth.sign_out();
        let ran = RwSignal::new(0);
        assert!(auth.handle(&proxy_error("step_up_required"), move || {
            ran.update(|n| *n += 1)
        }));
        assert!(auth.step_up_wanted.get_untracked());
        assert_eq!(
            ran.get_untracked(),
            0,
            "nothing runs before the code is accepted"
        );

        let in_five_minutes = (js_sys::Date::now() / 1000.0) as u64 + 300;
        auth.store(&TokenResponse {
            token: "t".into(),
            expires_at: serde_json::Value::Null,
            step_up_until: serde_json::json!(in_five_minutes),
        });
        auth.finish_step_up();
        assert!(!auth.step_up_wanted.get_untracked());
        assert_eq!(ran.get_untracked(), 1, "the action resumed once");
        assert!(auth.step_up_fresh());

        auth.with_step_up(move || ran.update(|n| *n += 1));
        assert_eq!(ran.get_untracked(), 2, "fresh: runs at once");

        auth.step_up_until_ms.set(Some(js_sys::Date::now() - 1.0));
        auth.with_step_up(move || ran.update(|n| *n += 1));
        assert!(auth.step_up_wanted.get_untracked(), "stale: asks again");
        assert_eq!(ran.get_untracked(), 2);
        auth.cancel_step_up();
        auth.finish_step_up();
        assert_eq!(ran.get_untracked(), 2, "a cancelled prompt resumes nothing");
        auth.sign_out();
    }

    #[wasm_bindgen_test]
    fn unauthenticated_signs_out() {
        let auth = Auth::new();
        auth.token.set(Some("t".into()));
        assert!(auth.handle(&proxy_error("unauthenticated"), || {}));
        assert!(auth.token.get_untracked().is_none());
        assert!(!auth.handle(&proxy_error("assume_role_access_denied"), || {}));
    }

    #[wasm_bindgen_test]
    fn step_up_until_in_seconds_millis_or_rfc3339() {
        assert_eq!(
            until_ms(&serde_json::json!(1_800_000_000)),
            Some(1_800_000_000_000.0)
        );
        assert_eq!(
            until_ms(&serde_json::json!(1_800_000_000_000u64)),
            Some(1_800_000_000_000.0)
        );
        assert_eq!(
            until_ms(&serde_json::json!("2027-01-15T08:00:00Z")),
            Some(1_800_000_000_000.0)
        );
        assert_eq!(until_ms(&serde_json::Value::Null), None);
    }
}
