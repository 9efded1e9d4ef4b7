//! AWS API clients (STS, IAM, EC2) behind [`AwsApi`](crate::aws::AwsApi) so fakes can stand in.
//!
//! The real implementation, [`QueryClient`](crate::aws::QueryClient), speaks the AWS Query protocol
//! (form-encoded POST, XML answers) over HTTPS, signs with the official
//! `aws-sigv4` crate and parses with `quick-xml`. It deliberately does not use
//! the `aws-sdk-sts`/`-iam`/`-ec2` crates: four calls do not justify their
//! compile time on a 2-core machine (aws-sdk-ec2 alone is enormous).
//!
//! How the wizard steps use it: step 3 wraps `assume_role` (with the external
//! id) in [`retry_while_settling`](crate::aws::retry_while_settling) (about a minute, 1 s initial backoff) and
//! reports `attempts`, compares `caller_identity().account` with the ARN's
//! account, then calls `assume_role` once more *without* the external id: if
//! that succeeds the trust policy is unsafe (confused deputy). A step's
//! `region` goes through [`AwsApi::in_region`](crate::aws::AwsApi::in_region).
//!
//! Secrets: [`AssumedCredentials`](crate::aws::AssumedCredentials) redacts its secret and session token in
//! `Debug`, is not `Serialize`, and no error message ever carries either.

mod client;
mod endpoints;
mod error;
mod retry;
mod xml;

pub(crate) use client::describe_transport;
pub use client::{QueryClient, ensure_tls_provider};
pub use endpoints::{
    AwsConfig, DEFAULT_REGION, ENDPOINT_URL_VAR, Endpoints, IAM_ENDPOINT_URL_VAR, Partition,
};
pub use error::{AwsError, Operation};
pub use retry::{Clock, Settled, Settling, TokioClock, VirtualClock, retry_while_settling};

use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

/// The calls the onboarding wizard makes. `assume_role` uses the platform's
/// own credentials; every other call uses the customer role's credentials.
#[async_trait]
pub trait AwsApi: Send + Sync {
    /// The same API with STS and EC2 calls sent to `region` (a wizard step's
    /// `region`; IAM stays global). STS answers `region_disabled` there when
    /// the account has not enabled the region.
    fn in_region(self: Arc<Self>, region: &str) -> Result<Arc<dyn AwsApi>, AwsError>;

    /// `sts:AssumeRole`, with the external id when given.
    async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<AssumedCredentials, AwsError>;

    /// `sts:AssumeRole` for `duration_seconds` (credential minting; the
    /// wizard's calls use the 15-minute minimum).
    async fn assume_role_for(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
        duration_seconds: u32,
    ) -> Result<AssumedCredentials, AwsError>;

    /// `sts:GetCallerIdentity` as the assumed role.
    async fn caller_identity(&self, creds: &AssumedCredentials)
    -> Result<CallerIdentity, AwsError>;

    /// `iam:SimulatePrincipalPolicy` for `policy_source_arn`, one result per action.
    async fn simulate_principal_policy(
        &self,
        creds: &AssumedCredentials,
        policy_source_arn: &str,
        actions: &[String],
    ) -> Result<Vec<SimulationResult>, AwsError>;

    /// `ec2:DescribeRegions` with `AllRegions=true`, as the assumed role.
    async fn describe_regions(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<Vec<RegionInfo>, AwsError>;
}

/// Temporary credentials from `AssumeRole`. Never serialised, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumedCredentials {
    pub access_key_id: String,
    secret_access_key: String,
    session_token: String,
    /// As AWS sent it (ISO 8601), for display and audit only.
    pub expiration: String,
    /// `arn:aws:sts::<account>:assumed-role/<name>/<session>`.
    pub assumed_role_arn: String,
}

impl AssumedCredentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: impl Into<String>,
        expiration: impl Into<String>,
        assumed_role_arn: impl Into<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: session_token.into(),
            expiration: expiration.into(),
            assumed_role_arn: assumed_role_arn.into(),
        }
    }

    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    pub fn session_token(&self) -> &str {
        &self.session_token
    }
}

impl std::fmt::Debug for AssumedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish()
    }
}

/// `GetCallerIdentity`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// `EvalDecision` of one simulated action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    /// AWS's spelling: `allowed`, `explicitDeny`, `implicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "allowed" => Some(Decision::Allowed),
            "explicitDeny" => Some(Decision::ExplicitDeny),
            "implicitDeny" => Some(Decision::ImplicitDeny),
            _ => None,
        }
    }

    pub fn is_granted(self) -> bool {
        self == Decision::Allowed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimulationResult {
    pub action: String,
    pub decision: Decision,
}

/// One entry of `DescribeRegions`; `opt_in_status` is
/// `opt-in-not-required | opted-in | not-opted-in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionInfo {
    pub name: String,
    pub endpoint: String,
    pub opt_in_status: String,
}
