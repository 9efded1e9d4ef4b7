//! IAM Credentials `generateAccessToken`, Resource Manager v1 `projects.get`
//! and `testIamPermissions`, Compute `regions.list` (federation-formats
//! §3.3–3.4), each with Google's error bodies.

// Handler helpers return a finished error `Response` early; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use super::state::{Caller, TOKEN_CREATOR, WORKLOAD_IDENTITY_USER};
use super::{
    GcpFake, TOKEN_LIFETIME_SECONDS, google_error, google_error_with, not_found, rfc3339_seconds,
    unauthenticated,
};
use crate::oauth2::bearer;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const REGIONS: [(&str, &[&str]); 4] = [
    ("europe-west1", &["b", "c", "d"]),
    ("europe-west4", &["a", "b", "c"]),
    ("us-central1", &["a", "b", "c", "f"]),
    ("us-east1", &["b", "c", "d"]),
];

fn caller(fake: &GcpFake, headers: &HeaderMap) -> Result<Caller, Response> {
    let token = bearer(headers).ok_or_else(unauthenticated)?;
    fake.world().caller(token).ok_or_else(unauthenticated)
}

fn json_body(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| invalid_argument("Invalid JSON payload received."))
}

fn invalid_argument(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

fn permission_denied(message: &str) -> Response {
    google_error(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
}

/// `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`.
pub async fn generate_access_token(
    State(fake): State<GcpFake>,
    Path((project, account)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(email) = account.strip_suffix(":generateAccessToken") else {
        return not_found();
    };
    let caller = match caller(&fake, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if project != "-" {
        return invalid_argument(
            "The project in the resource name must be the wildcard '-': projects/-/serviceAccounts/{ACCOUNT}.",
        );
    }
    let request = match json_body(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let scopes: Vec<&str> = request["scope"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        return invalid_argument("Scope is required.");
    }
    let lifetime = match request["lifetime"].as_str() {
        None => TOKEN_LIFETIME_SECONDS,
        Some(l) => match l.strip_suffix('s').and_then(|n| n.parse::<f64>().ok()) {
            Some(n) if n > 0.0 && n <= TOKEN_LIFETIME_SECONDS as f64 => n as i64,
            _ => {
                return invalid_argument(
                    "The lifetime must be at most 3600s unless the organization policy allows longer.",
                );
            }
        },
    };
    let mut world = fake.world();
    let now = world.now();
    let allowed = world.service_accounts.get(email).is_some_and(|sa| {
        sa.policy
            .roles_of(now, |m| caller.is(m))
            .iter()
            .any(|r| *r == WORKLOAD_IDENTITY_USER || *r == TOKEN_CREATOR)
    });
    if !allowed {
        // The same answer for a missing account, as Google gives.
        return google_error_with(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
            vec![json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "IAM_PERMISSION_DENIED",
                "domain": "iam.googleapis.com",
                "metadata": { "permission": "iam.serviceAccounts.getAccessToken" },
            })],
        );
    }
    let expires_at = now + lifetime;
    let token = world.issue(
        "ya29.c.sa-",
        Caller::ServiceAccount {
            email: email.to_owned(),
        },
        expires_at,
    );
    drop(world);
    Json(json!({ "accessToken": token, "expireTime": rfc3339_seconds(expires_at) })).into_response()
}

/// `GET /v1/projects/{projectId}`: needs `resourcemanager.projects.get`;
/// a caller without it cannot tell a missing project from a refused one.
pub async fn get_project(
    State(fake): State<GcpFake>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&fake, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let world = fake.world();
    let Some(p) = world.project(&project).filter(|p| {
        world
            .project_permissions(p, &caller)
            .contains(&"resourcemanager.projects.get")
    }) else {
        return permission_denied("The caller does not have permission");
    };
    Json(json!({
        "projectNumber": p.number,
        "projectId": p.id,
        "lifecycleState": "ACTIVE",
        "name": p.id,
        "createTime": "2024-01-01T00:00:00.000Z",
        "parent": { "type": "organization", "id": "100000000001" },
    }))
    .into_response()
}

/// `POST /v1/projects/{projectId}:testIamPermissions`: the subset held.
pub async fn project_method(
    State(fake): State<GcpFake>,
    Path(resource): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(project) = resource.strip_suffix(":testIamPermissions") else {
        return not_found();
    };
    let caller = match caller(&fake, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let request = match json_body(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let asked: Vec<&str> = request["permissions"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if asked.len() > 100 {
        return invalid_argument("No more than 100 permissions can be tested at once.");
    }
    if let Some(bad) = asked
        .iter()
        .find(|p| p.contains('*') || p.split('.').count() != 3)
    {
        return invalid_argument(&format!("Permission {bad} is not valid."));
    }
    let world = fake.world();
    let Some(p) = world.project(project) else {
        return permission_denied("The caller does not have permission");
    };
    let held = world.project_permissions(p, &caller);
    let granted: Vec<&str> = asked.into_iter().filter(|a| held.contains(a)).collect();
    if granted.is_empty() {
        // proto3 JSON leaves an empty repeated field out.
        return Json(json!({})).into_response();
    }
    Json(json!({ "permissions": granted })).into_response()
}

/// `GET /compute/v1/projects/{project}/regions`.
pub async fn list_regions(
    State(fake): State<GcpFake>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&fake, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let world = fake.world();
    let Some(p) = world.project(&project) else {
        return compute_forbidden(&project);
    };
    if !p.compute_enabled {
        let number = &p.number;
        return google_error_with(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            &format!(
                "Compute Engine API has not been used in project {number} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/compute.googleapis.com/overview?project={number} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
            ),
            vec![
                json!({
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com",
                    "metadata": {
                        "service": "compute.googleapis.com",
                        "consumer": format!("projects/{number}"),
                        "activationUrl": format!("https://console.developers.google.com/apis/api/compute.googleapis.com/overview?project={number}"),
                    },
                }),
                json!({
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": "Compute Engine API has not been used in this project before or it is disabled.",
                }),
            ],
        );
    }
    if !world
        .project_permissions(p, &caller)
        .contains(&"compute.regions.list")
    {
        return compute_forbidden(&p.id);
    }
    let base = format!("https://www.googleapis.com/compute/v1/projects/{}", p.id);
    let items: Vec<Value> = REGIONS
        .iter()
        .map(|(name, zones)| {
            json!({
                "kind": "compute#region",
                "name": name,
                "status": "UP",
                "selfLink": format!("{base}/regions/{name}"),
                "zones": zones.iter().map(|z| format!("{base}/zones/{name}-{z}")).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({
        "kind": "compute#regionList",
        "id": format!("projects/{}/regions", p.id),
        "items": items,
        "selfLink": format!("{base}/regions"),
    }))
    .into_response()
}

/// Compute's own 403 shape for a missing permission.
fn compute_forbidden(project: &str) -> Response {
    let message = format!("Required 'compute.regions.list' permission for 'projects/{project}'");
    (
        StatusCode::FORBIDDEN,
        Json(json!({ "error": {
            "code": 403,
            "message": message,
            "errors": [{ "message": message, "domain": "global", "reason": "forbidden" }],
        }})),
    )
        .into_response()
}
