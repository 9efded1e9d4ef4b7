//! AWS: cross-account IAM role with a per-org `sts:ExternalId`.
//!
//! [`AwsCalls`] is the narrow seam to the AWS client (STS, IAM, EC2); the
//! real SigV4 client implements it, tests use [`super::fake_aws::FakeAws`].

use super::{CloudProvider, Connection};
use crate::config::{PARTNER_ACCOUNT_ID, Secret};
use crate::error::{ApiError, parse_body};
use crate::seams::{self, AwsBundleInput, RoleArn};
use crate::store::StoredIntegration;
use alphaswarm_core::{AwsAccountId, CloudKind, ExternalId, OrgId};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Temporary credentials from `sts:AssumeRole`. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// The assumed-role ARN STS reports (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`).
    pub assumed_role_arn: String,
}

impl std::fmt::Debug for AssumedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    pub action: String,
    /// IAM's `EvalDecision`: `allowed`, `implicitDeny` or `explicitDeny`.
    pub decision: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    pub name: String,
    pub endpoint: String,
    pub opt_in_status: String,
}

/// A failed AWS call, classified. `code` is stable: `assume_role_access_denied`,
/// `role_not_found`, `region_disabled`, `aws_unreachable`, `aws_error`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCallError {
    pub code: String,
    pub message: String,
}

impl AwsCallError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AwsCallError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The four AWS calls the wizard makes.
#[async_trait]
pub trait AwsCalls: Send + Sync {
    async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<AssumedCredentials, AwsCallError>;
    async fn caller_identity(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<CallerIdentity, AwsCallError>;
    async fn simulate_principal_policy(
        &self,
        creds: &AssumedCredentials,
        policy_source_arn: &str,
        actions: &[String],
    ) -> Result<Vec<PolicyDecision>, AwsCallError>;
    async fn describe_regions(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<Vec<RegionInfo>, AwsCallError>;
}

/// Stands in when no AWS client is configured: every call says so.
pub struct UnconfiguredAws;

#[async_trait]
impl AwsCalls for UnconfiguredAws {
    async fn assume_role(
        &self,
        _: &str,
        _: Option<&str>,
        _: &str,
    ) -> Result<AssumedCredentials, AwsCallError> {
        Err(unconfigured())
    }
    async fn caller_identity(
        &self,
        _: &AssumedCredentials,
    ) -> Result<CallerIdentity, AwsCallError> {
        Err(unconfigured())
    }
    async fn simulate_principal_policy(
        &self,
        _: &AssumedCredentials,
        _: &str,
        _: &[String],
    ) -> Result<Vec<PolicyDecision>, AwsCallError> {
        Err(unconfigured())
    }
    async fn describe_regions(
        &self,
        _: &AssumedCredentials,
    ) -> Result<Vec<RegionInfo>, AwsCallError> {
        Err(unconfigured())
    }
}

fn unconfigured() -> AwsCallError {
    AwsCallError::new(
        "aws_client_unavailable",
        "This build of the proxy has no AWS client wired in.",
    )
}

/// Converts a classified AWS failure to the HTTP error of API.md.
pub fn aws_error(error: AwsCallError) -> ApiError {
    let (status, hint, field) = match error.code.as_str() {
        "assume_role_access_denied" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "AccessDenied usually means the trust policy is not applied yet, names another account, or expects a different external id. Re-apply the trust_policy.json from step 2 and retry.",
            Some("role_arn"),
        ),
        "role_not_found" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "No role with this ARN exists: check the account id and role name, or create the role with the step 2 commands.",
            Some("role_arn"),
        ),
        "region_disabled" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "STS is disabled in this region for the account: enable the region (Account settings) or pick another one.",
            Some("region"),
        ),
        "aws_unreachable" => (
            StatusCode::BAD_GATEWAY,
            "The proxy could not reach AWS: check its network access and retry.",
            None,
        ),
        "aws_client_unavailable" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Run a proxy build with the AWS client, or set the AWS endpoint.",
            None,
        ),
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "AWS refused the call; the message says why.",
            Some("role_arn"),
        ),
    };
    let mut api = ApiError::new(status, &error.code, error.message, hint);
    api.field = field.map(str::to_owned);
    api
}

pub struct AwsSettings {
    pub partner_account_id: Option<AwsAccountId>,
    pub external_id_secret: Secret,
    pub role_name_pattern: String,
    /// How long AssumeRole is retried while a fresh role's trust policy settles.
    pub settle: Duration,
}

pub struct AwsProvider {
    calls: Arc<dyn AwsCalls>,
    settings: AwsSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapBody {
    region: Option<String>,
    #[serde(default)]
    organizational_unit_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role_arn: String,
    region: Option<String>,
}

const DEFAULT_REGION: &str = "us-east-1";

impl AwsProvider {
    pub fn new(calls: Arc<dyn AwsCalls>, settings: AwsSettings) -> Self {
        AwsProvider { calls, settings }
    }

    fn external_id(&self, org: &OrgId) -> Result<ExternalId, ApiError> {
        Ok(seams::derive_external_id(
            self.settings.external_id_secret.expose().as_bytes(),
            CloudKind::Aws,
            org,
        )?)
    }

    fn role_body(body: Value) -> Result<(RoleArn, String), ApiError> {
        let body: RoleBody = parse_body(body)?;
        let arn = seams::parse_role_arn(body.role_arn.trim())?;
        let region = match body.region.as_deref() {
            Some(r) => seams::parse_region(r.trim())?,
            None => DEFAULT_REGION.to_owned(),
        };
        Ok((arn, region))
    }

    /// STS session names: 2-64 of `[\w+=,.@-]`.
    fn session_name(org: &OrgId, purpose: &str) -> String {
        let mut name = format!("alphaswarm-{purpose}-{org}");
        name.truncate(64);
        name
    }

    /// AssumeRole with the external id, retried with backoff while the
    /// error is AccessDenied and the settle window lasts (IAM is eventually
    /// consistent: a just-created role is refused for a while).
    async fn assume_settled(
        &self,
        arn: &RoleArn,
        external_id: &ExternalId,
        session: &str,
    ) -> Result<(AssumedCredentials, u32), ApiError> {
        let deadline = Instant::now() + self.settings.settle;
        let mut delay = Duration::from_millis(500);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match self
                .calls
                .assume_role(&arn.arn, Some(external_id.as_str()), session)
                .await
            {
                Ok(creds) => return Ok((creds, attempts)),
                Err(e)
                    if e.code == "assume_role_access_denied"
                        && Instant::now() + delay <= deadline =>
                {
                    tracing::info!(attempts, "AssumeRole refused; retrying while IAM settles");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                Err(e) => {
                    let mut api = aws_error(e);
                    if attempts > 1 {
                        api.message = format!("{} (after {attempts} attempts)", api.message);
                    }
                    return Err(api);
                }
            }
        }
    }

    /// AssumeRole + GetCallerIdentity; the identity's account must be the ARN's.
    async fn confirmed_identity(
        &self,
        org: &OrgId,
        arn: &RoleArn,
        purpose: &str,
    ) -> Result<(AssumedCredentials, CallerIdentity, u32), ApiError> {
        let external_id = self.external_id(org)?;
        let (creds, attempts) = self
            .assume_settled(arn, &external_id, &Self::session_name(org, purpose))
            .await?;
        let identity = self
            .calls
            .caller_identity(&creds)
            .await
            .map_err(aws_error)?;
        if identity.account != arn.account_id.as_str() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account_mismatch",
                format!(
                    "The role answered from account {}, but the ARN names account {}.",
                    identity.account, arn.account_id
                ),
                "Paste the ARN of the role in the account you are connecting.",
            )
            .with_field("role_arn"));
        }
        Ok((creds, identity, attempts))
    }
}

#[async_trait]
impl CloudProvider for AwsProvider {
    fn cloud(&self) -> &'static str {
        "aws"
    }

    fn integration_kind(&self) -> &'static str {
        CloudKind::Aws.integration_kind()
    }

    async fn bootstrap(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let body: BootstrapBody = parse_body(body)?;
        let partner = self.settings.partner_account_id.as_ref().ok_or_else(|| {
            ApiError::not_configured(
                PARTNER_ACCOUNT_ID,
                "AWS bootstrap needs AlphaSwarm's AWS account id, and the proxy has none.",
            )
        })?;
        let region = body
            .region
            .as_deref()
            .map(|r| seams::parse_region(r.trim()))
            .transpose()?;
        if !body.organizational_unit_ids.is_empty() {
            return Err(ApiError::bad_request(
                "stacksets_not_supported",
                "Organizational unit targets (StackSets) are not rendered by this proxy yet.",
                "Leave organizational_unit_ids empty and connect each account with its own role.",
            )
            .with_field("organizational_unit_ids"));
        }
        let external_id = self.external_id(org)?;
        let role_name = seams::aws_role_name(&self.settings.role_name_pattern, org)?;
        let bundle = seams::render_aws_bundle(&AwsBundleInput {
            org,
            partner_account_id: partner,
            external_id: &external_id,
            role_name_pattern: &self.settings.role_name_pattern,
            region: region.as_deref(),
        })?;
        Ok(json!({ "bundle": bundle, "external_id": external_id, "role_name": role_name }))
    }

    async fn validate_identity(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (arn, _region) = Self::role_body(body)?;
        let (creds, identity, attempts) = self.confirmed_identity(org, &arn, "validate").await?;
        // Confused-deputy check: the role must refuse us without the external id.
        match self
            .calls
            .assume_role(&arn.arn, None, &Self::session_name(org, "deputy-check"))
            .await
        {
            Ok(_) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "trust_policy_unsafe",
                    "The role can be assumed WITHOUT the external id, so any AWS customer of AlphaSwarm could reach it (confused deputy).",
                    "Add the Condition {\"StringEquals\": {\"sts:ExternalId\": \"<external id>\"}} from step 2's trust_policy.json and retry.",
                )
                .with_field("role_arn"));
            }
            Err(e) if e.code == "assume_role_access_denied" => {}
            Err(e) => return Err(aws_error(e)),
        }
        Ok(json!({
            "account_id": identity.account,
            "role_arn": arn.arn,
            "assumed_arn": if identity.arn.is_empty() { creds.assumed_role_arn.clone() } else { identity.arn },
            "attempts": attempts,
            "confused_deputy": {
                "safe": true,
                "message": "AssumeRole without the external id was refused, as it must be."
            }
        }))
    }

    async fn validate_permissions(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (arn, _region) = Self::role_body(body)?;
        let (creds, _, _) = self.confirmed_identity(org, &arn, "permissions").await?;
        let baseline = seams::aws_baseline_actions();
        let decisions = self
            .calls
            .simulate_principal_policy(&creds, &arn.arn, &baseline)
            .await
            .map_err(aws_error)?;
        let results: Vec<Value> = baseline
            .iter()
            .map(|action| {
                let decision = decisions
                    .iter()
                    .find(|d| d.action.eq_ignore_ascii_case(action))
                    .map(|d| d.decision.clone())
                    .unwrap_or_else(|| "implicitDeny".to_owned());
                json!({ "action": action, "granted": decision == "allowed", "decision": decision })
            })
            .collect();
        let pick = |granted: bool| -> Vec<Value> {
            results
                .iter()
                .filter(|r| r["granted"] == granted)
                .map(|r| r["action"].clone())
                .collect()
        };
        Ok(json!({ "granted": pick(true), "missing": pick(false), "results": results }))
    }

    async fn enumerate_resources(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (arn, _region) = Self::role_body(body)?;
        let (creds, _, _) = self.confirmed_identity(org, &arn, "enumerate").await?;
        let regions = self
            .calls
            .describe_regions(&creds)
            .await
            .map_err(aws_error)?;
        let regions: Vec<Value> = regions
            .into_iter()
            .map(|r| json!({ "name": r.name, "endpoint": r.endpoint, "opt_in_status": r.opt_in_status }))
            .collect();
        Ok(json!({ "regions": regions }))
    }

    async fn connect(&self, org: &OrgId, body: Value) -> Result<Connection, ApiError> {
        let (arn, region) = Self::role_body(body)?;
        let (_, identity, _) = self.confirmed_identity(org, &arn, "connect").await?;
        let external_id = self.external_id(org)?;
        Ok(Connection {
            metadata: BTreeMap::from([
                ("account_id".to_owned(), identity.account),
                ("role_arn".to_owned(), arn.arn),
                ("region".to_owned(), region),
            ]),
            sensitive: BTreeMap::from([("external_id".to_owned(), external_id.to_string())]),
        })
    }

    fn disconnect_cleanup(&self, org: &OrgId, record: Option<&StoredIntegration>) -> Vec<String> {
        let role = record
            .and_then(|r| r.metadata.get("role_arn"))
            .cloned()
            .unwrap_or_else(|| {
                seams::aws_role_name(&self.settings.role_name_pattern, org)
                    .unwrap_or_else(|_| "the AlphaSwarm broker role".to_owned())
            });
        vec![
            format!("Delete the IAM role {role} in the customer account (detach its policies first: aws iam list-attached-role-policies, aws iam detach-role-policy, then aws iam delete-role)."),
            "If the role was created by a CloudFormation stack or StackSet, delete the stack instead.".to_owned(),
            "AlphaSwarm does not request the permissions to delete principals, so this clean-up is yours.".to_owned(),
        ]
    }
}
