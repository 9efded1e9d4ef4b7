//! The one place a core error becomes a JavaScript `Error`.

use alphaswarm_core::CoreError;
use wasm_bindgen::prelude::*;

// The thrown object's type, built on the generated `ErrorBody`.
#[wasm_bindgen(typescript_custom_section)]
const CORE_ERROR_TS: &str = r#"
/** What every function throws: an `Error` carrying the core's `ErrorBody`; `field` is the camelCase name of the argument or option. */
export type CoreError = Error & ErrorBody;
"#;

/// Builds `Error(message)` carrying `code`, `field` (the camelCase option
/// name, or `null`) and `hint`. A plain `Error` object rather than `JsError`,
/// which would print as "Error: Error: …". `argument` names the positional
/// argument at fault when the core's field name is not what JS callers pass
/// (the core says `role_arn`, the caller passed `arn`).
pub fn js_error(err: &(impl CoreError + ?Sized), argument: Option<&'static str>) -> JsValue {
    let body = err.to_body();
    let error = js_sys::Error::new(&body.message);
    let field = argument
        .or(body.field.as_deref())
        .map_or(JsValue::NULL, |f| JsValue::from_str(&camel_case(f)));
    set(&error, "code", &JsValue::from_str(&body.code));
    set(&error, "field", &field);
    set(&error, "hint", &JsValue::from_str(&body.hint));
    error.into()
}

fn set(target: &js_sys::Error, key: &str, value: &JsValue) {
    // Setting a data property on a fresh, unfrozen Error cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// `partner_account_id` → `partnerAccountId`: core fields are snake_case,
/// the JS options they came from are camelCase.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper_next = false;
    for c in snake.chars() {
        if c == '_' && !out.is_empty() {
            upper_next = true;
        } else if upper_next {
            out.push(c.to_ascii_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `?`-style conversion of any core result into a thrown JS error.
pub trait OrThrow<T> {
    /// The error's own field names the option at fault.
    fn or_throw(self) -> Result<T, JsValue>;
    /// The whole positional `argument` is at fault, whatever the core calls it.
    fn or_throw_at(self, argument: &'static str) -> Result<T, JsValue>;
}

impl<T, E: CoreError> OrThrow<T> for Result<T, E> {
    fn or_throw(self) -> Result<T, JsValue> {
        self.map_err(|e| js_error(&e, None))
    }
    fn or_throw_at(self, argument: &'static str) -> Result<T, JsValue> {
        self.map_err(|e| js_error(&e, Some(argument)))
    }
}

/// An argument JavaScript passed that does not have the declared shape
/// (wrong type, missing property). Values that have the right shape but
/// break a rule are reported by the core with its own codes.
#[derive(Debug)]
pub struct InvalidArgument {
    /// The parameter, snake_case like core fields.
    pub field: &'static str,
    /// serde's description, e.g. "missing field `orgId`".
    pub detail: String,
}

impl std::fmt::Display for InvalidArgument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} has the wrong shape: {}",
            camel_case(self.field),
            self.detail
        )
    }
}

impl std::error::Error for InvalidArgument {}

impl CoreError for InvalidArgument {
    fn code(&self) -> &'static str {
        "invalid_argument"
    }
    fn field(&self) -> Option<&str> {
        Some(self.field)
    }
    fn hint(&self) -> String {
        format!(
            "Pass {} as its TypeScript declaration in alphaswarm-core describes it.",
            camel_case(self.field)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn snake_fields_become_option_names() {
        assert_eq!(camel_case("partner_account_id"), "partnerAccountId");
        assert_eq!(
            camel_case("organizational_unit_ids"),
            "organizationalUnitIds"
        );
        assert_eq!(camel_case("issuer"), "issuer");
        assert_eq!(camel_case("_private"), "_private");
    }
}
