//! Azure: workload identity federation with AlphaSwarm's own OIDC issuer,
//! in the customer-managed identity mode (default, isolates tenants) or the
//! seed's shared-app mode (does not).
//!
//! Every step mints a fresh assertion for the org's subject, exchanges it
//! at Entra for an ARM token (retried while a new federated credential
//! propagates), reads the subscription, and in managed-identity mode proves
//! isolation: an assertion for another subject must be refused, or the
//! identity is unsafe and steps 4, 4* and 5 refuse to run. Bundles, ids,
//! the baseline and the fix commands come from the core; the calls go
//! through [`AzureApi`].

use super::{Attempt, CloudProvider, Connection, Exclusive, Minted, federation_error};
use crate::aws::{TokioClock, retry_while_settling};
use crate::azure::{
    APP_CLIENT_ID, ArmToken, AzureApi, AzureConfig, AzureError, ExchangeContext, Subscription,
};
use crate::error::{ApiError, parse_body};
use crate::federation::FederationIssuer;
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::RenderError;
use alphaswarm_core::azure::{
    self as core_azure, AzureBootstrapRequest, AzureConnectionRequest, AzureMode,
    ValidatedAzureConnection,
};
use alphaswarm_core::baseline::{
    AZURE_REQUIRED_ACTIONS, azure_action_allowed, azure_built_in_role, compare_baseline,
    required_permissions,
};
use alphaswarm_core::ids::Guid;
use alphaswarm_core::shell::{Command, Shell};
use alphaswarm_core::{CloudKind, OrgId};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The first pause between exchanges while a federated credential propagates.
const SETTLE_INITIAL_BACKOFF: Duration = Duration::from_secs(1);

pub const SHARED_APP_NOT_ISOLATED: &str = "Shared-app mode does not isolate tenants: every organisation's federated credential sits on the same AlphaSwarm app, so an assertion of any organisation is accepted in every tenant that consented to the app. Use the managed_identity mode to isolate this tenant.";

pub struct AzureProvider {
    azure: Arc<dyn AzureApi>,
    federation: Arc<FederationIssuer>,
    config: AzureConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapBody {
    mode: Option<String>,
    tenant_id: Option<String>,
    subscription_id: Option<String>,
    role: Option<String>,
    resource_group: Option<String>,
    location: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    mode: Option<String>,
    tenant_id: String,
    subscription_id: String,
    client_id: Option<String>,
}

/// `managed_identity` (default) or `shared_app`, refused by name otherwise.
fn parse_mode(mode: Option<&str>) -> Result<Option<AzureMode>, ApiError> {
    match mode.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(None),
        Some("managed_identity") => Ok(Some(AzureMode::ManagedIdentity)),
        Some("shared_app") => Ok(Some(AzureMode::SharedApp)),
        Some(_) => Err(ApiError::bad_request(
            "invalid_azure_mode",
            "The mode must be managed_identity or shared_app.",
            "Use managed_identity (recommended: a managed identity in your tenant trusts only this organisation) or shared_app.",
        )
        .with_field("mode")),
    }
}

/// A step's request, validated, with the client id the exchange uses.
struct Request {
    connection: ValidatedAzureConnection,
    client_id: Guid,
}

/// What a successful exchange proved.
struct Authenticated {
    subject: String,
    token: ArmToken,
    principal: Guid,
    subscription: Subscription,
    attempts: u32,
}

impl AzureProvider {
    pub fn new(
        azure: Arc<dyn AzureApi>,
        federation: Arc<FederationIssuer>,
        config: AzureConfig,
    ) -> Self {
        AzureProvider {
            azure,
            federation,
            config,
        }
    }

    fn request(&self, body: Value) -> Result<Request, ApiError> {
        let body: StepBody = parse_body(body)?;
        let connection = AzureConnectionRequest {
            mode: parse_mode(body.mode.as_deref())?,
            tenant_id: body.tenant_id,
            subscription_id: body.subscription_id,
            client_id: body.client_id,
        }
        .validate()?;
        let client_id = match connection.mode {
            AzureMode::ManagedIdentity => connection
                .client_id
                .clone()
                .ok_or_else(|| ApiError::from(RenderError::Missing { field: "client_id" }))?,
            AzureMode::SharedApp => {
                let app = self.shared_app_client_id()?;
                if connection.client_id.as_ref().is_some_and(|c| *c != app) {
                    return Err(ApiError::bad_request(
                        "client_id_not_applicable",
                        "In shared_app mode the exchange uses the AlphaSwarm app's client id, not another one.",
                        "Leave client_id empty in shared_app mode, or switch to managed_identity to use your identity's client id.",
                    )
                    .with_field("client_id"));
                }
                app
            }
        };
        Ok(Request {
            connection,
            client_id,
        })
    }

    fn shared_app_client_id(&self) -> Result<Guid, ApiError> {
        self.config
            .shared_app
            .as_ref()
            .map(|app| app.client_id.clone())
            .ok_or_else(|| {
                ApiError::not_configured(
                    APP_CLIENT_ID,
                    "Shared-app mode needs AlphaSwarm's Entra app, and the proxy has none configured.",
                )
            })
    }

    fn context<'a>(
        &'a self,
        org_subject: &'a str,
        request: &'a Request,
        kid: Option<&'a str>,
        principal: Option<&'a Guid>,
    ) -> ExchangeContext<'a> {
        let c = &request.connection;
        let federation = self.federation.config();
        ExchangeContext {
            mode: c.mode,
            tenant_id: &c.tenant_id,
            subscription_id: &c.subscription_id,
            client_id: &request.client_id,
            subject: org_subject,
            issuer: self.federation.issuer().as_str(),
            audience: self.config.audience.as_str(),
            jwks_uri: federation.jwks_uri(),
            discovery_uri: federation.discovery_uri(),
            kid,
            admin_consent_url: (c.mode == AzureMode::SharedApp)
                .then(|| core_azure::admin_consent_url(&c.tenant_id, &request.client_id)),
            principal_object_id: principal,
            required_role: core_azure::DEFAULT_ROLE,
        }
    }

    /// Mints a fresh assertion for `subject` and exchanges it (once).
    async fn exchange(
        &self,
        request: &Request,
        subject: &str,
    ) -> Result<(Result<ArmToken, AzureError>, String), ApiError> {
        let assertion = self
            .federation
            .mint(subject, &self.config.audience)
            .await
            .map_err(federation_error)?;
        let outcome = self
            .azure
            .token(
                &request.connection.tenant_id,
                &request.client_id,
                assertion.token(),
            )
            .await;
        Ok((outcome, assertion.kid.clone()))
    }

    /// The exchange for the org's subject (retried for `settle` while the
    /// credential propagates), then the subscription read.
    async fn authenticate(
        &self,
        org: &OrgId,
        request: &Request,
        settle: Duration,
    ) -> Result<Authenticated, ApiError> {
        let subject = core_azure::subject(org);
        let last_kid = std::sync::Mutex::new(None::<String>);
        let settled = retry_while_settling(&TokioClock, settle, SETTLE_INITIAL_BACKOFF, || {
            let (last_kid, subject) = (&last_kid, &subject);
            async move {
                let (outcome, kid) = self
                    .exchange(request, subject)
                    .await
                    .map_err(Attempt::Stop)?;
                *last_kid.lock().unwrap_or_else(|p| p.into_inner()) = Some(kid);
                outcome.map_err(Attempt::Cloud)
            }
        })
        .await;
        let attempts = settled.attempts;
        let last_kid = last_kid.into_inner().unwrap_or_else(|p| p.into_inner());
        let token = match settled.result {
            Ok(token) => token,
            Err(Attempt::Stop(error)) => return Err(error),
            Err(Attempt::Cloud(e)) => {
                tracing::info!(aadsts = ?e.aadsts(), attempts, "Entra refused the exchange");
                let mut error =
                    e.to_api_error(&self.context(&subject, request, last_kid.as_deref(), None));
                if e.is_retryable_while_settling() && attempts > 1 {
                    error.hint = format!(
                        "{} (Tried {attempts} times over {} s while a new credential could still be propagating.)",
                        error.hint,
                        settle.as_secs()
                    );
                }
                return Err(error);
            }
        };
        let principal = Guid::parse_normalised(&token.object_id).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "entra_unexpected",
                "Entra's token names no valid principal object id.",
                "Check that ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL points at Microsoft Entra ID.",
            )
        })?;
        let arm_error = |e: AzureError| {
            e.to_api_error(&self.context(&subject, request, last_kid.as_deref(), Some(&principal)))
        };
        let subscription = self
            .azure
            .subscription(&token, &request.connection.subscription_id)
            .await
            .map_err(arm_error)?;
        let tenant = &request.connection.tenant_id;
        if !subscription.tenant_id.is_empty()
            && !subscription.tenant_id.eq_ignore_ascii_case(tenant.as_str())
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "subscription_in_other_tenant",
                format!(
                    "Subscription {} belongs to another tenant than {tenant}.",
                    request.connection.subscription_id
                ),
                "Use the tenant the subscription belongs to (az account show --subscription <id> --query tenantId).",
            )
            .with_field("tenant_id"));
        }
        if matches!(subscription.state.as_str(), "Disabled" | "Deleted") {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "subscription_disabled",
                format!(
                    "Subscription {} is {}.",
                    request.connection.subscription_id,
                    subscription.state.to_ascii_lowercase()
                ),
                "Re-enable the subscription in the Azure portal, or connect another one.",
            )
            .with_field("subscription_id"));
        }
        Ok(Authenticated {
            subject,
            token,
            principal,
            subscription,
            attempts,
        })
    }

    /// Step 3's isolation result. Managed identity: an assertion for another
    /// subject must be refused (else 422 `identity_not_isolated`); shared
    /// app: not isolated by design, said plainly.
    async fn isolation(&self, org: &OrgId, request: &Request) -> Result<Value, ApiError> {
        if request.connection.mode == AzureMode::SharedApp {
            return Ok(json!({ "safe": false, "message": SHARED_APP_NOT_ISOLATED }));
        }
        let probe = core_azure::isolation_probe_subject(org);
        let (outcome, kid) = self.exchange(request, &probe).await?;
        match outcome {
            Ok(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "identity_not_isolated",
                format!(
                    "The managed identity {} accepted an assertion for another subject ({probe}): it trusts more than this organisation, so another AlphaSwarm organisation could reach this subscription.",
                    request.client_id
                ),
                format!(
                    "Remove every federated credential on the identity except the one with subject {} (az identity federated-credential list --identity-name <name> --resource-group <group>), then retry.",
                    core_azure::subject(org)
                ),
            )
            .with_field("client_id")),
            Err(e) if e.aadsts().is_some_and(is_no_matching_credential) => Ok(json!({
                "safe": true,
                "message": format!("An assertion for another subject ({probe}) was refused, as it must be: only this organisation's subject is trusted."),
            })),
            Err(e) => {
                let subject = core_azure::subject(org);
                Err(e.to_api_error(&self.context(&subject, request, Some(&kid), None)))
            }
        }
    }

    /// Steps 4, 4* and 5: the request, the exchange, then the isolation
    /// proof again, so a step after an unsafe step 3 stays closed whatever
    /// the client does.
    async fn checked(
        &self,
        org: &OrgId,
        body: Value,
        settle: Duration,
    ) -> Result<(Request, Authenticated), ApiError> {
        let request = self.request(body)?;
        let authenticated = self.authenticate(org, &request, settle).await?;
        self.isolation(org, &request).await?;
        Ok((request, authenticated))
    }

    /// How an ARM failure after a successful exchange becomes an HTTP error.
    fn arm_errors<'a>(
        &'a self,
        request: &'a Request,
        auth: &'a Authenticated,
    ) -> impl Fn(AzureError) -> ApiError + 'a {
        move |e: AzureError| {
            e.to_api_error(&self.context(&auth.subject, request, None, Some(&auth.principal)))
        }
    }
}

/// Entra's answers that mean "no federated credential matches this assertion".
fn is_no_matching_credential(code: u32) -> bool {
    matches!(code, 70021 | 700211 | 700212 | 700213 | 7002137 | 7002138)
}

#[async_trait]
impl CloudProvider for AzureProvider {
    fn cloud(&self) -> &'static str {
        "azure"
    }

    fn integration_kind(&self) -> &'static str {
        CloudKind::Azure.integration_kind()
    }

    async fn bootstrap(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let body: BootstrapBody = parse_body(body)?;
        let mode = parse_mode(body.mode.as_deref())?.unwrap_or_default();
        let app = match mode {
            AzureMode::SharedApp => Some(self.config.shared_app.clone().ok_or_else(|| {
                ApiError::not_configured(
                    APP_CLIENT_ID,
                    "Shared-app mode needs AlphaSwarm's Entra app (client and object id), and the proxy has none configured.",
                )
            })?),
            AzureMode::ManagedIdentity => None,
        };
        let request = AzureBootstrapRequest {
            org_id: org.to_string(),
            mode: Some(mode),
            app_object_id: app
                .as_ref()
                .map(|a| a.object_id.to_string())
                .unwrap_or_default(),
            app_client_id: app
                .as_ref()
                .map(|a| a.client_id.to_string())
                .unwrap_or_default(),
            issuer: self.federation.issuer().to_string(),
            audience: Some(self.config.audience.to_string()),
            tenant_id: body.tenant_id,
            subscription_id: body.subscription_id,
            role: body.role,
            resource_group: body.resource_group,
            location: body.location,
        };
        let bundle = core_azure::render(&request)?;
        let admin_consent_url = match (&app, bundle.values.iter().find(|v| v.name == "tenant_id")) {
            (Some(app), Some(tenant)) => Guid::parse(&tenant.value)
                .ok()
                .map(|t| core_azure::admin_consent_url(&t, &app.client_id)),
            _ => None,
        };
        Ok(json!({
            "bundle": bundle,
            "mode": mode.as_str(),
            "recommended_mode": AzureMode::ManagedIdentity.as_str(),
            "issuer": self.federation.issuer().as_str(),
            "subject": core_azure::subject(org),
            "audience": self.config.audience.as_str(),
            "admin_consent_url": admin_consent_url,
        }))
    }

    async fn validate_identity(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let request = self.request(body)?;
        let authenticated = self.authenticate(org, &request, self.config.settle).await?;
        let isolation = self.isolation(org, &request).await?;
        let c = &request.connection;
        Ok(json!({
            "mode": c.mode.as_str(),
            "tenant_id": c.tenant_id.as_str(),
            "subscription_id": c.subscription_id.as_str(),
            "client_id": request.client_id.as_str(),
            "principal_object_id": authenticated.principal.as_str(),
            "subscription": {
                "display_name": authenticated.subscription.display_name,
                "state": authenticated.subscription.state,
            },
            "issuer": self.federation.issuer().as_str(),
            "subject": core_azure::subject(org),
            "audience": self.config.audience.as_str(),
            "attempts": authenticated.attempts,
            "confused_deputy": isolation,
        }))
    }

    async fn validate_permissions(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (request, auth) = self.checked(org, body, self.config.settle).await?;
        let subscription = &request.connection.subscription_id;
        let to_api = self.arm_errors(&request, &auth);
        let assignments = self
            .azure
            .role_assignments(&auth.token, subscription, auth.principal.as_str())
            .await
            .map_err(&to_api)?;
        let permissions = self
            .azure
            .permissions(&auth.token, subscription)
            .await
            .map_err(&to_api)?;
        // Only assignments that cover the whole subscription (at it, or
        // above it: a management group or the root) grant the baseline.
        let scope = core_azure::subscription_scope(subscription);
        let covering: Vec<&crate::azure::RoleAssignment> = assignments
            .iter()
            .filter(|a| {
                a.scope.eq_ignore_ascii_case(&scope)
                    || !a.scope.to_ascii_lowercase().starts_with("/subscriptions/")
            })
            .collect();
        let granted_ids: Vec<String> = covering
            .iter()
            .map(|a| a.role_definition_id.clone())
            .collect();
        let report = compare_baseline(CloudKind::Azure, None, &granted_ids)?;
        let required = required_permissions(CloudKind::Azure, None)?;
        let results: Vec<Value> = required
            .iter()
            .map(|role| {
                let missing = report.missing.iter().any(|m| m == role);
                let granted_by = (!missing)
                    .then(|| {
                        covering.iter().find_map(|a| {
                            let one = vec![a.role_definition_id.clone()];
                            compare_baseline(CloudKind::Azure, None, &one)
                                .ok()
                                .filter(|r| !r.missing.iter().any(|m| m == role))
                                .map(|_| role_label(&a.role_definition_id))
                        })
                    })
                    .flatten();
                let fix = missing.then(|| fix_command(&auth.principal, role, subscription));
                json!({ "role": role, "granted": !missing, "granted_by": granted_by, "fix": fix })
            })
            .collect();
        let actions: Vec<Value> = AZURE_REQUIRED_ACTIONS
            .iter()
            .map(|action| json!({ "action": action, "granted": azure_action_allowed(&permissions, action) }))
            .collect();
        let actions_ok = actions.iter().all(|a| a["granted"] == true);
        let granted: Vec<&String> = report
            .required
            .iter()
            .filter(|r| !report.missing.contains(r))
            .collect();
        Ok(json!({
            "principal_object_id": auth.principal.as_str(),
            "required": report.required,
            "granted": granted,
            "missing": report.missing,
            "satisfied": report.satisfied && actions_ok,
            "results": results,
            "actions": actions,
            "assignments": assignments.iter().map(|a| json!({
                "role_definition_id": a.role_definition_id,
                "role": azure_built_in_role(&a.role_definition_id).map(|r| r.name),
                "scope": a.scope,
            })).collect::<Vec<_>>(),
        }))
    }

    async fn enumerate_resources(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (request, auth) = self.checked(org, body, self.config.settle).await?;
        let subscription = &request.connection.subscription_id;
        let to_api = self.arm_errors(&request, &auth);
        let groups = self
            .azure
            .resource_groups(&auth.token, subscription)
            .await
            .map_err(&to_api)?;
        let locations = self
            .azure
            .locations(&auth.token, subscription)
            .await
            .map_err(&to_api)?;
        Ok(json!({ "resource_groups": groups, "locations": locations }))
    }

    async fn connect(&self, org: &OrgId, body: Value) -> Result<Connection, ApiError> {
        let (request, auth) = self.checked(org, body, self.config.settle).await?;
        let c = &request.connection;
        Ok(Connection {
            metadata: BTreeMap::from([
                ("tenant_id".to_owned(), c.tenant_id.to_string()),
                ("subscription_id".to_owned(), c.subscription_id.to_string()),
                ("client_id".to_owned(), request.client_id.to_string()),
                ("principal_object_id".to_owned(), auth.principal.to_string()),
                ("issuer".to_owned(), self.federation.issuer().to_string()),
                ("subject".to_owned(), core_azure::subject(org)),
                ("mode".to_owned(), c.mode.as_str().to_owned()),
            ]),
            exclusive: Some(Exclusive {
                same: vec![
                    ("tenant_id".to_owned(), c.tenant_id.to_string()),
                    ("subscription_id".to_owned(), c.subscription_id.to_string()),
                ],
                taken: subscription_taken,
            }),
            // Nothing secret exists in a federated connection.
            ..Connection::default()
        })
    }

    /// The exchange once more for the org's subject (and the subscription
    /// read): an ARM access token. Entra decides its lifetime (60-90 min);
    /// `duration_seconds` caps how long the chain hands it out.
    async fn mint(
        &self,
        org: &OrgId,
        record: &StoredIntegration,
        duration_seconds: u32,
    ) -> Result<Minted, ApiError> {
        let meta = |name: &str| record.metadata.get(name).cloned();
        let request = self.request(json!({
            "mode": meta("mode"),
            "tenant_id": meta("tenant_id").unwrap_or_default(),
            "subscription_id": meta("subscription_id").unwrap_or_default(),
            "client_id": meta("client_id"),
        }))?;
        let auth = self.authenticate(org, &request, Duration::ZERO).await?;
        let lifetime = auth.token.expires_in.map_or(duration_seconds, |entra| {
            duration_seconds.min(u32::try_from(entra).unwrap_or(u32::MAX))
        });
        let c = &request.connection;
        Ok(Minted {
            secrets: BTreeMap::from([("access_token".to_owned(), auth.token.bearer().to_owned())]),
            expires_at: super::expiry_after(lifetime),
            metadata: BTreeMap::from([
                ("tenant_id".to_owned(), c.tenant_id.to_string()),
                ("subscription_id".to_owned(), c.subscription_id.to_string()),
                ("client_id".to_owned(), request.client_id.to_string()),
                ("scope".to_owned(), "Azure Resource Manager".to_owned()),
            ]),
        })
    }

    /// Step 5's proof again from the stored record, once (a credential that
    /// disappeared is not waited for): the exchange, the subscription read
    /// (`Microsoft.Resources/subscriptions/read`, which Reader allows) and,
    /// with a managed identity, the isolation probe. Entra's and ARM's
    /// refusals are 422 (failed), their throttling and outages 502 (degraded).
    async fn health(&self, org: &OrgId, record: &StoredIntegration) -> Option<HealthCheck> {
        let meta = |name: &str| record.metadata.get(name).cloned();
        let body = json!({
            "mode": meta("mode"),
            "tenant_id": meta("tenant_id").unwrap_or_default(),
            "subscription_id": meta("subscription_id").unwrap_or_default(),
            "client_id": meta("client_id"),
        });
        Some(match self.checked(org, body, Duration::ZERO).await {
            Ok(_) => HealthCheck::healthy(),
            Err(problem) => HealthCheck::from_error(problem),
        })
    }

    fn disconnect_cleanup(&self, org: &OrgId, record: Option<&StoredIntegration>) -> Vec<String> {
        let meta = |name: &str| record.and_then(|r| r.metadata.get(name)).cloned();
        let subscription =
            meta("subscription_id").unwrap_or_else(|| "<subscription id>".to_owned());
        let principal =
            meta("principal_object_id").unwrap_or_else(|| "<principal object id>".to_owned());
        let tenant = meta("tenant_id").unwrap_or_else(|| "<tenant id>".to_owned());
        let credential = core_azure::credential_name(org).value;
        let role_removal = format!(
            "Remove the role assignment: az role assignment delete --assignee {principal} --scope /subscriptions/{subscription}"
        );
        let mut steps = match meta("mode").as_deref() {
            Some("shared_app") => {
                let app = self.config.shared_app.as_ref();
                let object = app.map_or("<app object id>".to_owned(), |a| a.object_id.to_string());
                let client = app.map_or("<app client id>".to_owned(), |a| a.client_id.to_string());
                vec![
                    format!(
                        "AlphaSwarm's tenant: delete the federated credential {credential} from the AlphaSwarm app: az ad app federated-credential delete --id {object} --federated-credential-id {credential}"
                    ),
                    format!("Tenant {tenant}: {role_removal}"),
                    format!(
                        "Tenant {tenant}: if no other AlphaSwarm organisation uses it, revoke the consent by deleting the app's service principal: az ad sp delete --id {client}"
                    ),
                ]
            }
            _ => {
                let identity = core_azure::identity_name(org).value;
                vec![
                    format!("Tenant {tenant}: {role_removal}"),
                    format!(
                        "Tenant {tenant}: delete the federated credential {credential} from the managed identity (az identity federated-credential delete --name {credential} --identity-name {identity} --resource-group <group>), or the whole identity (az identity delete --name {identity} --resource-group <group>)."
                    ),
                ]
            }
        };
        steps.push("AlphaSwarm does not request the permissions to delete principals or role assignments, so this clean-up is yours.".to_owned());
        steps
    }
}

/// Step 5's 409: the subscription in `metadata` is organisation `other`'s.
fn subscription_taken(other: &str, metadata: &BTreeMap<String, String>) -> ApiError {
    let value = |name: &str| metadata.get(name).cloned().unwrap_or_default();
    let (subscription, tenant) = (value("subscription_id"), value("tenant_id"));
    ApiError::new(
        StatusCode::CONFLICT,
        "subscription_already_connected",
        format!(
            "Subscription {subscription} of tenant {tenant} is already connected under organisation {other}; one subscription never serves two organisations."
        ),
        format!(
            "Disconnect it from organisation {other} first (DELETE /admin/accounts/{other}/cloud/azure), or connect another subscription."
        ),
    )
    .with_field("subscription_id")
}

/// A built-in role's name, else the definition id's GUID.
fn role_label(definition_id: &str) -> String {
    azure_built_in_role(definition_id).map_or_else(
        || {
            definition_id
                .rsplit('/')
                .next()
                .unwrap_or(definition_id)
                .to_owned()
        },
        |r| r.name.to_owned(),
    )
}

/// Step 4's fix for a missing role, one line for the badge.
fn fix_command(principal: &Guid, role: &str, subscription: &Guid) -> String {
    let command: Command = core_azure::role_assignment_fix(principal, role, subscription);
    command.render_inline(Shell::Bash).unwrap_or_default()
}
