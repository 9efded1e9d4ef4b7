//! Every HTTP call to the proxy (proxy/API.md), typed both ways.
//!
//! Errors come back in the core's `{code, message, field, hint}` shape;
//! a request that got no answer at all is a [`ApiError::Network`] so the
//! UI can offer to retry it unchanged.

use alphaswarm_core::{Bundle, ErrorBody, OrgId};
use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The proxy answered with an error status.
    Proxy {
        status: u16,
        body: ErrorBody,
        audit_run_id: Option<String>,
    },
    /// The proxy could not be reached (or the connection broke).
    Network { message: String },
}

impl ApiError {
    pub fn code(&self) -> &str {
        match self {
            ApiError::Proxy { body, .. } => &body.code,
            ApiError::Network { .. } => "network_error",
        }
    }
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Proxy { body, .. } => body.field.as_deref(),
            ApiError::Network { .. } => None,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            ApiError::Proxy { body, .. } => &body.message,
            ApiError::Network { message } => message,
        }
    }
    pub fn hint(&self) -> &str {
        match self {
            ApiError::Proxy { body, .. } => &body.hint,
            ApiError::Network { .. } => "Check that the proxy is running, then retry.",
        }
    }
    pub fn is_network(&self) -> bool {
        matches!(self, ApiError::Network { .. })
    }
    /// A client-side error in the same shape (e.g. an ARN that does not parse).
    pub fn local(body: ErrorBody) -> Self {
        ApiError::Proxy {
            status: 0,
            body,
            audit_run_id: None,
        }
    }
}

/// The error body as sent: `field` and `hint` may be null or absent.
#[derive(Deserialize)]
struct WireError {
    code: String,
    message: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    audit_run_id: Option<String>,
}

// ------------------------------------------------------------------ shapes

#[derive(Debug, Clone, Serialize)]
pub struct LoginRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepUpRequest<'a> {
    pub code: &'a str,
}

/// `expires_at` / `step_up_until` are kept as sent (seconds or RFC 3339).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenResponse {
    pub token: String,
    #[serde(default)]
    pub expires_at: serde_json::Value,
    #[serde(default)]
    pub step_up_until: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BootstrapRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BootstrapResponse {
    pub bundle: Bundle,
    pub external_id: String,
    pub role_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleRequest<'a> {
    pub role_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConfusedDeputy {
    pub safe: bool,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdentityResponse {
    pub audit_run_id: String,
    pub account_id: String,
    pub role_arn: String,
    pub assumed_arn: String,
    pub attempts: u32,
    pub confused_deputy: ConfusedDeputy,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActionResult {
    pub action: String,
    pub decision: String,
    pub granted: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PermissionsResponse {
    pub audit_run_id: String,
    pub results: Vec<ActionResult>,
    pub granted: Vec<String>,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Region {
    pub name: String,
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub opt_in_status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegionsResponse {
    pub audit_run_id: String,
    pub regions: Vec<Region>,
}

/// A stored integration with masked metadata only (seed 003 shape).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Integration {
    pub org_id: String,
    pub kind: String,
    pub credential_key: String,
    pub status: String,
    #[serde(default)]
    pub connected_at: serde_json::Value,
    #[serde(default)]
    pub last_health_at: serde_json::Value,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConnectResponse {
    pub audit_run_id: String,
    pub integration: Integration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IntegrationsResponse {
    pub integrations: Vec<Integration>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DisconnectResponse {
    pub audit_run_id: String,
    pub removed: bool,
    pub vendor_cleanup: Vec<String>,
}

// ------------------------------------------------------------------ calls

pub async fn login(username: &str, password: &str) -> Result<TokenResponse, ApiError> {
    let body = LoginRequest { username, password };
    send(with_json(Request::post("/auth/login"), &body)).await
}

pub async fn step_up(token: &str, code: &str) -> Result<TokenResponse, ApiError> {
    let body = StepUpRequest { code };
    send(with_json(
        authed(Request::post("/auth/step-up"), token),
        &body,
    ))
    .await
}

fn aws_path(org: &OrgId, action: &str) -> String {
    format!("/admin/accounts/{}/cloud/aws/{action}", org.as_str())
}

pub async fn bootstrap(
    token: &str,
    org: &OrgId,
    body: &BootstrapRequest,
) -> Result<BootstrapResponse, ApiError> {
    let req = authed(Request::post(&aws_path(org, "bootstrap")), token);
    send(with_json(req, body)).await
}

pub async fn validate_identity(
    token: &str,
    org: &OrgId,
    body: &RoleRequest<'_>,
) -> Result<IdentityResponse, ApiError> {
    let req = authed(Request::post(&aws_path(org, "validate-identity")), token);
    send(with_json(req, body)).await
}

pub async fn validate_permissions(
    token: &str,
    org: &OrgId,
    role_arn: &str,
) -> Result<PermissionsResponse, ApiError> {
    let req = authed(Request::post(&aws_path(org, "validate-permissions")), token);
    let body = RoleRequest {
        role_arn,
        region: None,
    };
    send(with_json(req, &body)).await
}

pub async fn enumerate_resources(
    token: &str,
    org: &OrgId,
    role_arn: &str,
) -> Result<RegionsResponse, ApiError> {
    let req = authed(Request::post(&aws_path(org, "enumerate-resources")), token);
    let body = RoleRequest {
        role_arn,
        region: None,
    };
    send(with_json(req, &body)).await
}

pub async fn connect(
    token: &str,
    org: &OrgId,
    body: &RoleRequest<'_>,
) -> Result<ConnectResponse, ApiError> {
    let req = authed(Request::post(&aws_path(org, "connect")), token);
    send(with_json(req, body)).await
}

pub async fn disconnect(token: &str, org: &OrgId) -> Result<DisconnectResponse, ApiError> {
    let url = format!("/admin/accounts/{}/cloud/aws", org.as_str());
    send(authed(Request::delete(&url), token).build()).await
}

pub async fn integrations(token: &str, org: &OrgId) -> Result<IntegrationsResponse, ApiError> {
    let url = format!("/admin/accounts/{}/integrations", org.as_str());
    send(authed(Request::get(&url), token).build()).await
}

// ------------------------------------------------------------------ plumbing

fn authed(req: RequestBuilder, token: &str) -> RequestBuilder {
    req.header("Authorization", &format!("Bearer {token}"))
}

fn with_json<B: Serialize>(req: RequestBuilder, body: &B) -> Result<Request, gloo_net::Error> {
    req.json(body)
}

async fn send<R: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<R, ApiError> {
    let request = request.map_err(|e| ApiError::Network {
        message: format!("The request could not be prepared: {e}"),
    })?;
    let response = request.send().await.map_err(|_| ApiError::Network {
        message: "The proxy could not be reached.".to_owned(),
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|_| ApiError::Network {
        message: "The connection to the proxy broke while reading its answer.".to_owned(),
    })?;
    if response.ok() {
        serde_json::from_str(&text).map_err(|e| unexpected(status, &e.to_string()))
    } else {
        Err(parse_error(status, &text))
    }
}

/// Turns an error response into [`ApiError::Proxy`], whatever its body.
pub fn parse_error(status: u16, text: &str) -> ApiError {
    match serde_json::from_str::<WireError>(text) {
        Ok(wire) => ApiError::Proxy {
            status,
            body: ErrorBody {
                code: wire.code,
                message: wire.message,
                field: wire.field,
                hint: wire.hint.unwrap_or_default(),
            },
            audit_run_id: wire.audit_run_id,
        },
        Err(_) => unexpected(status, "the body is not the error shape"),
    }
}

fn unexpected(status: u16, detail: &str) -> ApiError {
    ApiError::Proxy {
        status,
        body: ErrorBody {
            code: "unexpected_response".to_owned(),
            message: format!(
                "The proxy sent an answer the wizard does not understand (HTTP {status}: {detail})."
            ),
            field: None,
            hint: "Make sure the proxy and the web UI come from the same build.".to_owned(),
        },
        audit_run_id: None,
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn error_shape_with_null_hint_and_audit_id() {
        let err = parse_error(
            422,
            r#"{"code":"assume_role_access_denied","message":"AWS refused","field":"role_arn","hint":null,"audit_run_id":"r1"}"#,
        );
        assert_eq!(err.code(), "assume_role_access_denied");
        assert_eq!(err.field(), Some("role_arn"));
        assert!(
            matches!(err, ApiError::Proxy { status: 422, audit_run_id: Some(ref id), .. } if id == "r1")
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn non_json_error_is_still_structured() {
        let err = parse_error(502, "Bad Gateway");
        assert_eq!(err.code(), "unexpected_response");
        assert!(!err.is_network());
    }
}
