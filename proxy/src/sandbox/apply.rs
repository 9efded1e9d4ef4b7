//! "Apply in the sandbox": the simulated customer administrator applies
//! what the proxy rendered for the org at step 2 (each cloud's provider
//! renders it here exactly as the bootstrap route does), optionally broken
//! on purpose so the operator sees a failure path for a real reason.
//!
//! `POST /admin/accounts/{org_id}/cloud/{cloud}/sandbox-apply` with
//! `{request?: <the step-2 body>, break?: <how>}` (session; audited as
//! `sandbox_apply`); 404 `sandbox_off` unless the proxy runs in sandbox mode.

use super::{
    CUSTOMER_ACCOUNT, CUSTOMER_SUBSCRIPTION, CUSTOMER_TENANT, GCP_PROJECT, GCP_PROJECT_NUMBER,
    Sandbox,
};
use crate::app::AppState;
use crate::auth::AdminSession;
use crate::error::{ApiError, JsonBody, parse_body, path_rejection};
use crate::providers::CloudProvider;
use alphaswarm_core::aws as core_aws;
use alphaswarm_core::cloudflare::{CloudflareTemplate, TokenOwner};
use alphaswarm_core::{Bundle, OrgId};
use alphaswarm_fakes::cloudflare::MintOptions;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/accounts/{org_id}/cloud/{cloud}/sandbox-apply",
        post(sandbox_apply),
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    /// The body step 2 was rendered with (region, tenant, project, template…).
    #[serde(default)]
    request: Option<Value>,
    /// Break the set-up on purpose: see [`Break`].
    #[serde(default, rename = "break")]
    breakage: Option<String>,
}

/// The ways to break a set-up on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// AWS: the trust policy names another org's external id.
    WrongExternalId,
    /// AWS: no role at all (never created, or deleted).
    MissingRole,
    /// AWS: the role exists but has no permissions policy.
    MissingPermissions,
    /// Cloudflare: the token is revoked right after it is created.
    RevokedToken,
}

impl Break {
    const NAMES: [(&'static str, Break); 4] = [
        ("wrong_external_id", Break::WrongExternalId),
        ("missing_role", Break::MissingRole),
        ("missing_permissions", Break::MissingPermissions),
        ("revoked_token", Break::RevokedToken),
    ];

    fn parse(cloud: &str, name: &str) -> Result<Break, ApiError> {
        let allowed: &[&str] = match cloud {
            "aws" => &["wrong_external_id", "missing_role", "missing_permissions"],
            "cloudflare" => &["revoked_token"],
            _ => &[],
        };
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name && allowed.contains(n))
            .map(|(_, b)| *b)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_break",
                    "The sandbox cannot break this cloud's set-up that way.",
                    if allowed.is_empty() {
                        "This cloud has no broken-on-purpose set-up; leave break out.".to_owned()
                    } else {
                        format!("Use one of: {}.", allowed.join(", "))
                    },
                )
                .with_field("break")
            })
    }
}

async fn sandbox_apply(
    State(state): State<AppState>,
    AdminSession(session): AdminSession,
    path: Result<Path<(String, String)>, PathRejection>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let Path((org_id, cloud)) = path.map_err(path_rejection)?;
    let sandbox = state.sandbox.clone().ok_or_else(|| {
        ApiError::not_found(
            "sandbox_off",
            "This proxy talks to real clouds; nothing is simulated here.",
        )
    })?;
    let org = OrgId::parse(&org_id)?;
    let provider = state
        .providers
        .get(cloud.as_str())
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(
                "cloud_not_supported",
                "This proxy has no wizard for that cloud.",
            )
            .with_field("cloud_kind")
        })?;
    let body: ApplyBody = if body.is_null() {
        ApplyBody::default()
    } else {
        parse_body(body)?
    };
    let breakage = body
        .breakage
        .as_deref()
        .map(|name| Break::parse(provider.cloud(), name))
        .transpose()?;
    let request = body.request.unwrap_or_else(|| json!({}));
    crate::routes::audited(
        &state,
        &session,
        &org,
        provider.cloud(),
        "sandbox_apply",
        || async { apply(&sandbox, provider.as_ref(), &org, request, breakage).await },
    )
    .await
}

/// Renders step 2 for `org` through `provider` and applies it to the
/// simulated cloud. Answers what was done and the values the later steps
/// need (`fields`, by the step body's field names).
pub async fn apply(
    sandbox: &Sandbox,
    provider: &dyn CloudProvider,
    org: &OrgId,
    request: Value,
    breakage: Option<Break>,
) -> Result<Value, ApiError> {
    match provider.cloud() {
        "aws" => apply_aws(sandbox, provider, org, request, breakage).await,
        "azure" => apply_azure(sandbox, provider, org, request).await,
        "gcp" => apply_gcp(sandbox, provider, org, request).await,
        "cloudflare" => apply_cloudflare(sandbox, request, breakage),
        _ => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "sandbox_cloud_missing",
            "This cloud is not simulated in the sandbox yet.",
            "Connect it against the real cloud instead.",
        )),
    }
}

/// The simulated cloud refused the rendered artifacts: a rendering bug, so
/// the operator is told plainly and the developer detail goes to the log.
fn refused(cloud: &str, detail: impl std::fmt::Display) -> ApiError {
    tracing::error!(cloud, %detail, "the sandbox refused the rendered set-up");
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "sandbox_apply_failed",
        "The simulated cloud refused the set-up the wizard prepared.",
        "See the proxy's log for the cloud's answer.",
    )
}

fn file<'a>(bundle: &'a Value, name: &str) -> Option<&'a str> {
    bundle["files"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)?["contents"]
        .as_str()
}

async fn apply_aws(
    sandbox: &Sandbox,
    provider: &dyn CloudProvider,
    org: &OrgId,
    request: Value,
    breakage: Option<Break>,
) -> Result<Value, ApiError> {
    let rendered = provider.bootstrap(org, request).await?;
    let role_name = rendered["role_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let trust = file(&rendered["bundle"], core_aws::TRUST_POLICY_FILE)
        .ok_or_else(|| refused("aws", "no trust policy in the bundle"))?;
    let baseline = file(&rendered["bundle"], core_aws::BASELINE_POLICY_FILE)
        .ok_or_else(|| refused("aws", "no permissions policy in the bundle"))?;
    let aws = sandbox.aws.state();
    let partition = rendered["bundle"]["partition"].as_str().unwrap_or("aws");
    let role_arn = format!("arn:{partition}:iam::{CUSTOMER_ACCOUNT}:role/{role_name}");
    // Applying again starts from a clean account, as a customer re-running
    // the set-up after deleting the role would.
    let _ = aws.delete_role(&role_arn);
    let mut applied = Vec::new();
    if breakage != Some(Break::MissingRole) {
        let trust = match breakage {
            Some(Break::WrongExternalId) => {
                let external_id = rendered["external_id"].as_str().unwrap_or_default();
                applied.push(
                    "trust policy with ANOTHER organisation's external id (broken on purpose)",
                );
                trust.replace(external_id, "someone-elses-external-id")
            }
            _ => {
                applied.push("trust policy as rendered");
                trust.to_owned()
            }
        };
        aws.create_role(CUSTOMER_ACCOUNT, &role_name, "/", &trust)
            .map_err(|f| refused("aws", format!("{f:?}")))?;
        if breakage == Some(Break::MissingPermissions) {
            applied.push("no permissions policy (broken on purpose)");
        } else {
            aws.put_role_policy(&role_arn, core_aws::BASELINE_POLICY_NAME, baseline)
                .map_err(|f| refused("aws", format!("{f:?}")))?;
            applied.push("least-privilege permissions policy as rendered");
        }
    } else {
        applied.push("no role (broken on purpose)");
    }
    Ok(json!({
        "cloud": "aws",
        "applied": applied,
        "fields": { "role_arn": role_arn },
    }))
}

/// Fills the simulated customer's ids where the step-2 body has none.
fn with_defaults(request: Value, defaults: &[(&str, &str)]) -> Value {
    let mut request = match request {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    for (name, value) in defaults {
        request
            .entry(name.to_string())
            .or_insert_with(|| json!(value));
    }
    Value::Object(request)
}

/// Step 2 rendered through `provider` for the simulated customer: the
/// request (its ids filled in from `defaults` where missing) and the bundle.
async fn render(
    provider: &dyn CloudProvider,
    org: &OrgId,
    request: Value,
    defaults: &[(&str, &str)],
) -> Result<(Value, Bundle), ApiError> {
    let request = with_defaults(request, defaults);
    let rendered = provider.bootstrap(org, request.clone()).await?;
    let bundle = serde_json::from_value(rendered["bundle"].clone())
        .map_err(|e| refused(provider.cloud(), e))?;
    Ok((request, bundle))
}

async fn apply_azure(
    sandbox: &Sandbox,
    provider: &dyn CloudProvider,
    org: &OrgId,
    request: Value,
) -> Result<Value, ApiError> {
    let defaults = [
        ("tenant_id", CUSTOMER_TENANT),
        ("subscription_id", CUSTOMER_SUBSCRIPTION),
    ];
    let (request, bundle) = render(provider, org, request, &defaults).await?;
    let (customer, platform) = (sandbox.customer_login(), sandbox.platform_login());
    let consent = bundle.links.iter().find(|l| l.name == "admin_consent");
    let outputs = match consent {
        // Shared app: AlphaSwarm's credential first, then the tenant's
        // consent (the bundle's link), then the role assignment.
        Some(link) if !bundle.commands.bash.is_empty() => {
            let (first, rest) = bundle.commands.bash.split_at(1);
            let part = |bash: &[String]| Bundle {
                commands: alphaswarm_core::shell::Commands {
                    bash: bash.to_vec(),
                    powershell: Vec::new(),
                },
                ..bundle.clone()
            };
            sandbox
                .azure
                .apply_bundle(&customer, Some(&platform), &part(first))
                .map_err(|e| refused("azure", e))?;
            sandbox
                .azure
                .follow_admin_consent_link(&link.url)
                .map_err(|e| refused("azure", e))?;
            sandbox
                .azure
                .apply_bundle(&customer, Some(&platform), &part(rest))
                .map_err(|e| refused("azure", e))?
        }
        _ => sandbox
            .azure
            .apply_bundle(&customer, Some(&platform), &bundle)
            .map_err(|e| refused("azure", e))?,
    };
    let mut fields = json!({
        "tenant_id": request["tenant_id"], "subscription_id": request["subscription_id"],
    });
    if consent.is_none()
        && let Some(client_id) = outputs.last().map(|o| o.trim()).filter(|o| !o.is_empty())
    {
        fields["client_id"] = json!(client_id);
    }
    Ok(json!({
        "cloud": "azure",
        "applied": ["every command of the rendered bundle, as the tenant's administrator"],
        "fields": fields,
    }))
}

async fn apply_gcp(
    sandbox: &Sandbox,
    provider: &dyn CloudProvider,
    org: &OrgId,
    request: Value,
) -> Result<Value, ApiError> {
    let defaults = [
        ("project_id", GCP_PROJECT),
        ("project_number", GCP_PROJECT_NUMBER),
    ];
    let (request, bundle) = render(provider, org, request, &defaults).await?;
    sandbox
        .gcp
        .apply_bundle(&bundle)
        .map_err(|e| refused("gcp", format!("{e:?}")))?;
    Ok(json!({
        "cloud": "gcp",
        "applied": ["workload identity pool, provider and role bindings as rendered"],
        "fields": { "project_id": request["project_id"], "project_number": request["project_number"] },
    }))
}

fn apply_cloudflare(
    sandbox: &Sandbox,
    request: Value,
    breakage: Option<Break>,
) -> Result<Value, ApiError> {
    let text = |name: &str| request.get(name).and_then(Value::as_str).map(str::to_owned);
    let template: CloudflareTemplate = text("template")
        .as_deref()
        .unwrap_or("dns_edit")
        .parse()
        .map_err(|e: alphaswarm_core::ids::IdError| {
            ApiError::from_core(&e).with_field("template")
        })?;
    let owner = match text("token_owner").as_deref() {
        Some("account") => TokenOwner::Account,
        _ => TokenOwner::User,
    };
    let fake = &sandbox.cloudflare.fake;
    let account_id = text("account_id").unwrap_or_else(|| fake.account_id());
    let minted = fake
        .mint_from_template(template, owner, Some(&account_id), MintOptions::default())
        .map_err(|e| refused("cloudflare", e))?;
    let mut applied = vec!["an API token from the rendered template's permission groups"];
    if breakage == Some(Break::RevokedToken) {
        fake.revoke(&minted.id);
        applied.push("the token deleted right after (broken on purpose)");
    }
    // A simulated credential of a simulated account: it exists only in this
    // process, and the operator pastes it at step 3 as a customer would.
    Ok(json!({
        "cloud": "cloudflare",
        "applied": applied,
        "fields": { "token": minted.value, "account_id": account_id, "template": template.as_str() },
    }))
}
