//! Cloudflare: a scoped API token, verified, checked against the template's
//! baseline, and kept only in the encrypted store.
//!
//! Every step's body is `{token, account_id?, template?}`; the token is
//! checked by the core first (a Global API key is refused before any call),
//! then verified at the user endpoint or, for an account-owned token
//! (`cfat_`, or 1000 at the user endpoint with an account id given), at the
//! account's. Step 4 reads the token's own policies when it may and probes
//! one read-only endpoint per group otherwise; the verdicts are the core's
//! (`cloudflare::permissions`). The token is never echoed, logged or audited.

use super::{CloudProvider, Connection};
use crate::cloudflare::{
    AccountRef, Call, CloudflareApi, CloudflareError, Listing, VerifiedToken, Zone,
};
use crate::error::{ApiError, parse_body};
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::cloudflare::permissions::{
    Evidence, GroupCheck, GroupStatus, PermissionGroup, Probe, ProbeOutcome, check_policies,
    check_probe,
};
use alphaswarm_core::cloudflare::token::check_validity;
use alphaswarm_core::cloudflare::{
    ApiToken, CloudflareAccountId, CloudflareBootstrapRequest, CloudflareTemplate, TokenOwner,
};
use alphaswarm_core::rotation;
use alphaswarm_core::timestamp::Timestamp;
use alphaswarm_core::{CloudKind, CoreError, OrgId};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most zones listed in step 4* (ten pages).
const MAX_ZONES: usize = 500;
/// Most accounts listed, and tried by an account probe without an account id.
const MAX_ACCOUNTS: usize = 50;
const MAX_PROBED_ACCOUNTS: usize = 5;

/// The one place a Cloudflare failure becomes an HTTP error.
pub fn cloudflare_error(error: CloudflareError) -> ApiError {
    tracing::info!(code = error.code(), "Cloudflare refused a call");
    let mut api = ApiError::from_core(&error);
    api.status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
    api
}

/// A core error about a token Cloudflare knows but that cannot be used: 422.
fn refused(error: &dyn CoreError) -> ApiError {
    let mut api = ApiError::from_core(error);
    api.status = StatusCode::UNPROCESSABLE_ENTITY;
    api
}

fn now() -> Timestamp {
    Timestamp::from_unix(time::OffsetDateTime::now_utc().unix_timestamp())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapBody {
    template: String,
    account_id: Option<String>,
    token_owner: Option<String>,
    self_check: Option<bool>,
}

/// Steps 3-5: the token, the account it belongs to or is limited to, and
/// (steps 4 and 5) the template it was made from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
    account_id: Option<String>,
    template: Option<String>,
}

struct TokenRequest {
    token: ApiToken,
    account: Option<CloudflareAccountId>,
    template: Option<CloudflareTemplate>,
}

impl TokenRequest {
    fn parse(body: Value) -> Result<TokenRequest, ApiError> {
        let body: TokenBody = parse_body(body)?;
        let token = ApiToken::parse(&body.token)?;
        let account = body
            .account_id
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(|a| CloudflareAccountId::parse_normalised(a).map_err(|e| e.at("account_id")))
            .transpose()?;
        let template = body
            .template
            .as_deref()
            .map(|t| t.parse::<CloudflareTemplate>())
            .transpose()?;
        Ok(TokenRequest {
            token,
            account,
            template,
        })
    }

    fn template(&self) -> Result<CloudflareTemplate, ApiError> {
        self.template.ok_or_else(|| {
            ApiError::bad_request(
                "invalid_body",
                "The JSON body lacks the required field template.",
                "Send the template the token was made from: dns_edit, tunnel, access, worker or r2.",
            )
            .with_field("template")
        })
    }
}

/// A token Cloudflare verified and that is usable now.
struct Identity {
    owner: TokenOwner,
    /// The owning account (account tokens) or the one given (user tokens).
    account: Option<CloudflareAccountId>,
    token_id: CloudflareAccountId,
    not_before: Option<Timestamp>,
    expires_on: Option<Timestamp>,
}

impl Identity {
    fn verify_endpoint(&self) -> String {
        match (self.owner, &self.account) {
            (TokenOwner::Account, Some(a)) => format!("/accounts/{a}/tokens/verify"),
            _ => "/user/tokens/verify".to_owned(),
        }
    }
}

/// The verified token, if it is usable now. Cloudflare's object ids
/// (tokens, zones) have the account id's shape: 32 hex characters.
fn usable(
    owner: TokenOwner,
    account: Option<CloudflareAccountId>,
    verified: VerifiedToken,
) -> Result<Identity, ApiError> {
    let unexpected = || {
        let call = match owner {
            TokenOwner::User => Call::VerifyUser,
            TokenOwner::Account => Call::VerifyAccount,
        };
        cloudflare_error(CloudflareError::Unexpected {
            call,
            status: 200,
            codes: Vec::new(),
        })
    };
    let token_id = CloudflareAccountId::parse_normalised(&verified.id).map_err(|_| unexpected())?;
    let stamp = |v: &Option<String>, field| {
        v.as_deref()
            .map(|s| Timestamp::parse(s, field))
            .transpose()
            .map_err(|_| unexpected())
    };
    let not_before = stamp(&verified.not_before, "not_before")?;
    let expires_on = stamp(&verified.expires_on, "expires_on")?;
    check_validity(&verified.status, not_before, expires_on, now()).map_err(|e| refused(&e))?;
    Ok(Identity {
        owner,
        account,
        token_id,
        not_before,
        expires_on,
    })
}

/// Step 4's outcome.
struct PermissionReport {
    evidence: Evidence,
    checks: Vec<GroupCheck>,
    token_name: Option<String>,
}

impl PermissionReport {
    fn names(&self, status: GroupStatus) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.name.as_str())
            .collect()
    }
}

pub struct CloudflareProvider {
    api: Arc<dyn CloudflareApi>,
}

impl CloudflareProvider {
    pub fn new(api: Arc<dyn CloudflareApi>) -> Self {
        CloudflareProvider { api }
    }

    /// Verifies the token where its owner says, and checks it is usable now.
    async fn identify(&self, request: &TokenRequest) -> Result<Identity, ApiError> {
        let TokenRequest { token, account, .. } = request;
        let (owner, verified) = match token.owner_from_format() {
            Some(TokenOwner::Account) => {
                let account = account.as_ref().ok_or_else(|| {
                    ApiError::bad_request(
                        "account_id_required",
                        "This token is owned by an account (it starts with cfat_), and account tokens are verified per account.",
                        "Give the account id: 32 hexadecimal characters, in the dashboard's URL and on the account's Overview page.",
                    )
                    .with_field("account_id")
                })?;
                let verified = self
                    .api
                    .verify(token, TokenOwner::Account, Some(account))
                    .await
                    .map_err(cloudflare_error)?;
                (TokenOwner::Account, verified)
            }
            hint => match self.api.verify(token, TokenOwner::User, None).await {
                Ok(verified) => (TokenOwner::User, verified),
                // An account token is "invalid" at the user endpoint; with an
                // account id (and no cfut_ prefix) it may be one.
                Err(CloudflareError::InvalidToken { .. })
                    if hint.is_none() && account.is_some() =>
                {
                    let verified = self
                        .api
                        .verify(token, TokenOwner::Account, account.as_ref())
                        .await
                        .map_err(cloudflare_error)?;
                    (TokenOwner::Account, verified)
                }
                Err(e) => return Err(cloudflare_error(e)),
            },
        };
        usable(owner, account.clone(), verified)
    }

    /// Step 4: the token's policies when readable, else one probe per group.
    async fn check_permissions(
        &self,
        token: &ApiToken,
        identity: &Identity,
        template: CloudflareTemplate,
    ) -> Result<PermissionReport, ApiError> {
        let baseline = template.baseline();
        let account = identity.account.as_ref().map(CloudflareAccountId::as_str);
        match self
            .api
            .token_details(
                token,
                identity.owner,
                identity.account.as_ref(),
                &identity.token_id,
            )
            .await
        {
            Ok(details) => {
                let checks = check_policies(
                    baseline,
                    &details.policies,
                    identity.owner,
                    account,
                    details.name.as_deref(),
                );
                return Ok(PermissionReport {
                    evidence: Evidence::TokenPolicies,
                    checks,
                    token_name: details.name,
                });
            }
            // Not allowed to read its own policies: probe instead.
            Err(CloudflareError::PermissionDenied { .. } | CloudflareError::NotFound { .. }) => {}
            Err(e) => return Err(cloudflare_error(e)),
        }
        let mut checks = Vec::with_capacity(baseline.len());
        let mut zones: Option<Option<Listing<Zone>>> = None;
        let mut accounts: Option<Vec<CloudflareAccountId>> = None;
        for group in baseline {
            let outcome = self
                .probe(token, identity, group, &mut zones, &mut accounts)
                .await?;
            checks.push(check_probe(group, &outcome, identity.owner, None));
        }
        Ok(PermissionReport {
            evidence: Evidence::Probe,
            checks,
            token_name: None,
        })
    }

    /// Runs `group`'s probe; zones and accounts are listed once per step.
    async fn probe(
        &self,
        token: &ApiToken,
        identity: &Identity,
        group: &PermissionGroup,
        zones: &mut Option<Option<Listing<Zone>>>,
        accounts: &mut Option<Vec<CloudflareAccountId>>,
    ) -> Result<ProbeOutcome, ApiError> {
        let Some(probe) = group.probe else {
            return Ok(ProbeOutcome::NotRun {
                reason: "No read-only call checks this permission.".to_owned(),
            });
        };
        let denied = |e: CloudflareError| match e {
            CloudflareError::PermissionDenied { .. } => Ok(ProbeOutcome::Denied),
            e => Err(cloudflare_error(e)),
        };
        match probe.needs() {
            None | Some(alphaswarm_core::cloudflare::GroupScope::Zone) => {
                if zones.is_none() {
                    // A refused zone list is an empty one that proves Zone Read missing.
                    *zones = Some(
                        match self
                            .api
                            .zones(token, identity.account.as_ref(), MAX_ZONES)
                            .await
                        {
                            Ok(listing) => Some(listing),
                            Err(CloudflareError::PermissionDenied { .. }) => None,
                            Err(e) => return Err(cloudflare_error(e)),
                        },
                    );
                }
                let listing = zones.as_ref().and_then(Option::as_ref);
                if probe == Probe::Zones {
                    return Ok(match listing {
                        Some(l) => ProbeOutcome::Allowed {
                            items: l.items.len(),
                        },
                        None => ProbeOutcome::Denied,
                    });
                }
                let listed = listing.map_or(&[][..], |l| l.items.as_slice());
                let Some(zone) = listed
                    .iter()
                    .find_map(|z| CloudflareAccountId::parse_normalised(&z.id).ok())
                else {
                    return Ok(ProbeOutcome::NotRun {
                        reason: "No zone is visible to the token (listing zones needs Zone Read), so this permission could not be checked.".to_owned(),
                    });
                };
                match self.api.probe(token, &probe.path(zone.as_str())).await {
                    Ok(items) => Ok(ProbeOutcome::Allowed { items }),
                    Err(e) => denied(e),
                }
            }
            Some(_) => {
                let candidates = match (&identity.account, accounts.as_ref()) {
                    (Some(a), _) => vec![a.clone()],
                    (None, Some(known)) => known.clone(),
                    (None, None) => {
                        let listed = self.visible_accounts(token, identity).await?;
                        let ids: Vec<CloudflareAccountId> = listed
                            .iter()
                            .filter_map(|a| CloudflareAccountId::parse_normalised(&a.id).ok())
                            .collect();
                        *accounts = Some(ids.clone());
                        ids
                    }
                };
                if candidates.is_empty() {
                    return Ok(ProbeOutcome::NotRun {
                        reason: "The token sees no account, so this permission could not be checked; give the account id.".to_owned(),
                    });
                }
                // Allowed on any account the token reaches counts.
                let mut outcome = ProbeOutcome::Denied;
                for account in candidates.iter().take(MAX_PROBED_ACCOUNTS) {
                    match self.api.probe(token, &probe.path(account.as_str())).await {
                        Ok(items) => return Ok(ProbeOutcome::Allowed { items }),
                        Err(e) => outcome = denied(e)?,
                    }
                }
                Ok(outcome)
            }
        }
    }

    /// The accounts a token reaches: `GET /accounts` for user tokens, the
    /// owning account (named if the token may read it) for account tokens.
    async fn visible_accounts(
        &self,
        token: &ApiToken,
        identity: &Identity,
    ) -> Result<Vec<AccountRef>, ApiError> {
        if let (TokenOwner::Account, Some(account)) = (identity.owner, &identity.account) {
            return Ok(vec![match self.api.account(token, account).await {
                Ok(named) => named,
                Err(CloudflareError::PermissionDenied { .. }) => AccountRef {
                    id: account.to_string(),
                    name: None,
                },
                Err(e) => return Err(cloudflare_error(e)),
            }]);
        }
        Ok(self
            .api
            .accounts(token, MAX_ACCOUNTS)
            .await
            .map_err(cloudflare_error)?
            .items)
    }

    /// Steps 4 and 5: the body with its template, the verified identity and
    /// the per-group verdicts.
    async fn permissions_step(
        &self,
        body: Value,
    ) -> Result<(TokenRequest, CloudflareTemplate, Identity, PermissionReport), ApiError> {
        let request = TokenRequest::parse(body)?;
        let template = request.template()?;
        let identity = self.identify(&request).await?;
        let report = self
            .check_permissions(&request.token, &identity, template)
            .await?;
        Ok((request, template, identity, report))
    }

    fn identity_json(identity: &Identity) -> Value {
        json!({
            "token_id": identity.token_id,
            "owner": identity.owner,
            "account_id": identity.account,
            "verified_at": identity.verify_endpoint(),
            "status": "active",
            "not_before": identity.not_before,
            "expires_on": identity.expires_on,
        })
    }

    fn permissions_json(
        identity: &Identity,
        template: CloudflareTemplate,
        report: &PermissionReport,
    ) -> Value {
        let self_check = identity.owner.self_check_group();
        json!({
            "template": template,
            "owner": identity.owner,
            "token_id": identity.token_id,
            "token_name": report.token_name,
            "evidence": report.evidence,
            "groups": report.checks,
            "granted": report.names(GroupStatus::Granted),
            "missing": report.names(GroupStatus::Missing),
            "unverified": report.names(GroupStatus::Unverified),
            "satisfied": report.checks.iter().all(|c| c.status == GroupStatus::Granted),
            "self_check": {
                "permission": self_check.dashboard_path(),
                "readable": report.evidence == Evidence::TokenPolicies,
            },
        })
    }

    /// The health check's proof, from the stored token and template: the
    /// token still verifies and is usable, and no permission group of the
    /// template is missing. `Ok(Some(problem))`: it works, but the rotation
    /// reminder is amber or red.
    async fn check_stored(&self, record: &StoredIntegration) -> Result<Option<ApiError>, ApiError> {
        let token = record.secrets.get("token").ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "credential_missing",
                "The stored Cloudflare connection has no token.",
                "Run the Cloudflare wizard again to store a token.",
            )
        })?;
        let request = TokenRequest {
            token: ApiToken::parse(token)?,
            account: record
                .metadata
                .get("account_id")
                .and_then(|a| CloudflareAccountId::parse_normalised(a).ok()),
            template: record.metadata.get("template").and_then(|t| t.parse().ok()),
        };
        let identity = self.identify(&request).await?;
        if let Some(template) = request.template {
            let report = self
                .check_permissions(&request.token, &identity, template)
                .await?;
            missing_permissions(&report, template)?;
        }
        let reminder = record
            .rotation(now().unix())
            .filter(|r| r.state != rotation::RotationState::Ok);
        Ok(reminder.map(|r| {
            let code = match r.basis {
                rotation::RotationBasis::ExpiresOn => "token_expiring_soon",
                rotation::RotationBasis::RotationPolicy => "token_rotation_due",
            };
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                r.message,
                "Create a new token from the same template (the bootstrap link) and run the wizard again; it replaces the stored one.",
            )
            .with_field("token")
        }))
    }
}

/// Step 5 refuses a token with a missing group; the hint is the first fix.
fn missing_permissions(
    report: &PermissionReport,
    template: CloudflareTemplate,
) -> Result<(), ApiError> {
    match report
        .checks
        .iter()
        .find(|c| c.status == GroupStatus::Missing)
    {
        None => Ok(()),
        Some(first) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "permissions_missing",
            format!(
                "The token lacks {} of the {} template.",
                report.names(GroupStatus::Missing).join(", "),
                template.as_str()
            ),
            first.fix.clone().unwrap_or_default(),
        )
        .with_field("token")),
    }
}

#[async_trait]
impl CloudProvider for CloudflareProvider {
    fn cloud(&self) -> &'static str {
        "cloudflare"
    }

    fn integration_kind(&self) -> &'static str {
        CloudKind::Cloudflare.integration_kind()
    }

    async fn bootstrap(&self, org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let body: BootstrapBody = parse_body(body)?;
        let request = CloudflareBootstrapRequest {
            template: body.template,
            account_id: body.account_id,
            org_id: Some(org.to_string()),
            token_owner: body.token_owner,
            self_check: body.self_check,
        };
        let validated = request.validate()?;
        let bundle = alphaswarm_core::cloudflare::render_validated(&validated)?;
        let groups: Vec<Value> = validated
            .groups()
            .iter()
            .map(|g| {
                json!({"id": g.id, "name": g.name, "dashboard": g.dashboard_path(), "scope": g.scope,
                       "baseline": validated.template.baseline().iter().any(|b| b.id == g.id)})
            })
            .collect();
        Ok(json!({
            "bundle": bundle,
            "template": validated.template,
            "token_owner": validated.owner,
            "grants": validated.template.grants(),
            "permission_groups": groups,
            "token_name": alphaswarm_core::cloudflare::token_name(&validated),
        }))
    }

    async fn validate_identity(&self, _org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let request = TokenRequest::parse(body)?;
        let identity = self.identify(&request).await?;
        let mut body = Self::identity_json(&identity);
        // What the list would show if it were connected now.
        body["rotation"] = json!(rotation::reminder(identity.expires_on, now(), now()));
        Ok(body)
    }

    async fn validate_permissions(&self, _org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let (_, template, identity, report) = self.permissions_step(body).await?;
        Ok(Self::permissions_json(&identity, template, &report))
    }

    async fn enumerate_resources(&self, _org: &OrgId, body: Value) -> Result<Value, ApiError> {
        let request = TokenRequest::parse(body)?;
        let identity = self.identify(&request).await?;
        let zones = self
            .api
            .zones(&request.token, identity.account.as_ref(), MAX_ZONES)
            .await
            .map_err(cloudflare_error)?;
        let accounts = self.visible_accounts(&request.token, &identity).await?;
        let zone_rows: Vec<Value> = zones
            .items
            .iter()
            .map(|z| {
                json!({
                    "id": z.id, "name": z.name, "status": z.status,
                    "account_id": z.account.as_ref().map(|a| &a.id),
                    "account_name": z.account.as_ref().and_then(|a| a.name.as_ref()),
                })
            })
            .collect();
        let mut notes = Vec::new();
        if zones.items.is_empty() {
            notes.push("No zone is visible: listing zones needs Zone > Zone > Read on them.");
        }
        if zones.truncated {
            notes.push("Only the first 500 zones are listed.");
        }
        Ok(json!({
            "owner": identity.owner,
            "zones": zone_rows,
            "zones_truncated": zones.truncated,
            "accounts": accounts,
            "notes": notes,
        }))
    }

    async fn connect(&self, _org: &OrgId, body: Value) -> Result<Connection, ApiError> {
        let (request, template, identity, report) = self.permissions_step(body).await?;
        missing_permissions(&report, template)?;
        let mut metadata = BTreeMap::from([
            ("token_id".to_owned(), identity.token_id.to_string()),
            ("template".to_owned(), template.as_str().to_owned()),
            ("owner".to_owned(), identity.owner.as_str().to_owned()),
        ]);
        let optional = [
            (
                "account_id",
                identity.account.as_ref().map(ToString::to_string),
            ),
            ("expires_on", identity.expires_on.map(|t| t.to_string())),
            ("not_before", identity.not_before.map(|t| t.to_string())),
            ("token_name", report.token_name.clone()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                metadata.insert(name.to_owned(), value);
            }
        }
        Ok(Connection {
            metadata,
            secrets: BTreeMap::from([("token".to_owned(), request.token.expose().to_owned())]),
            ..Connection::default()
        })
    }

    fn disconnect_cleanup(&self, _org: &OrgId, record: Option<&StoredIntegration>) -> Vec<String> {
        let meta = |name: &str| record.and_then(|r| r.metadata.get(name)).cloned();
        let owner = match meta("owner").as_deref() {
            Some("account") => TokenOwner::Account,
            _ => TokenOwner::User,
        };
        let which = match (meta("token_name"), meta("token_id")) {
            (Some(name), Some(id)) => format!("the token \"{name}\" (id {id})"),
            (None, Some(id)) => format!("the token with id {id}"),
            _ => "the AlphaSwarm token".to_owned(),
        };
        vec![
            format!(
                "Delete {which} in the Cloudflare dashboard under {}: AlphaSwarm has dropped its encrypted copy, but the token keeps working for anyone who still holds it until it is deleted or expires.",
                owner.dashboard_page()
            ),
            "AlphaSwarm does not request the permission to delete API tokens, so this clean-up is yours.".to_owned(),
        ]
    }

    /// Steps 3 and 4 with the stored token and template; amber or red
    /// rotation makes a working token `degraded`.
    async fn health(&self, _org: &OrgId, record: &StoredIntegration) -> Option<HealthCheck> {
        Some(match self.check_stored(record).await {
            Ok(None) => HealthCheck::healthy(),
            Ok(Some(problem)) => HealthCheck::attention(problem),
            Err(problem) => HealthCheck::from_error(problem),
        })
    }
}
