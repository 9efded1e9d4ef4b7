//! The fake Azure Resource Manager: the subscription, its resource groups
//! and locations, the caller's role assignments and effective permissions,
//! each answered from the fake's own state for the principal the bearer
//! token names, with ARM's error shape and authorization rules (the token's
//! tenant must own the subscription; reads need a role that allows them).

use super::Shared;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

/// ARM's error body `{"error": {"code", "message"}}` with its status.
pub struct ArmFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

pub fn arm_error(status: StatusCode, code: &'static str, message: &str) -> ArmFailure {
    ArmFailure {
        status,
        code,
        message: message.to_owned(),
    }
}

impl IntoResponse for ArmFailure {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

/// Who is calling: the claims of a token the fake's Entra issued.
pub struct Caller {
    pub object_id: String,
    pub tenant: String,
    pub app_id: String,
}

/// Authenticates the bearer and checks the `api-version`.
fn caller(
    fake: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    versions: &[&str],
) -> Result<Caller, ArmFailure> {
    let Some(bearer) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Err(arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let caller = fake.verify_arm_token(bearer)?;
    match params.get("api-version") {
        None => Err(arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) if !versions.contains(&v.as_str()) => Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{v}' is invalid. The supported versions are '{}'.",
                versions.join(",")
            ),
        )),
        Some(_) => Ok(caller),
    }
}

const SUBSCRIPTION_VERSIONS: [&str; 4] = ["2016-06-01", "2020-01-01", "2021-01-01", "2022-12-01"];
const GROUP_VERSIONS: [&str; 3] = ["2021-04-01", "2022-09-01", "2024-03-01"];
const AUTHORIZATION_VERSIONS: [&str; 2] = ["2022-04-01", "2022-05-01-preview"];

/// The subscription if the caller's tenant owns it and the caller may do
/// `action` there.
fn authorised(
    fake: &Shared,
    caller: &Caller,
    subscription: &str,
    scope: &str,
    action: Option<&str>,
) -> Result<super::state::Subscription, ArmFailure> {
    let state = fake.lock();
    let Some(sub) = state.subscriptions.get(&subscription.to_ascii_lowercase()) else {
        return Err(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription}' could not be found."),
        ));
    };
    if sub.tenant != caller.tenant {
        return Err(arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenTenant",
            &format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{}' to get the token.",
                caller.tenant, sub.tenant, sub.tenant
            ),
        ));
    }
    if let Some(action) = action
        && !state.allowed(&caller.object_id, scope, action)
    {
        return Err(arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            &format!(
                "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                caller.app_id, caller.object_id
            ),
        ));
    }
    Ok(sub.clone())
}

/// One ARM GET: the fake, the subscription id in the path, the headers and
/// the query, taken from the request by axum.
pub struct ArmCall {
    fake: Shared,
    id: String,
    headers: HeaderMap,
    params: HashMap<String, String>,
}

impl axum::extract::FromRequestParts<Shared> for ArmCall {
    type Rejection = ArmFailure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        fake: &Shared,
    ) -> Result<Self, ArmFailure> {
        let not_found = || {
            arm_error(
                StatusCode::NOT_FOUND,
                "InvalidResourceType",
                "The resource type could not be found.",
            )
        };
        let Path(id) = Path::<String>::from_request_parts(parts, fake)
            .await
            .map_err(|_| not_found())?;
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, fake)
            .await
            .map_err(|_| {
                arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidQueryParameterValue",
                    "The query string is invalid.",
                )
            })?;
        Ok(ArmCall {
            fake: fake.clone(),
            id,
            headers: parts.headers.clone(),
            params,
        })
    }
}

impl ArmCall {
    /// The subscription, if the caller may do `action` on it.
    fn authorised(
        &self,
        versions: &[&str],
        action: &str,
    ) -> Result<super::state::Subscription, ArmFailure> {
        Ok(self.caller_and_subscription(versions, Some(action))?.1)
    }

    /// The caller and the subscription (its tenant must be the caller's),
    /// and with `action`, the caller's right to do it there.
    fn caller_and_subscription(
        &self,
        versions: &[&str],
        action: Option<&str>,
    ) -> Result<(Caller, super::state::Subscription), ArmFailure> {
        let caller = caller(&self.fake, &self.headers, &self.params, versions)?;
        let scope = format!("/subscriptions/{}", self.id);
        let sub = authorised(&self.fake, &caller, &self.id, &scope, action)?;
        Ok((caller, sub))
    }

    fn page(&self, rest: &str, items: Vec<Value>) -> Response {
        page(
            &self.fake,
            &format!("/subscriptions/{}{rest}", self.id),
            &self.params,
            items,
        )
    }
}

/// One page of `items` and the `nextLink` to the rest (`$skiptoken`).
fn page(
    fake: &Shared,
    path: &str,
    params: &HashMap<String, String>,
    items: Vec<Value>,
) -> Response {
    let size = fake.lock().page_size.max(1);
    let skip: usize = params
        .get("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let value: Vec<Value> = items.iter().skip(skip).take(size).cloned().collect();
    let mut body = json!({ "value": value });
    if skip + size < items.len() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "$skiptoken") {
            query.append_pair(k, v);
        }
        query.append_pair("$skiptoken", &(skip + size).to_string());
        body["nextLink"] = json!(format!("{}{path}?{}", fake.arm_base(), query.finish()));
    }
    axum::Json(body).into_response()
}

fn subscription_json(sub: &super::state::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", sub.id),
        "subscriptionId": sub.id,
        "tenantId": sub.tenant,
        "displayName": sub.display_name,
        "state": sub.state,
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
    })
}

pub async fn subscription(call: ArmCall) -> Result<Response, ArmFailure> {
    let sub = call.authorised(
        &SUBSCRIPTION_VERSIONS,
        "Microsoft.Resources/subscriptions/read",
    )?;
    Ok(axum::Json(subscription_json(&sub)).into_response())
}

pub async fn resource_groups(call: ArmCall) -> Result<Response, ArmFailure> {
    let sub = call.authorised(
        &GROUP_VERSIONS,
        "Microsoft.Resources/subscriptions/resourceGroups/read",
    )?;
    let items = sub
        .resource_groups
        .values()
        .map(|g| {
            json!({
                "id": format!("/subscriptions/{}/resourceGroups/{}", sub.id, g.name),
                "name": g.name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": g.location,
                "properties": {"provisioningState": "Succeeded"},
            })
        })
        .collect();
    Ok(call.page("/resourcegroups", items))
}

/// The regions the fake offers (name, display name, geography group).
pub const LOCATIONS: [(&str, &str, &str); 6] = [
    ("eastus", "East US", "US"),
    ("westus2", "West US 2", "US"),
    ("northeurope", "North Europe", "Europe"),
    ("westeurope", "West Europe", "Europe"),
    ("uksouth", "UK South", "UK"),
    ("japaneast", "Japan East", "Asia Pacific"),
];

pub async fn locations(call: ArmCall) -> Result<Response, ArmFailure> {
    let sub = call.authorised(
        &SUBSCRIPTION_VERSIONS,
        "Microsoft.Resources/subscriptions/locations/read",
    )?;
    let items = LOCATIONS
        .iter()
        .map(|(name, display, geography)| {
            json!({
                "id": format!("/subscriptions/{}/locations/{name}", sub.id),
                "name": name,
                "type": "Region",
                "displayName": display,
                "regionalDisplayName": format!("({geography}) {display}"),
                "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": geography},
            })
        })
        .collect();
    Ok(call.page("/locations", items))
}

pub async fn role_assignments(call: ArmCall) -> Result<Response, ArmFailure> {
    let sub = call.authorised(
        &AUTHORIZATION_VERSIONS,
        "Microsoft.Authorization/roleAssignments/read",
    )?;
    // `principalId eq '<id>'` (at, above or below the scope) or `atScope()`.
    let filter = call
        .params
        .get("$filter")
        .map(String::as_str)
        .unwrap_or_default();
    let principal = filter
        .strip_prefix("principalId eq '")
        .and_then(|rest| rest.strip_suffix('\''))
        .map(str::to_ascii_lowercase);
    if !filter.is_empty() && principal.is_none() && filter != "atScope()" {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "UnsupportedQuery",
            &format!("The filter '{filter}' is not supported."),
        ));
    }
    let scope = format!("/subscriptions/{}", sub.id);
    let items = call
        .fake
        .lock()
        .role_assignments
        .iter()
        .filter(|a| principal.as_ref().is_none_or(|p| &a.principal_id == p))
        .filter(|a| {
            let at = a.scope.to_ascii_lowercase();
            let scope = scope.to_ascii_lowercase();
            // At, above (a prefix of) or below the subscription.
            at == scope || scope.starts_with(&format!("{at}/")) || at.starts_with(&format!("{scope}/"))
        })
        .map(|a| {
            json!({
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", sub.id, a.role_definition_id),
                    "principalId": a.principal_id,
                    "principalType": a.principal_type,
                    "scope": a.scope,
                    "condition": null,
                    "conditionVersion": null,
                },
                "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", a.scope, a.name),
                "type": "Microsoft.Authorization/roleAssignments",
                "name": a.name,
            })
        })
        .collect();
    Ok(call.page("/providers/Microsoft.Authorization/roleAssignments", items))
}

pub async fn permissions(call: ArmCall) -> Result<Response, ArmFailure> {
    // Anyone may read their own permissions; the tenant must still match.
    let (caller, sub) = call.caller_and_subscription(&AUTHORIZATION_VERSIONS, None)?;
    let items = call
        .fake
        .lock()
        .permissions(&caller.object_id, &format!("/subscriptions/{}", sub.id))
        .into_iter()
        .map(|p| {
            json!({
                "actions": p.actions,
                "notActions": p.not_actions,
                "dataActions": [],
                "notDataActions": [],
            })
        })
        .collect();
    Ok(call.page("/providers/Microsoft.Authorization/permissions", items))
}
