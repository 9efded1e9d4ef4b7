//! The npm package's build of the core (`/core/`, copied there by
//! scripts/build-web.sh), imported on first use.
//!
//! Workload identity rendering and diagnosis (with its YAML parser) would
//! add about half again to the wizard's wasm, past the UI budget; pages
//! that need them load the package once instead, so the wizard's first
//! download does not grow. Objects cross as JSON text both ways.

use crate::api::ApiError;
use alphaswarm_core::ErrorBody;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
let core;
export async function load_core() {
  core ??= await import("/core/index.browser.js");
}
export function call_core(name, json) {
  return JSON.stringify(core[name](JSON.parse(json)));
}
export function error_body(e) {
  const known = e && typeof e.code === "string";
  return JSON.stringify({
    code: known ? e.code : "core_unavailable",
    message: known ? e.message : "The workload identity tools could not be loaded.",
    field: known ? (e.field ?? null) : null,
    hint: known ? (e.hint ?? "") : "Reload the page; if it persists, the UI build is missing its core/ folder.",
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn load_core() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn call_core(name: &str, json: &str) -> Result<String, JsValue>;
    fn error_body(error: &JsValue) -> String;
}

fn to_api_error(error: &JsValue) -> ApiError {
    match crate::api::parse_error(0, &error_body(error)) {
        ApiError::Proxy { body, .. } if body.code != "unexpected_response" => ApiError::local(body),
        _ => ApiError::local(ErrorBody {
            code: "core_unavailable".into(),
            message: "The workload identity tools failed.".into(),
            field: None,
            hint: String::new(),
        }),
    }
}

/// Calls the package's `name` with `argument` (JSON text); returns its JSON result.
pub async fn call(name: &str, argument: &str) -> Result<String, ApiError> {
    load_core().await.map_err(|e| to_api_error(&e))?;
    call_core(name, argument).map_err(|e| to_api_error(&e))
}
