//! Account integrations that hold a token (seed 003): HuggingFace and
//! Docker Hub, each behind [`AccountProvider`].
//!
//! Why a trait beside [`CloudProvider`](crate::providers::CloudProvider)
//! rather than one trait for both: the cloud kinds walk the five-step,
//! federated wizard and store no secret; these two take one form (token,
//! namespace), call the product once and store the token encrypted. A single
//! trait would give each side methods it cannot implement. What the two
//! share — a health check, upstream clean-up guidance, the store record, the
//! audit and step-up — lives in the routes and in [`crate::health`], which
//! dispatch to either trait by the record's kind.
//!
//! Each provider checks its form's formats with the core
//! ([`alphaswarm_core::accounts`]) before any call, calls the product through
//! its client trait (`HuggingFaceApi`, `DockerHubApi`, reqwest in production,
//! the loopback fakes in tests) and says what to store.

pub mod dockerhub;
pub mod huggingface;
pub mod upstream;

use crate::error::ApiError;
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use alphaswarm_core::accounts::AccountKind;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a provider calls its product, and whether plain http is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
    /// `https://huggingface.co` unless overridden (tests: the fake).
    pub huggingface_url: String,
    /// `https://hub.docker.com` unless overridden.
    pub dockerhub_url: String,
}

pub const HUGGINGFACE_DEFAULT_URL: &str = "https://huggingface.co";
pub const DOCKERHUB_DEFAULT_URL: &str = "https://hub.docker.com";

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            huggingface_url: HUGGINGFACE_DEFAULT_URL.to_owned(),
            dockerhub_url: DOCKERHUB_DEFAULT_URL.to_owned(),
        }
    }
}

/// Checks an endpoint override: an absolute http(s) URL with a host, https
/// only in production. Returned without a trailing slash. The error names
/// the problem, never the value.
pub fn checked_endpoint(raw: &str, production: bool) -> Result<String, String> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| "expected an absolute https:// URL".to_owned())?;
    match url.scheme() {
        "https" => {}
        "http" if !production => {}
        "http" => return Err("production requires https://".to_owned()),
        _ => return Err("expected an absolute https:// URL".to_owned()),
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err("expected an https:// URL with a host and no credentials".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected a base URL without ? or #".to_owned());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// What connect stores for an account integration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountConnection {
    pub namespace: String,
    pub metadata: BTreeMap<String, String>,
    pub lists: BTreeMap<String, Vec<String>>,
    /// The token (and anything else never to be shown).
    pub secrets: BTreeMap<String, String>,
}

#[async_trait]
pub trait AccountProvider: Send + Sync {
    fn kind(&self) -> AccountKind;
    /// Checks the form (formats first, no call), proves the token works
    /// for the namespace with the product, and says what to store.
    async fn connect(&self, org: &OrgId, body: Value) -> Result<AccountConnection, ApiError>;
    /// Re-checks a stored connection with its stored token.
    async fn health(&self, record: &StoredIntegration) -> HealthCheck;
    /// What to revoke upstream once the local record is gone.
    fn revocation_guidance(&self, record: Option<&StoredIntegration>) -> Vec<String>;
}

/// The stored token of a record, checked again (a record edited by hand
/// must not send anything but a token of the right format upstream).
fn stored_token(
    record: &StoredIntegration,
    kind: AccountKind,
) -> Result<alphaswarm_core::accounts::AccountToken, ApiError> {
    let raw = record
        .secrets
        .get(kind.token_field())
        .map(String::as_str)
        .unwrap_or_default();
    alphaswarm_core::accounts::parse_token(kind, raw).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "stored_token_unusable",
            format!(
                "The stored {} connection has no usable token.",
                kind.display_name()
            ),
            "Connect again with a new token.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_overrides_are_https_in_production() {
        assert_eq!(
            checked_endpoint("http://127.0.0.1:8080/", false).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(checked_endpoint("http://127.0.0.1:8080", true).is_err());
        assert_eq!(
            checked_endpoint("https://hub.example/api/", true).unwrap(),
            "https://hub.example/api"
        );
        for bad in [
            "file:///etc/passwd",
            "127.0.0.1:80",
            "https://user:pw@hub.example",
            "https://hub.example/?x=1",
        ] {
            let err = checked_endpoint(bad, false).unwrap_err();
            assert!(!err.contains(bad), "{err}");
        }
    }
}
