//! The resolver's errors, in the core's `{code, message, field, hint}` shape.
//!
//! Messages name keys, stores, variables, files and secret *names*; never a
//! value, and never a credential used to reach a store. A store's own error
//! text is kept (it helps an operator: "User: arn:… is not authorized"),
//! shortened and with control characters escaped.

use alphaswarm_core::CoreError;
use alphaswarm_core::keys::{CredentialKey, KeyError};

use crate::credential::Source;

/// What went wrong inside one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The store answered, and refused this identity.
    AccessDenied,
    /// No identity to present, or the identity provider refused it.
    Unauthenticated,
    /// The store or its identity provider could not be reached.
    Unreachable,
    /// An answer of a shape or status the store does not document.
    Unexpected,
    /// The secret exists but cannot be used as a credential (binary, disabled, unreadable).
    InvalidPayload,
    /// The secret lacks fields its key's field map requires.
    Incomplete,
}

impl StoreErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            StoreErrorKind::AccessDenied => "store_access_denied",
            StoreErrorKind::Unauthenticated => "store_unauthenticated",
            StoreErrorKind::Unreachable => "store_unreachable",
            StoreErrorKind::Unexpected => "store_unexpected_response",
            StoreErrorKind::InvalidPayload => "store_invalid_payload",
            StoreErrorKind::Incomplete => "credential_incomplete",
        }
    }
}

/// One store's failure. `detail` says what happened, `hint` what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub detail: String,
    pub hint: String,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, detail: impl Into<String>, hint: impl Into<String>) -> Self {
        StoreError {
            kind,
            detail: detail.into(),
            hint: hint.into(),
        }
    }

    pub fn access_denied(detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::AccessDenied, detail, hint)
    }
    pub fn unauthenticated(detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unauthenticated, detail, hint)
    }
    pub fn unreachable(detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unreachable, detail, hint)
    }
    pub fn unexpected(detail: impl Into<String>) -> Self {
        Self::new(
            StoreErrorKind::Unexpected,
            detail,
            "Check that the endpoint is the real service (or a compatible one) and not a proxy or captive page.",
        )
    }
    pub fn invalid_payload(detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::InvalidPayload, detail, hint)
    }
}

/// Shortens a server's error text for a message: at most 300 characters,
/// control characters escaped, so a hostile body cannot forge log lines.
pub fn server_text(text: &str) -> String {
    let mut out: String = text.trim().chars().take(300).collect();
    if text.trim().chars().count() > 300 {
        out.push('…');
    }
    out.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// A store of the chain that failed for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure {
    pub priority: u32,
    pub source: Source,
    /// Where the store looked (env var, file, secret name or path).
    pub location: Option<String>,
    pub error: StoreError,
}

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (priority {}", self.source, self.priority)?;
        if let Some(location) = &self.location {
            write!(f, ", {location}")?;
        }
        write!(f, "): {} [{}]", self.error, self.error.kind.code())
    }
}

/// Why a key did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No store had it and the caller gave no default.
    #[error("credential {key} was not found; looked in {}", .looked.join(", "))]
    NotFound {
        key: CredentialKey,
        looked: Vec<String>,
    },
    /// No store had it and at least one store failed: the failure may hide
    /// the secret, so neither a lower store's absence nor the caller's
    /// default is trusted.
    #[error("credential {key} could not be resolved: {}", join_failures(.failures))]
    StoresFailed {
        key: CredentialKey,
        failures: Vec<StoreFailure>,
    },
}

fn join_failures(failures: &[StoreFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl CoreError for ResolveError {
    fn code(&self) -> &'static str {
        match self {
            ResolveError::NotFound { .. } => "credential_not_found",
            ResolveError::StoresFailed { failures, .. } => match failures.as_slice() {
                [only] => only.error.kind.code(),
                _ => "credential_stores_failed",
            },
        }
    }
    fn field(&self) -> Option<&str> {
        Some("credential_key")
    }
    fn hint(&self) -> String {
        match self {
            ResolveError::NotFound { .. } => "Store the secret in one of the stores listed, under the name shown, or check ALPHASWARM_DEFAULT_CLOUD_PROVIDER and the store settings (alphaswarm-resolve describe).".to_owned(),
            ResolveError::StoresFailed { failures, .. } => failures
                .iter()
                .map(|f| format!("{}: {}", f.source, f.error.hint))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl ResolveError {
    pub fn key(&self) -> &CredentialKey {
        match self {
            ResolveError::NotFound { key, .. } | ResolveError::StoresFailed { key, .. } => key,
        }
    }
}

/// A resolver setting that is missing or wrong. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
    pub hint: String,
}

impl ConfigError {
    pub fn new(
        variable: impl Into<String>,
        problem: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ConfigError {
            variable: variable.into(),
            problem: problem.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn from_key_error(variable: &str, error: &KeyError) -> Self {
        ConfigError::new(variable, error.to_string(), error.hint())
    }
}

impl CoreError for ConfigError {
    fn code(&self) -> &'static str {
        "invalid_resolver_config"
    }
    fn field(&self) -> Option<&str> {
        Some(&self.variable)
    }
    fn hint(&self) -> String {
        self.hint.clone()
    }
}

/// Every misconfiguration found at once, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| format!("{e} ({})", e.hint)).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_short_and_single_line() {
        let shown = server_text("line one\nline two\r\u{1b}[31m");
        assert!(
            !shown.contains('\n') && !shown.contains('\u{1b}'),
            "{shown}"
        );
        assert!(shown.starts_with("line one\\n"));
        let long = "x".repeat(1000);
        assert_eq!(server_text(&long).chars().count(), 301);
    }
}
