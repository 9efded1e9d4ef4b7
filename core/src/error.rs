//! The one error shape every layer shows: `{code, message, field, hint}`.
//!
//! Each area of the core has its own `thiserror` enum; all of them implement
//! [`CoreError`], so the wasm binding and the proxy convert any of them to an
//! [`ErrorBody`] in one place. Codes are stable API; messages are prose.
//! No message ever contains a secret value: secrets are only ever named.

use serde::{Deserialize, Serialize};

/// What every core error exposes besides its `Display` message.
pub trait CoreError: std::error::Error {
    /// Stable machine code, e.g. `invalid_org_id`. Tests assert on these.
    fn code(&self) -> &'static str;
    /// The input field the error concerns (snake_case), if any.
    fn field(&self) -> Option<&str>;
    /// What the user should do about it.
    fn hint(&self) -> String;

    fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
            field: self.field().map(str::to_owned),
            hint: self.hint(),
        }
    }
}

/// The serialised form of any error, identical across wasm and HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub hint: String,
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}
