//! Google Cloud calls behind [`GcpApi`] so the wizard's provider never sees HTTP.
//!
//! The real implementation, [`RestClient`], speaks STS's token exchange,
//! IAM Credentials' `generateAccessToken`, Resource Manager v1 and Compute
//! v1 over reqwest; tests point all four at the loopback fake in
//! `alphaswarm-fakes` (module `gcp`) through the `*_ENDPOINT_URL` variables.
//! Failures are [`GcpError`]s (STS's OAuth error, Google's `google.rpc.Status`
//! with its `ErrorInfo` reason), classified into stable codes with hints by
//! [`GcpError::to_api_error`]. Raw upstream bodies never leave this module;
//! access tokens and assertions are never logged, printed or serialised.

mod client;
mod error;

pub use client::RestClient;
pub use error::{GcpError, GcpService, StepContext};

use crate::config::ConfigError;
use alphaswarm_core::gcp::AudienceTemplate;
use async_trait::async_trait;
use serde::Serialize;
use std::time::Duration;

pub const STS_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_GCP_STS_ENDPOINT_URL";
pub const IAMCREDENTIALS_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_GCP_IAMCREDENTIALS_ENDPOINT_URL";
pub const CRM_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_GCP_CRM_ENDPOINT_URL";
pub const COMPUTE_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_GCP_COMPUTE_ENDPOINT_URL";
pub const WIF_AUDIENCE: &str = "ALPHASWARM_ADMIN_GCP_WIF_AUDIENCE";
pub const SETTLE_SECONDS: &str = "ALPHASWARM_ADMIN_GCP_SETTLE_SECONDS";

pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.googleapis.com";
pub const DEFAULT_IAMCREDENTIALS_ENDPOINT: &str = "https://iamcredentials.googleapis.com";
pub const DEFAULT_CRM_ENDPOINT: &str = "https://cloudresourcemanager.googleapis.com";
pub const DEFAULT_COMPUTE_ENDPOINT: &str = "https://compute.googleapis.com";
/// Each org's provider allows its own audience: the org replaces `{org_id}`.
pub const DEFAULT_WIF_AUDIENCE: &str = "https://alpha-swarm.ai/gcp/{org_id}";

#[derive(Debug, Clone)]
pub struct GcpConfig {
    /// Base URLs without a trailing `/`.
    pub sts_endpoint: String,
    pub iamcredentials_endpoint: String,
    pub crm_endpoint: String,
    pub compute_endpoint: String,
    pub audience: AudienceTemplate,
    /// How long step 3 retries while a new IAM binding propagates.
    pub settle: Duration,
}

impl GcpConfig {
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<Self, ConfigError> {
        let endpoint = |var: &'static str, default: &str| {
            let raw = get(var).unwrap_or_else(|| default.to_owned());
            crate::accounts::checked_endpoint(&raw, production)
                .map_err(|why| ConfigError::Invalid { var, why })
        };
        let raw_audience = get(WIF_AUDIENCE).unwrap_or_else(|| DEFAULT_WIF_AUDIENCE.to_owned());
        let audience =
            AudienceTemplate::parse(raw_audience.trim()).map_err(|_| ConfigError::Invalid {
                var: WIF_AUDIENCE,
                why: "use an audience containing {org_id} exactly once, e.g. https://alpha-swarm.ai/gcp/{org_id}".into(),
            })?;
        let settle = match get(SETTLE_SECONDS) {
            None => 60,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= 600)
                .ok_or_else(|| ConfigError::Invalid {
                    var: SETTLE_SECONDS,
                    why: "use a whole number of seconds from 0 to 600".into(),
                })?,
        };
        Ok(GcpConfig {
            sts_endpoint: endpoint(STS_ENDPOINT_URL, DEFAULT_STS_ENDPOINT)?,
            iamcredentials_endpoint: endpoint(
                IAMCREDENTIALS_ENDPOINT_URL,
                DEFAULT_IAMCREDENTIALS_ENDPOINT,
            )?,
            crm_endpoint: endpoint(CRM_ENDPOINT_URL, DEFAULT_CRM_ENDPOINT)?,
            compute_endpoint: endpoint(COMPUTE_ENDPOINT_URL, DEFAULT_COMPUTE_ENDPOINT)?,
            audience,
            settle: Duration::from_secs(settle),
        })
    }
}

/// A Google access token (STS's federated token or the service account's).
/// The token itself is a credential: `Debug` hides it, nothing serialises it.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: String) -> Self {
        AccessToken(token)
    }
    pub fn bearer(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// Resource Manager v1 `Project`, the fields the wizard reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub project_id: String,
    pub project_number: String,
    /// `ACTIVE`, `DELETE_REQUESTED`, …
    pub lifecycle_state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub name: String,
    /// `UP` or `DOWN`.
    pub status: String,
    pub zones: Vec<String>,
}

/// The calls the GCP wizard makes.
#[async_trait]
pub trait GcpApi: Send + Sync {
    /// STS token exchange: `assertion` for a federated token of the
    /// provider named by `audience` (its full resource name).
    async fn exchange(&self, audience: &str, assertion: &str) -> Result<AccessToken, GcpError>;

    /// `generateAccessToken` for `service_account` with the federated token.
    async fn impersonate(
        &self,
        federated: &AccessToken,
        service_account: &str,
    ) -> Result<AccessToken, GcpError>;

    /// `generateAccessToken` for `lifetime_seconds` (credential minting):
    /// the token and its `expireTime` as Google sent it.
    async fn impersonate_for(
        &self,
        federated: &AccessToken,
        service_account: &str,
        lifetime_seconds: u32,
    ) -> Result<(AccessToken, String), GcpError>;

    /// Resource Manager v1 `projects.get`.
    async fn project(&self, token: &AccessToken, project_id: &str) -> Result<Project, GcpError>;

    /// Resource Manager v1 `projects.testIamPermissions`: the subset held.
    async fn test_permissions(
        &self,
        token: &AccessToken,
        project_id: &str,
        permissions: &[&str],
    ) -> Result<Vec<String>, GcpError>;

    /// Compute v1 `regions.list` (every page).
    async fn regions(&self, token: &AccessToken, project_id: &str)
    -> Result<Vec<Region>, GcpError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)], production: bool) -> Result<GcpConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GcpConfig::from_lookup(|k| map.get(k).cloned(), production)
    }

    #[test]
    fn defaults_are_googles_endpoints() {
        let c = parse(&[], true).unwrap();
        assert_eq!(c.sts_endpoint, DEFAULT_STS_ENDPOINT);
        assert_eq!(c.iamcredentials_endpoint, DEFAULT_IAMCREDENTIALS_ENDPOINT);
        assert_eq!(c.crm_endpoint, DEFAULT_CRM_ENDPOINT);
        assert_eq!(c.compute_endpoint, DEFAULT_COMPUTE_ENDPOINT);
        assert_eq!(c.audience.as_str(), DEFAULT_WIF_AUDIENCE);
        assert_eq!(c.settle, Duration::from_secs(60));
    }

    #[test]
    fn endpoints_are_https_in_production_and_each_is_named_when_wrong() {
        for var in [
            STS_ENDPOINT_URL,
            IAMCREDENTIALS_ENDPOINT_URL,
            CRM_ENDPOINT_URL,
            COMPUTE_ENDPOINT_URL,
        ] {
            let local = [(var, "http://127.0.0.1:9/")];
            assert!(parse(&local, false).is_ok(), "{var}");
            assert_eq!(parse(&local, true).unwrap_err().var(), var);
            assert_eq!(parse(&[(var, "ftp://x")], false).unwrap_err().var(), var);
            assert_eq!(
                parse(&[(var, "https://u:p@x/")], false).unwrap_err().var(),
                var
            );
        }
        assert_eq!(
            parse(&[(STS_ENDPOINT_URL, "http://127.0.0.1:9/")], false)
                .unwrap()
                .sts_endpoint,
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn the_audience_is_a_template_and_settle_is_bounded() {
        assert_eq!(
            parse(&[(WIF_AUDIENCE, "https://x/gcp")], false)
                .unwrap_err()
                .var(),
            WIF_AUDIENCE
        );
        assert_eq!(
            parse(&[(SETTLE_SECONDS, "601")], false).unwrap_err().var(),
            SETTLE_SECONDS
        );
        let c = parse(
            &[(WIF_AUDIENCE, "//alpha/{org_id}"), (SETTLE_SECONDS, "0")],
            false,
        )
        .unwrap();
        assert_eq!(c.audience.as_str(), "//alpha/{org_id}");
        assert_eq!(c.settle, Duration::ZERO);
    }
}
