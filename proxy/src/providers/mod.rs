//! The wizard's per-cloud seam. Every cloud (AWS, Azure and Cloudflare now;
//! GCP later) implements [`CloudProvider`] (HuggingFace and Docker Hub, which
//! hold a token without a wizard, implement
//! [`AccountProvider`](crate::accounts::AccountProvider)); the routes stay
//! generic: they authenticate, audit and store, and hand each step's JSON
//! body to the provider of the URL's cloud.
//! Bodies and results are JSON values so each provider owns its typed shapes
//! (parsed with [`crate::error::parse_body`]) without the routes knowing them.

pub mod aws;
pub mod azure;
pub mod cloudflare;
pub mod gcp;

use crate::aws::Settling;
pub use crate::credentials::routes::Minted;
use crate::error::ApiError;
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use async_trait::async_trait;
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;

/// The wizard steps that run behind a fresh step-up and write audit rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ValidateIdentity,
    ValidatePermissions,
    EnumerateResources,
    Connect,
    Disconnect,
}

impl Step {
    pub fn from_path(segment: &str) -> Option<Step> {
        Some(match segment {
            "validate-identity" => Step::ValidateIdentity,
            "validate-permissions" => Step::ValidatePermissions,
            "enumerate-resources" => Step::EnumerateResources,
            "connect" => Step::Connect,
            _ => return None,
        })
    }

    /// The name written to audit rows.
    pub fn audit_name(self) -> &'static str {
        match self {
            Step::ValidateIdentity => "validate_identity",
            Step::ValidatePermissions => "validate_permissions",
            Step::EnumerateResources => "enumerate_resources",
            Step::Connect => "connect",
            Step::Disconnect => "disconnect",
        }
    }
}

/// What connect persists: plain metadata, values only ever shown masked,
/// and secrets (a Cloudflare token) never shown in any form.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub metadata: BTreeMap<String, String>,
    pub sensitive: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    /// The cloud account, which serves one org only; `None`: no such rule.
    pub exclusive: Option<Exclusive>,
}

/// Metadata no other org's connection of the same kind may share, checked
/// and saved in one step ([`crate::store::IntegrationStore::put_unless_claimed`]), and
/// the 409 when organisation `other` already holds it (given the metadata).
#[derive(Debug, Clone)]
pub struct Exclusive {
    pub same: Vec<(String, String)>,
    pub taken: fn(other: &str, metadata: &BTreeMap<String, String>) -> ApiError,
}

#[async_trait]
pub trait CloudProvider: Send + Sync {
    /// The URL segment, e.g. `aws`.
    fn cloud(&self) -> &'static str;
    /// The integration kind and credential-key kind, e.g. `cloud_aws`.
    fn integration_kind(&self) -> &'static str;
    /// Step 2: the artifacts to set up the cloud side (no cloud call).
    async fn bootstrap(&self, org: &OrgId, body: Value) -> Result<Value, ApiError>;
    /// Step 3: prove the federated identity works (and is not usable by others).
    async fn validate_identity(&self, org: &OrgId, body: Value) -> Result<Value, ApiError>;
    /// Step 4: compare what the identity may do with the baseline.
    async fn validate_permissions(&self, org: &OrgId, body: Value) -> Result<Value, ApiError>;
    /// Step 4*: list what the identity can see (regions, projects, zones...).
    async fn enumerate_resources(&self, org: &OrgId, body: Value) -> Result<Value, ApiError>;
    /// Step 5: confirm once more and say what to store.
    async fn connect(&self, org: &OrgId, body: Value) -> Result<Connection, ApiError>;
    /// What the operator still has to remove on the vendor side after disconnect.
    fn disconnect_cleanup(&self, org: &OrgId, record: Option<&StoredIntegration>) -> Vec<String>;
    /// Re-checks a stored connection for the health route and the
    /// background sweep: the same proof as connect, from the stored
    /// metadata, without waiting for anything to settle. `None` (the
    /// default) means this cloud has no health check yet: the route answers
    /// `health_check_not_supported` and the sweep leaves its records alone.
    /// Build the verdict with [`HealthCheck::from_error`], which judges an
    /// [`ApiError`] by its status (422 failed; 502 retryable; 503 degraded).
    async fn health(&self, _org: &OrgId, _record: &StoredIntegration) -> Option<HealthCheck> {
        None
    }
    /// Mints a short-lived credential from the stored connection `record`
    /// (seed 000's last section), valid for `duration_seconds`. The default
    /// answers `mint_not_supported`.
    async fn mint(
        &self,
        _org: &OrgId,
        _record: &StoredIntegration,
        _duration_seconds: u32,
    ) -> Result<Minted, ApiError> {
        Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "mint_not_supported",
            format!(
                "This proxy cannot mint short-lived credentials for {} yet.",
                self.cloud()
            ),
            "Mint from an AWS, Azure or GCP connection.",
        )
        .with_field("cloud_kind"))
    }
}

/// A minted credential's expiry as RFC 3339: what the cloud said, or, when
/// its text is unreadable, now plus the requested duration (the bound).
pub fn expiry_text(cloud_said: &str, duration_seconds: u32) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(cloud_said, &Rfc3339) {
        Ok(at) => at.format(&Rfc3339).unwrap_or_default(),
        Err(_) => expiry_after(duration_seconds),
    }
}

/// Now plus `seconds`, as RFC 3339.
pub fn expiry_after(seconds: u32) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds.into()))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One attempt's failure while a cloud settles: the cloud's answer (retried
/// while it says a change is still propagating), or a local failure that
/// stops at once.
pub enum Attempt<E> {
    Cloud(E),
    Stop(ApiError),
}

impl<E: Settling> Settling for Attempt<E> {
    fn is_retryable_while_settling(&self) -> bool {
        matches!(self, Attempt::Cloud(e) if e.is_retryable_while_settling())
    }
}

impl Settling for crate::azure::AzureError {
    fn is_retryable_while_settling(&self) -> bool {
        crate::azure::AzureError::is_retryable_while_settling(self)
    }
}

impl Settling for crate::gcp::GcpError {
    fn is_retryable_while_settling(&self) -> bool {
        crate::gcp::GcpError::is_retryable_while_settling(self)
    }
}

/// No assertion could be minted (the federation keys are unusable).
pub fn federation_error(e: crate::federation::FederationError) -> ApiError {
    tracing::error!(error = %e, "no assertion could be minted");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "federation_keys_unavailable",
        "The proxy's federation signing keys cannot be used, so no assertion was minted.",
        "See the proxy's log; check the key file in the state directory and ALPHASWARM_ADMIN_INTEGRATIONS_KEY.",
    )
}
