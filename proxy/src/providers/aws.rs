//! AWS: cross-account IAM role with a per-org `sts:ExternalId`.
//!
//! Everything AWS-shaped comes from the core (`aws::render` for the bundle,
//! `aws::RoleArn`, `aws::AwsRegion`, `aws::role_name`, the external id and
//! the baseline); the calls go through [`crate::aws::AwsApi`], the real
//! SigV4 client (tests point it at moto or at the loopback AWS fake).

use super::{CloudProvider, Connection, Minted};
use crate::aws::{
    AssumedCredentials, AwsApi, AwsError, CallerIdentity, Clock, retry_while_settling,
};
use crate::config::{PARTNER_ACCOUNT_ID, Secret};
use crate::error::{ApiError, parse_body};
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::aws::{self as core_aws, AwsBootstrapRequest, AwsRegion, RoleArn};
use alphaswarm_core::baseline::{compare_baseline, required_permissions};
use alphaswarm_core::external_id::derive_external_id;
use alphaswarm_core::ids::TemplateUrl;
use alphaswarm_core::{AwsAccountId, CloudKind, CoreError, ExternalId, OrgId};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The first pause between AssumeRole attempts while a fresh role settles.
const SETTLE_INITIAL_BACKOFF: Duration = Duration::from_secs(1);

/// The one place an AWS failure becomes an HTTP error: the classified
/// error's own code, message, field and hint, with its status.
pub fn aws_error(error: AwsError) -> ApiError {
    if let Some(aws_code) = error.aws_code() {
        tracing::info!(code = error.code(), aws_code, "AWS refused a call");
    }
    let mut api = ApiError::from_core(&error);
    api.status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
    api
}

pub struct AwsSettings {
    pub partner_account_id: Option<AwsAccountId>,
    pub external_id_secret: Secret,
    pub role_name_pattern: core_aws::RoleNamePattern,
    /// Hosted CloudFormation template: adds the quick-create link to the bundle.
    pub template_url: Option<TemplateUrl>,
    /// How long AssumeRole is retried while a fresh role's trust policy settles.
    pub settle: Duration,
    /// Times those retries (injected: tests count attempts in virtual time).
    pub clock: Arc<dyn Clock>,
}

pub struct AwsProvider {
    aws: Arc<dyn AwsApi>,
    settings: AwsSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapBody {
    region: Option<String>,
    partition: Option<String>,
    #[serde(default)]
    organizational_unit_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role_arn: String,
    region: Option<String>,
}

/// A step's validated input.
struct RoleRequest {
    arn: RoleArn,
    region: AwsRegion,
}

impl AwsProvider {
    pub fn new(aws: Arc<dyn AwsApi>, settings: AwsSettings) -> Self {
        AwsProvider { aws, settings }
    }

    fn external_id(&self, org: &OrgId) -> Result<ExternalId, ApiError> {
        Ok(derive_external_id(
            self.settings.external_id_secret.expose().as_bytes(),
            CloudKind::Aws,
            org,
        )?)
    }

    /// The role ARN, and the region (default: the ARN partition's first
    /// region), which must lie in the ARN's partition.
    fn role_request(body: Value) -> Result<RoleRequest, ApiError> {
        let body: RoleBody = parse_body(body)?;
        let arn = RoleArn::parse(&body.role_arn).map_err(|e| e.at("role_arn"))?;
        let region = match body.region.as_deref() {
            Some(r) => AwsRegion::parse(r).map_err(|e| e.at("region"))?,
            None => arn.partition.default_region(),
        };
        if region.partition() != arn.partition {
            return Err(ApiError::bad_request(
                "region_partition_mismatch",
                format!(
                    "The region {region} is in partition {}, but the role ARN is in {}.",
                    region.partition(),
                    arn.partition
                ),
                "Pick a region of the role's partition (aws, aws-cn or aws-us-gov), or leave region empty.",
            )
            .with_field("region"));
        }
        Ok(RoleRequest { arn, region })
    }

    /// The AWS API with STS and EC2 in the step's region.
    fn regional(&self, region: &AwsRegion) -> Result<Arc<dyn AwsApi>, ApiError> {
        self.aws
            .clone()
            .in_region(region.as_str())
            .map_err(aws_error)
    }

    /// STS session names: 2-64 of `[\w+=,.@-]`.
    fn session_name(org: &OrgId, purpose: &str) -> String {
        let mut name = format!("alphaswarm-{purpose}-{org}");
        name.truncate(64);
        name
    }

    /// AssumeRole with the external id (retried while IAM settles), then
    /// GetCallerIdentity: the identity's account must be the ARN's.
    async fn confirmed_identity(
        &self,
        aws: &dyn AwsApi,
        org: &OrgId,
        arn: &RoleArn,
        purpose: &str,
        settle: Duration,
    ) -> Result<(AssumedCredentials, CallerIdentity, u32), ApiError> {
        let external_id = self.external_id(org)?;
        let role_arn = arn.to_string();
        let session = Self::session_name(org, purpose);
        let settled = retry_while_settling(
            self.settings.clock.as_ref(),
            settle,
            SETTLE_INITIAL_BACKOFF,
            || aws.assume_role(&role_arn, Some(external_id.as_str()), &session),
        )
        .await;
        let attempts = settled.attempts;
        let creds = settled.result.map_err(|e| {
            let mut api = aws_error(e);
            if attempts > 1 {
                api.message = format!("{} (after {attempts} attempts)", api.message);
            }
            api
        })?;
        let identity = aws.caller_identity(&creds).await.map_err(aws_error)?;
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

    fn role_name(&self, org: &OrgId) -> String {
        core_aws::role_name(&self.settings.role_name_pattern, org).value
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
        let external_id = self.external_id(org)?;
        let bundle = core_aws::render(&AwsBootstrapRequest {
            org_id: org.to_string(),
            partner_account_id: partner.to_string(),
            external_id: external_id.to_string(),
            partition: body.partition,
            region: body.region,
            role_name_pattern: Some(self.settings.role_name_pattern.to_string()),
            role_path: None,
            template_url: self.settings.template_url.as_ref().map(ToString::to_string),
            organizational_unit_ids: Some(body.organizational_unit_ids),
            managed_policy: None,
        })?;
        Ok(json!({
            "bundle": bundle,
            "external_id": external_id,
            "role_name": self.role_name(org),
        }))
    }

    async fn validate_identity(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let RoleRequest { arn, region } = Self::role_request(body)?;
        let aws = self.regional(&region)?;
        let (creds, identity, attempts) = self
            .confirmed_identity(aws.as_ref(), org, &arn, "validate", self.settings.settle)
            .await?;
        // Confused-deputy check: the role must refuse us without the external id.
        let without_external_id = aws
            .assume_role(
                &arn.to_string(),
                None,
                &Self::session_name(org, "deputy-check"),
            )
            .await;
        match without_external_id {
            Ok(_) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "trust_policy_unsafe",
                    "The role can be assumed WITHOUT the external id, so any AWS customer of AlphaSwarm could reach it (confused deputy).",
                    "Add the Condition {\"StringEquals\": {\"sts:ExternalId\": \"<external id>\"}} from step 2's trust_policy.json and retry.",
                )
                .with_field("role_arn"));
            }
            Err(AwsError::AssumeRoleAccessDenied { .. }) => {}
            Err(e) => return Err(aws_error(e)),
        }
        Ok(json!({
            "account_id": identity.account,
            "role_arn": arn.to_string(),
            "region": region,
            "assumed_arn": if identity.arn.is_empty() { creds.assumed_role_arn.clone() } else { identity.arn },
            "attempts": attempts,
            "confused_deputy": {
                "safe": true,
                "message": "AssumeRole without the external id was refused, as it must be."
            }
        }))
    }

    async fn validate_permissions(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let RoleRequest { arn, region } = Self::role_request(body)?;
        let aws = self.regional(&region)?;
        let (creds, _, _) = self
            .confirmed_identity(aws.as_ref(), org, &arn, "permissions", self.settings.settle)
            .await?;
        let baseline: Vec<String> = required_permissions(CloudKind::Aws, None)?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let decisions = aws
            .simulate_principal_policy(&creds, &arn.to_string(), &baseline)
            .await
            .map_err(aws_error)?;
        let granted: Vec<String> = decisions
            .iter()
            .filter(|d| d.decision.is_granted())
            .map(|d| d.action.clone())
            .collect();
        let report = compare_baseline(CloudKind::Aws, None, &granted)?;
        let results: Vec<Value> = report
            .required
            .iter()
            .map(|action| {
                let decision = decisions
                    .iter()
                    .find(|d| d.action.eq_ignore_ascii_case(action))
                    .map_or("implicitDeny", |d| d.decision.as_str());
                json!({
                    "action": action,
                    "granted": !report.missing.contains(action),
                    "decision": decision,
                })
            })
            .collect();
        let granted: Vec<&String> = report
            .required
            .iter()
            .filter(|a| !report.missing.contains(a))
            .collect();
        Ok(json!({
            "granted": granted,
            "missing": report.missing,
            "satisfied": report.satisfied,
            "results": results,
        }))
    }

    async fn enumerate_resources(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let RoleRequest { arn, region } = Self::role_request(body)?;
        let aws = self.regional(&region)?;
        let (creds, _, _) = self
            .confirmed_identity(aws.as_ref(), org, &arn, "enumerate", self.settings.settle)
            .await?;
        let regions = aws.describe_regions(&creds).await.map_err(aws_error)?;
        Ok(json!({ "regions": regions }))
    }

    async fn connect(&self, org: &OrgId, body: Value) -> Result<Connection, ApiError> {
        let RoleRequest { arn, region } = Self::role_request(body)?;
        let aws = self.regional(&region)?;
        let (_, identity, _) = self
            .confirmed_identity(aws.as_ref(), org, &arn, "connect", self.settings.settle)
            .await?;
        let external_id = self.external_id(org)?;
        Ok(Connection {
            metadata: BTreeMap::from([
                ("account_id".to_owned(), identity.account),
                ("role_arn".to_owned(), arn.to_string()),
                ("region".to_owned(), region.to_string()),
            ]),
            sensitive: BTreeMap::from([("external_id".to_owned(), external_id.to_string())]),
            ..Connection::default()
        })
    }

    /// AssumeRole with the external id, once (a deleted role stays deleted;
    /// no settle window), and GetCallerIdentity in the stored region.
    async fn health(&self, org: &OrgId, record: &StoredIntegration) -> Option<HealthCheck> {
        let body = json!({
            "role_arn": record.metadata.get("role_arn"),
            "region": record.metadata.get("region"),
        });
        let verdict = async {
            let RoleRequest { arn, region } = Self::role_request(body)?;
            let aws = self.regional(&region)?;
            self.confirmed_identity(aws.as_ref(), org, &arn, "health", Duration::ZERO)
                .await
                .map(|_| ())
        };
        Some(match verdict.await {
            Ok(()) => HealthCheck::healthy(),
            Err(problem) => HealthCheck::from_error(problem),
        })
    }

    /// AssumeRole on the connected role with the org's external id, for
    /// `duration_seconds`, once (the role is settled since connect).
    async fn mint(
        &self,
        org: &OrgId,
        record: &StoredIntegration,
        duration_seconds: u32,
    ) -> Result<Minted, ApiError> {
        let RoleRequest { arn, region } = Self::role_request(json!({
            "role_arn": record.metadata.get("role_arn"),
            "region": record.metadata.get("region"),
        }))?;
        let aws = self.regional(&region)?;
        let external_id = self.external_id(org)?;
        let creds = aws
            .assume_role_for(
                &arn.to_string(),
                Some(external_id.as_str()),
                &Self::session_name(org, "mint"),
                duration_seconds,
            )
            .await
            .map_err(aws_error)?;
        let expires_at = super::expiry_text(&creds.expiration, duration_seconds);
        Ok(Minted {
            secrets: BTreeMap::from([
                ("access_key_id".to_owned(), creds.access_key_id.clone()),
                (
                    "secret_access_key".to_owned(),
                    creds.secret_access_key().to_owned(),
                ),
                ("session_token".to_owned(), creds.session_token().to_owned()),
            ]),
            expires_at,
            metadata: BTreeMap::from([
                ("role_arn".to_owned(), arn.to_string()),
                (
                    "assumed_role_arn".to_owned(),
                    creds.assumed_role_arn.clone(),
                ),
                ("region".to_owned(), region.to_string()),
            ]),
        })
    }

    fn disconnect_cleanup(&self, org: &OrgId, record: Option<&StoredIntegration>) -> Vec<String> {
        let role = record
            .and_then(|r| r.metadata.get("role_arn"))
            .cloned()
            .unwrap_or_else(|| self.role_name(org));
        vec![
            format!("Delete the IAM role {role} in the customer account (detach its policies first: aws iam list-attached-role-policies, aws iam detach-role-policy, then aws iam delete-role)."),
            "If the role was created by a CloudFormation stack or StackSet, delete the stack instead.".to_owned(),
            "AlphaSwarm does not request the permissions to delete principals, so this clean-up is yours.".to_owned(),
        ]
    }
}
