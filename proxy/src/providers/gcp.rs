//! GCP: workload identity federation with AlphaSwarm's own OIDC issuer and
//! impersonation of a service account in the customer's project.
//!
//! Every step mints a fresh assertion for the org's subject and this org's
//! audience, exchanges it at STS for a federated token of the org's
//! provider, impersonates the service account (`generateAccessToken`,
//! retried while a new binding propagates), reads the project and checks
//! its number; then proves isolation: an assertion for another subject must
//! be refused (by the attribute condition at STS, or by the binding at
//! IAM), or the set-up is unsafe and steps 4, 4* and 5 refuse to run.
//! Bundles, ids, the baseline and the fix commands come from the core; the
//! calls go through [`GcpApi`].

use super::{Attempt, CloudProvider, Connection, Exclusive, Minted, federation_error};
use crate::aws::{TokioClock, retry_while_settling};
use crate::error::{ApiError, parse_body};
use crate::federation::FederationIssuer;
use crate::gcp::{AccessToken, GcpApi, GcpConfig, GcpError, GcpService, Project, StepContext};
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::gcp::{
    self as core_gcp, GcpBootstrapRequest, GcpPoolId, GcpProjectId, GcpProjectNumber,
    ValidatedGcpRequest,
};
use alphaswarm_core::ids::{Audience, IdError};
use alphaswarm_core::shell::{Command, Shell};
use alphaswarm_core::{CloudKind, OrgId, RenderError};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The first pause between attempts while a new binding propagates.
const SETTLE_INITIAL_BACKOFF: Duration = Duration::from_secs(1);

pub struct GcpProvider {
    gcp: Arc<dyn GcpApi>,
    federation: Arc<FederationIssuer>,
    config: GcpConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapBody {
    project_id: String,
    project_number: String,
    service_account_email: Option<String>,
    roles: Option<Vec<String>>,
    /// A JWKS to upload with the provider (private issuer), as pasted.
    jwks: Option<String>,
    /// Upload this proxy's own published JWKS (private issuer).
    upload_jwks: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    project_id: String,
    project_number: String,
    /// Absent: the account the bundle creates (`alphaswarm-<org>@<project>…`).
    service_account_email: Option<String>,
    pool_id: Option<String>,
    provider_id: Option<String>,
    /// The roles chosen at step 2 (step 4's baseline); default the core's.
    roles: Option<Vec<String>>,
}

/// A step's request, validated, and every name derived from it.
struct Request {
    v: ValidatedGcpRequest,
    /// STS's `audience` parameter: the provider's full name.
    provider: String,
    pool: String,
    principal: String,
    subject: String,
    condition: String,
    jwks_uri: String,
}

impl Request {
    fn context(&self) -> StepContext<'_> {
        StepContext {
            project_id: self.v.project_id.as_str(),
            project_number: self.v.project_number.as_str(),
            service_account: self.v.service_account.email.as_str(),
            provider: &self.provider,
            pool: &self.pool,
            pool_id: self.v.pool_id.as_str(),
            provider_id: self.v.provider_id.as_str(),
            principal: &self.principal,
            subject: &self.subject,
            issuer: self.v.issuer.as_str(),
            audience: self.v.allowed_audience.as_str(),
            condition: &self.condition,
            jwks_uri: &self.jwks_uri,
        }
    }
}

/// What a successful chain proved.
struct Authenticated {
    token: AccessToken,
    project: Project,
    attempts: u32,
}

/// The project id typed where the number belongs (or the reverse) is the
/// most common paste mistake: say so by name, on the field.
fn swapped_project_fields(project_id: &str, project_number: &str) -> Result<(), ApiError> {
    let (id, number) = (project_id.trim(), project_number.trim());
    if GcpProjectNumber::parse(number).is_err() && GcpProjectId::parse(number).is_ok() {
        return Err(ApiError::bad_request(
            "project_id_in_number_field",
            format!("{number} is a project id, but the project number is asked for here."),
            format!(
                "The project number is all digits: gcloud projects describe {number} --format='value(projectNumber)', or the project dashboard's Project info card."
            ),
        )
        .with_field("project_number"));
    }
    if GcpProjectId::parse(id).is_err() && GcpProjectNumber::parse(id).is_ok() {
        return Err(ApiError::bad_request(
            "project_number_in_id_field",
            format!("{id} is a project number, but the project id is asked for here."),
            "The project id is the lowercase name, e.g. my-project-123 (gcloud projects list shows both).",
        )
        .with_field("project_id"));
    }
    Ok(())
}

fn pool_id_field(value: Option<&str>, field: &'static str) -> Result<Option<GcpPoolId>, ApiError> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            GcpPoolId::parse(s).map_err(|e: IdError| ApiError::from(RenderError::from(e.at(field))))
        })
        .transpose()
}

impl GcpProvider {
    pub fn new(gcp: Arc<dyn GcpApi>, federation: Arc<FederationIssuer>, config: GcpConfig) -> Self {
        GcpProvider {
            gcp,
            federation,
            config,
        }
    }

    /// This org's audience, from the template (valid for every org id).
    fn audience(&self, org: &OrgId) -> Result<Audience, ApiError> {
        self.config.audience.for_org(org).map_err(|_| {
            ApiError::not_configured(
                crate::gcp::WIF_AUDIENCE,
                "The GCP audience template gives no valid audience for this organisation.",
            )
        })
    }

    fn core_request(
        &self,
        org: &OrgId,
        project_id: String,
        project_number: String,
        service_account_email: Option<String>,
        roles: Option<Vec<String>>,
        jwks: Option<String>,
    ) -> Result<GcpBootstrapRequest, ApiError> {
        swapped_project_fields(&project_id, &project_number)?;
        Ok(GcpBootstrapRequest {
            org_id: org.to_string(),
            project_id,
            project_number,
            issuer: self.federation.issuer().to_string(),
            allowed_audience: self.audience(org)?.to_string(),
            service_account_email,
            roles,
            jwks,
        })
    }

    fn request(&self, org: &OrgId, body: Value) -> Result<Request, ApiError> {
        let body: StepBody = parse_body(body)?;
        let pool_id = pool_id_field(body.pool_id.as_deref(), "pool_id")?;
        let provider_id = pool_id_field(body.provider_id.as_deref(), "provider_id")?;
        let mut v = self
            .core_request(
                org,
                body.project_id,
                body.project_number,
                body.service_account_email,
                body.roles,
                None,
            )?
            .validate()?;
        if let Some(pool) = pool_id {
            v.pool_id = pool;
        }
        if let Some(provider) = provider_id {
            v.provider_id = provider;
        }
        Ok(Request {
            provider: core_gcp::provider_audience(&v),
            pool: core_gcp::pool_resource(&v),
            principal: core_gcp::principal(&v),
            subject: core_gcp::subject(org),
            condition: core_gcp::attribute_condition(org),
            jwks_uri: self.federation.config().jwks_uri(),
            v,
        })
    }

    /// One pass of the chain for `subject`: a fresh assertion, STS, then
    /// impersonation of the account.
    async fn chain(
        &self,
        request: &Request,
        subject: &str,
    ) -> Result<AccessToken, Attempt<GcpError>> {
        let federated = self.federated(request, subject).await?;
        self.gcp
            .impersonate(&federated, request.v.service_account.email.as_str())
            .await
            .map_err(Attempt::Cloud)
    }

    /// A fresh assertion for `subject`, exchanged at STS for a federated token.
    async fn federated(
        &self,
        request: &Request,
        subject: &str,
    ) -> Result<AccessToken, Attempt<GcpError>> {
        let assertion = self
            .federation
            .mint(subject, &request.v.allowed_audience)
            .await
            .map_err(|e| Attempt::Stop(federation_error(e)))?;
        self.gcp
            .exchange(&request.provider, assertion.token())
            .await
            .map_err(Attempt::Cloud)
    }

    /// The stored connection's step body (health and minting re-run the chain from it).
    fn stored_body(record: &StoredIntegration) -> Value {
        let meta = |name: &str| record.metadata.get(name).cloned();
        json!({
            "project_id": meta("project_id").unwrap_or_default(),
            "project_number": meta("project_number").unwrap_or_default(),
            "service_account_email": meta("service_account_email"),
            "pool_id": meta("pool_id"),
            "provider_id": meta("provider_id"),
        })
    }

    /// The chain for the org's subject (retried for up to `settle` while a
    /// binding propagates), then the project read and its number checked.
    async fn authenticate(
        &self,
        request: &Request,
        settle: Duration,
    ) -> Result<Authenticated, ApiError> {
        let settled = retry_while_settling(&TokioClock, settle, SETTLE_INITIAL_BACKOFF, || {
            self.chain(request, &request.subject)
        })
        .await;
        let attempts = settled.attempts;
        let token = match settled.result {
            Ok(token) => token,
            Err(Attempt::Stop(error)) => return Err(error),
            Err(Attempt::Cloud(e)) => {
                tracing::info!(error = %e, attempts, "GCP refused the federation chain");
                let mut error = e.to_api_error(&request.context());
                if e.is_retryable_while_settling() && attempts > 1 {
                    error.hint = format!(
                        "{} (Tried {attempts} times over {} s while a new binding could still be propagating.)",
                        error.hint,
                        settle.as_secs()
                    );
                }
                return Err(error);
            }
        };
        let project_id = request.v.project_id.as_str();
        let project = self
            .gcp
            .project(&token, project_id)
            .await
            .map_err(|e| e.to_api_error(&request.context()))?;
        if project.project_number != request.v.project_number.as_str() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "project_number_mismatch",
                format!(
                    "Project {project_id} has the number {}, not {}.",
                    project.project_number, request.v.project_number
                ),
                format!(
                    "Use project {project_id}'s own number {} (gcloud projects describe {project_id} --format='value(projectNumber)'), and the pool in that project.",
                    project.project_number
                ),
            )
            .with_field("project_number"));
        }
        if project.lifecycle_state != "ACTIVE" {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "project_not_active",
                format!(
                    "Project {project_id} is {} rather than active.",
                    project.lifecycle_state.to_ascii_lowercase()
                ),
                format!("Restore the project (gcloud projects undelete {project_id}) or connect another one."),
            )
            .with_field("project_id"));
        }
        Ok(Authenticated {
            token,
            project,
            attempts,
        })
    }

    /// Step 3's isolation result: an assertion for another subject, with
    /// this org's audience, must be refused; a token for it is 422
    /// `identity_not_isolated`.
    async fn isolation(&self, request: &Request) -> Result<Value, ApiError> {
        let probe = format!("{}:isolation-probe", request.subject);
        match self.chain(request, &probe).await {
            Ok(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "identity_not_isolated",
                format!(
                    "An assertion for another subject ({probe}) could impersonate the service account {}: the provider and binding trust more than this organisation, so another AlphaSwarm organisation could reach project {}.",
                    request.v.service_account.email, request.v.project_id
                ),
                format!(
                    "Remove the pool-wide binding ({}) and bind only this organisation's principal: {}; and restrict the provider: {}",
                    Command::new(&["gcloud", "iam", "service-accounts", "remove-iam-policy-binding"])
                        .arg(request.v.service_account.email.as_str())
                        .assign("--project", request.v.project_id.as_str())
                        .assign("--role", core_gcp::WORKLOAD_IDENTITY_USER_ROLE)
                        .assign("--member", core_gcp::principal_set(&request.v))
                        .render_inline(Shell::Bash)
                        .unwrap_or_default(),
                    request.context().binding_fix(),
                    Command::new(&["gcloud", "iam", "workload-identity-pools", "providers", "update-oidc"])
                        .arg(request.v.provider_id.as_str())
                        .assign("--project", request.v.project_id.as_str())
                        .assign("--location", "global")
                        .assign("--workload-identity-pool", request.v.pool_id.as_str())
                        .assign("--attribute-condition", request.condition.as_str())
                        .render_inline(Shell::Bash)
                        .unwrap_or_default(),
                ),
            )
            .with_field("service_account_email")),
            Err(Attempt::Cloud(e)) => match e.refusal_of_foreign_subject() {
                Some(by) => Ok(json!({
                    "safe": true,
                    "refused_by": if matches!(e, GcpError::Sts { .. }) { "sts" } else { "iam" },
                    "message": format!("An assertion for another subject ({probe}) was refused by {by}, as it must be: only this organisation's subject is trusted."),
                })),
                None => Err(e.to_api_error(&request.context())),
            },
            Err(Attempt::Stop(error)) => Err(error),
        }
    }

    /// Steps 4, 4*, 5 and health: the request, the chain, then the isolation
    /// proof again, so a step after an unsafe step 3 stays closed whatever
    /// the client does.
    async fn checked(
        &self,
        org: &OrgId,
        body: Value,
        settle: Duration,
    ) -> Result<(Request, Authenticated), ApiError> {
        let request = self.request(org, body)?;
        let authenticated = self.authenticate(&request, settle).await?;
        self.isolation(&request).await?;
        Ok((request, authenticated))
    }
}

/// One `--flag=value` gcloud line for the clean-up list.
fn line(command: Command) -> String {
    command.render_inline(Shell::Bash).unwrap_or_default()
}

#[async_trait]
impl CloudProvider for GcpProvider {
    fn cloud(&self) -> &'static str {
        "gcp"
    }

    fn integration_kind(&self) -> &'static str {
        CloudKind::Gcp.integration_kind()
    }

    async fn bootstrap(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let body: BootstrapBody = parse_body(body)?;
        let jwks = match (body.jwks, body.upload_jwks.unwrap_or(false)) {
            (Some(_), true) => {
                return Err(ApiError::bad_request(
                    "jwks_twice",
                    "Both a pasted JWKS and this proxy's own keys were asked for.",
                    "Send jwks (keys exported with federation-keys export-jwks) or upload_jwks: true, not both.",
                )
                .with_field("jwks"));
            }
            (Some(pasted), false) => Some(pasted),
            (None, true) => {
                let jwks = self.federation.jwks().await.map_err(federation_error)?;
                Some(serde_json::to_string(&jwks).map_err(|_| {
                    ApiError::internal("jwks_unavailable", "The proxy's JWKS could not be written.")
                })?)
            }
            (None, false) => None,
        };
        let v = self
            .core_request(
                org,
                body.project_id,
                body.project_number,
                body.service_account_email,
                body.roles,
                jwks,
            )?
            .validate()?;
        let bundle = core_gcp::render_validated(&v)?;
        Ok(json!({
            "bundle": bundle,
            "issuer": v.issuer.as_str(),
            "subject": core_gcp::subject(org),
            "audience": v.allowed_audience.as_str(),
            "provider_audience": core_gcp::provider_audience(&v),
            "principal": core_gcp::principal(&v),
            "attribute_condition": core_gcp::attribute_condition(org),
            "pool_id": v.pool_id.as_str(),
            "provider_id": v.provider_id.as_str(),
            "service_account_email": v.service_account.email.as_str(),
            "service_account_created": v.service_account.created.is_some(),
            "jwks_uploaded": v.jwks.is_some(),
        }))
    }

    async fn validate_identity(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let request = self.request(org, body)?;
        let auth = self.authenticate(&request, self.config.settle).await?;
        let isolation = self.isolation(&request).await?;
        let v = &request.v;
        Ok(json!({
            "project_id": v.project_id.as_str(),
            "project_number": v.project_number.as_str(),
            "project": auth.project,
            "service_account_email": v.service_account.email.as_str(),
            "pool_id": v.pool_id.as_str(),
            "provider_id": v.provider_id.as_str(),
            "provider_audience": request.provider,
            "principal": request.principal,
            "issuer": v.issuer.as_str(),
            "subject": request.subject,
            "audience": v.allowed_audience.as_str(),
            "attempts": auth.attempts,
            "confused_deputy": isolation,
        }))
    }

    async fn validate_permissions(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (request, auth) = self.checked(org, body, self.config.settle).await?;
        let v = &request.v;
        let required = core_gcp::required_permissions(&v.roles);
        let held = self
            .gcp
            .test_permissions(&auth.token, v.project_id.as_str(), &required)
            .await
            .map_err(|e| e.to_api_error(&request.context()))?;
        let member = core_gcp::service_account_member(v);
        let results: Vec<Value> = required
            .iter()
            .map(|permission| {
                let granted = held.iter().any(|h| h == permission);
                let role = core_gcp::role_for_permission(&v.roles, permission);
                let fix = (!granted).then(|| {
                    line(core_gcp::add_project_role_command(
                        v.project_id.as_str(),
                        &member,
                        role.unwrap_or("roles/browser"),
                    ))
                });
                json!({ "permission": permission, "granted": granted, "role": role, "fix": fix })
            })
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|p| !held.iter().any(|h| h == p))
            .collect();
        Ok(json!({
            "service_account_email": v.service_account.email.as_str(),
            "roles": v.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "required": required,
            "granted": held,
            "missing": missing,
            "satisfied": missing.is_empty(),
            "results": results,
        }))
    }

    async fn enumerate_resources(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (request, auth) = self.checked(org, body, self.config.settle).await?;
        let project_id = request.v.project_id.as_str();
        match self.gcp.regions(&auth.token, project_id).await {
            Ok(regions) => Ok(json!({
                "project_id": project_id,
                "compute": "enabled",
                "regions": regions,
            })),
            // Compute off, or no right to list it: said plainly, nothing listed.
            Err(
                e @ GcpError::Google {
                    service: GcpService::Compute,
                    status: 403,
                    ..
                },
            ) => {
                let problem = e.to_api_error(&request.context());
                let compute = if problem.code == "gcp_api_disabled" {
                    "disabled"
                } else {
                    "not_permitted"
                };
                Ok(json!({
                    "project_id": project_id,
                    "compute": compute,
                    "regions": [],
                    "message": problem.message,
                    "fix": problem.hint,
                }))
            }
            Err(e) => Err(e.to_api_error(&request.context())),
        }
    }

    async fn connect(&self, org: &OrgId, body: Value) -> Result<Connection, ApiError> {
        let (request, _) = self.checked(org, body, self.config.settle).await?;
        let v = &request.v;
        Ok(Connection {
            metadata: BTreeMap::from([
                ("project_id".to_owned(), v.project_id.to_string()),
                ("project_number".to_owned(), v.project_number.to_string()),
                ("pool_id".to_owned(), v.pool_id.to_string()),
                ("provider_id".to_owned(), v.provider_id.to_string()),
                (
                    "service_account_email".to_owned(),
                    v.service_account.email.to_string(),
                ),
                ("subject".to_owned(), request.subject.clone()),
                ("issuer".to_owned(), v.issuer.to_string()),
            ]),
            exclusive: Some(Exclusive {
                same: vec![("project_id".to_owned(), v.project_id.to_string())],
                taken: project_taken,
            }),
            // Nothing secret exists in a federated connection.
            ..Connection::default()
        })
    }

    async fn health(&self, org: &OrgId, record: &StoredIntegration) -> Option<HealthCheck> {
        let body = Self::stored_body(record);
        Some(match self.checked(org, body, Duration::ZERO).await {
            Ok(_) => HealthCheck::healthy(),
            Err(problem) => HealthCheck::from_error(problem),
        })
    }

    /// The chain once more (a fresh assertion, STS), then an access token
    /// of the connected service account for `duration_seconds` (Google
    /// allows 3600 s unless an organization policy allows up to 12 h).
    async fn mint(
        &self,
        org: &OrgId,
        record: &StoredIntegration,
        duration_seconds: u32,
    ) -> Result<Minted, ApiError> {
        let request = self.request(org, Self::stored_body(record))?;
        let cloud_error = |e: GcpError| e.to_api_error(&request.context());
        let federated = match self.federated(&request, &request.subject).await {
            Ok(token) => token,
            Err(Attempt::Stop(error)) => return Err(error),
            Err(Attempt::Cloud(e)) => return Err(cloud_error(e)),
        };
        let account = request.v.service_account.email.as_str();
        let (token, expire_time) = self
            .gcp
            .impersonate_for(&federated, account, duration_seconds)
            .await
            .map_err(cloud_error)?;
        Ok(Minted {
            secrets: BTreeMap::from([("access_token".to_owned(), token.bearer().to_owned())]),
            expires_at: super::expiry_text(&expire_time, duration_seconds),
            metadata: BTreeMap::from([
                ("service_account_email".to_owned(), account.to_owned()),
                ("project_id".to_owned(), request.v.project_id.to_string()),
            ]),
        })
    }

    fn disconnect_cleanup(&self, org: &OrgId, record: Option<&StoredIntegration>) -> Vec<String> {
        let meta = |name: &str, placeholder: &str| {
            record
                .and_then(|r| r.metadata.get(name))
                .cloned()
                .unwrap_or_else(|| placeholder.to_owned())
        };
        let project = meta("project_id", "<project id>");
        let number = meta("project_number", "<project number>");
        let pool = meta("pool_id", &core_gcp::pool_id(org).value);
        let provider = meta("provider_id", core_gcp::PROVIDER_ID);
        let created_email = format!(
            "{}@{project}.iam.gserviceaccount.com",
            core_gcp::service_account_id(org).value
        );
        let email = meta("service_account_email", &created_email);
        let principal = format!(
            "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/subject/{}",
            core_gcp::subject(org)
        );
        let mut steps = vec![
            format!(
                "Remove the binding that lets this organisation impersonate {email}: {}",
                line(
                    Command::new(&[
                        "gcloud",
                        "iam",
                        "service-accounts",
                        "remove-iam-policy-binding"
                    ])
                    .arg(email.as_str())
                    .assign("--project", project.as_str())
                    .assign("--role", core_gcp::WORKLOAD_IDENTITY_USER_ROLE)
                    .assign("--member", principal.as_str())
                )
            ),
            format!(
                "Delete the provider: {}",
                line(
                    Command::new(&[
                        "gcloud",
                        "iam",
                        "workload-identity-pools",
                        "providers",
                        "delete"
                    ])
                    .arg(provider.as_str())
                    .assign("--project", project.as_str())
                    .assign("--location", "global")
                    .assign("--workload-identity-pool", pool.as_str())
                    .flag("--quiet")
                )
            ),
            format!(
                "Delete the pool: {}. Google keeps a deleted pool's id reserved for 30 days (it can be undeleted meanwhile), so reconnecting within 30 days needs another pool_id.",
                line(
                    Command::new(&["gcloud", "iam", "workload-identity-pools", "delete"])
                        .arg(pool.as_str())
                        .assign("--project", project.as_str())
                        .assign("--location", "global")
                        .flag("--quiet")
                )
            ),
        ];
        if email == created_email {
            steps.push(format!(
                "The bootstrap created the service account {email}: remove its project roles (gcloud projects get-iam-policy {project} lists them), then delete it: {}",
                line(
                    Command::new(&["gcloud", "iam", "service-accounts", "delete"])
                        .arg(email.as_str())
                        .assign("--project", project.as_str())
                        .flag("--quiet")
                )
            ));
        } else {
            steps.push(format!(
                "The service account {email} is yours: remove only the project roles you granted it for AlphaSwarm."
            ));
        }
        steps.push("AlphaSwarm does not request the permissions to delete pools, bindings or service accounts, so this clean-up is yours.".to_owned());
        steps
    }
}

/// Step 5's 409: the project in `metadata` is organisation `other`'s.
fn project_taken(other: &str, metadata: &BTreeMap<String, String>) -> ApiError {
    let project = metadata.get("project_id").map_or("", String::as_str);
    ApiError::new(
        StatusCode::CONFLICT,
        "project_already_connected",
        format!(
            "Project {project} is already connected under organisation {other}; one project never serves two organisations."
        ),
        format!(
            "Disconnect it from organisation {other} first (DELETE /admin/accounts/{other}/cloud/gcp), or connect another project."
        ),
    )
    .with_field("project_id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_id_in_the_number_field_is_named_as_such() {
        let e = swapped_project_fields("acme-prod", "acme-prod").unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_deref()),
            ("project_id_in_number_field", Some("project_number"))
        );
        let e = swapped_project_fields("123456789012", "123456789012").unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_deref()),
            ("project_number_in_id_field", Some("project_id"))
        );
        assert!(swapped_project_fields(" acme-prod ", " 123456789012").is_ok());
        // Other mistakes are left to the ids' own rules.
        assert!(swapped_project_fields("acme-prod", "12ab").is_ok());
    }
}
