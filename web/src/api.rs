//! Every HTTP call to the proxy (proxy/API.md).
//!
//! The wizard's calls are generic: `POST /admin/accounts/{org}/cloud/{cloud}/{step}`
//! with the body a cloud module built, answering JSON the cloud module reads
//! into its own types. Errors come back in the core's `{code, message,
//! field, hint}` shape; a request that got no answer at all is an
//! [`ApiError::Network`] so the UI can offer to retry it unchanged.

use crate::json::{
    self, FromJson, Missing, any, flag, list, maybe_text, object, text, text_or_empty,
};
use crate::model::Step;
use alphaswarm_core::accounts::AccountKind;
use alphaswarm_core::{CloudKind, ErrorBody, OrgId};
use gloo_net::http::{Request, RequestBuilder};
use serde::Serialize;
use serde_json::Value;

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

// ------------------------------------------------------------------ shapes
// Only the shapes every cloud shares; each cloud module owns its own. All
// are read with `crate::json` (see there why not serde's derive).

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
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    pub token: String,
    pub expires_at: Value,
    pub step_up_until: Value,
}

impl FromJson for TokenResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(TokenResponse {
            token: text(v, "token")?,
            expires_at: any(v, "expires_at"),
            step_up_until: any(v, "step_up_until"),
        })
    }
}

/// A stored integration with masked metadata only (seed 003 shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub org_id: String,
    pub kind: String,
    pub credential_key: String,
    pub status: String,
    pub connected_at: Value,
    pub last_health_at: Value,
    /// `healthy` | `degraded` | `failed`; `None` until a check ran.
    pub last_health_status: Option<String>,
    /// The last check's problem (code, operator message, hint).
    pub error: Option<String>,
    pub error_message: Option<String>,
    pub error_hint: Option<String>,
    /// HuggingFace and Docker Hub only.
    pub namespace: Option<String>,
    pub metadata: serde_json::Map<String, Value>,
    pub rotation: Option<Rotation>,
}

impl FromJson for Integration {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(Integration {
            org_id: text(v, "org_id")?,
            kind: text(v, "kind")?,
            credential_key: text(v, "credential_key")?,
            status: text(v, "status")?,
            connected_at: any(v, "connected_at"),
            last_health_at: any(v, "last_health_at"),
            last_health_status: maybe_text(v, "last_health_status"),
            error: maybe_text(v, "error"),
            error_message: maybe_text(v, "error_message"),
            error_hint: maybe_text(v, "error_hint"),
            namespace: maybe_text(v, "namespace"),
            metadata: v
                .get("metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            rotation: v.get("rotation").and_then(|r| Rotation::from_json(r).ok()),
        })
    }
}

/// A token's rotation reminder (core `rotation::RotationReminder`): on
/// listed integrations whose credential is a token AlphaSwarm keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// `ok`, `due_soon` or `overdue`.
    pub state: String,
    pub message: String,
}

impl FromJson for Rotation {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(Rotation {
            state: text(v, "state")?,
            message: text(v, "message")?,
        })
    }
}

/// Step 5's answer, for every cloud; also the answer of an account's
/// connect and of a health check (both carry the updated record).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectResponse {
    pub integration: Integration,
}

impl FromJson for ConnectResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(ConnectResponse {
            integration: object(v, "integration")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationsResponse {
    pub integrations: Vec<Integration>,
}

impl FromJson for IntegrationsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(IntegrationsResponse {
            integrations: list(v, "integrations")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DisconnectResponse {
    pub removed: bool,
    pub vendor_cleanup: Vec<String>,
}

impl FromJson for DisconnectResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(DisconnectResponse {
            removed: flag(v, "removed")?,
            vendor_cleanup: list(v, "vendor_cleanup")?,
        })
    }
}

/// The clouds this proxy has a provider for, by URL segment (`aws`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudsResponse {
    pub clouds: Vec<String>,
}

impl FromJson for CloudsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(CloudsResponse {
            clouds: list(v, "clouds")?,
        })
    }
}

impl CloudsResponse {
    /// The ones this UI knows; an unknown name (a newer proxy) is skipped.
    pub fn kinds(&self) -> Vec<CloudKind> {
        self.clouds.iter().filter_map(|c| c.parse().ok()).collect()
    }
}

/// One connection in the organisations overview.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSummary {
    pub kind: String,
    pub status: String,
    pub last_health_at: Option<String>,
}

impl FromJson for ConnectionSummary {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(ConnectionSummary {
            kind: text(v, "kind")?,
            status: text(v, "status")?,
            last_health_at: maybe_text(v, "last_health_at"),
        })
    }
}

/// An organisation with connections (`GET /admin/accounts`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgSummary {
    pub org_id: String,
    pub last_health_at: Option<String>,
    pub connections: Vec<ConnectionSummary>,
}

impl FromJson for OrgSummary {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(OrgSummary {
            org_id: text(v, "org_id")?,
            last_health_at: maybe_text(v, "last_health_at"),
            connections: list(v, "connections")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationsResponse {
    pub organisations: Vec<OrgSummary>,
}

impl FromJson for OrganisationsResponse {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(OrganisationsResponse {
            organisations: list(v, "organisations")?,
        })
    }
}

// ------------------------------------------------------------------ calls

pub async fn login(username: &str, password: &str) -> Result<TokenResponse, ApiError> {
    let body = LoginRequest { username, password };
    send_read(Request::post("/auth/login").json(&body)).await
}

pub async fn step_up(token: &str, code: &str) -> Result<TokenResponse, ApiError> {
    let body = StepUpRequest { code };
    send_read(authed(Request::post("/auth/step-up"), token).json(&body)).await
}

pub async fn clouds(token: &str) -> Result<CloudsResponse, ApiError> {
    send_read(authed(Request::get("/admin/clouds"), token).build()).await
}

/// Whether the proxy simulates every cloud (`GET /healthz`, no session).
pub async fn sandbox_mode() -> Result<bool, ApiError> {
    let (_, text) = send(Request::get("/healthz").build()).await?;
    let v = json::value(&text).map_err(|e| unexpected(200, &e))?;
    Ok(v["sandbox"].as_bool().unwrap_or(false))
}

/// Step 2 applied to the simulated cloud (sandbox mode only); the answer's
/// JSON text (`applied`, `fields`).
pub async fn sandbox_apply(
    token: &str,
    org: &OrgId,
    cloud: CloudKind,
    body: &Value,
) -> Result<String, ApiError> {
    let url = format!("{}/sandbox-apply", cloud_path(org, cloud));
    let (_, text) = send(authed(Request::post(&url), token).json(body)).await?;
    Ok(text)
}

/// `/admin/accounts/{org}/cloud/{cloud}`, the base of every wizard route.
pub fn cloud_path(org: &OrgId, cloud: CloudKind) -> String {
    format!("/admin/accounts/{}/cloud/{}", org.as_str(), cloud.as_str())
}

/// The URL segment of a wizard step (step 1 has no call).
pub fn step_segment(step: Step) -> &'static str {
    match step {
        Step::Choose | Step::Bootstrap => "bootstrap",
        Step::ValidateIdentity => "validate-identity",
        Step::ValidatePermissions => "validate-permissions",
        Step::EnumerateResources => "enumerate-resources",
        Step::Connect => "connect",
    }
}

/// One wizard step of one cloud: the cloud module built `body` and reads
/// the answer's text into its own types.
pub async fn cloud_step(
    token: &str,
    org: &OrgId,
    cloud: CloudKind,
    step: Step,
    body: &Value,
) -> Result<String, ApiError> {
    let url = format!("{}/{}", cloud_path(org, cloud), step_segment(step));
    let (_, text) = send(authed(Request::post(&url), token).json(body)).await?;
    Ok(text)
}

pub async fn disconnect(
    token: &str,
    org: &OrgId,
    cloud: CloudKind,
) -> Result<DisconnectResponse, ApiError> {
    send_read(authed(Request::delete(&cloud_path(org, cloud)), token).build()).await
}

/// `…/integrations/{kind}`: an account kind's connect, any kind's health.
fn integration_path(org: &OrgId, kind: &str) -> String {
    format!("/admin/accounts/{}/integrations/{kind}", org.as_str())
}

/// Connects a HuggingFace or Docker Hub account; `body` carries the token,
/// which the answer never does.
pub async fn connect_account(
    token: &str,
    org: &OrgId,
    kind: AccountKind,
    body: &Value,
) -> Result<ConnectResponse, ApiError> {
    let url = integration_path(org, kind.integration_kind());
    send_read(authed(Request::post(&url), token).json(body)).await
}

/// Re-checks one stored connection of any kind (`cloud_aws`, `docker_hub`…).
pub async fn check_health(
    token: &str,
    org: &OrgId,
    kind: &str,
) -> Result<ConnectResponse, ApiError> {
    let url = format!("{}/health", integration_path(org, kind));
    let empty = Value::Object(serde_json::Map::new());
    send_read(authed(Request::post(&url), token).json(&empty)).await
}

pub async fn organisations(token: &str) -> Result<OrganisationsResponse, ApiError> {
    send_read(authed(Request::get("/admin/accounts"), token).build()).await
}

pub async fn integrations(token: &str, org: &OrgId) -> Result<IntegrationsResponse, ApiError> {
    let url = format!("/admin/accounts/{}/integrations", org.as_str());
    send_read(authed(Request::get(&url), token).build()).await
}

/// Settings → Workload identity's two tools, run by the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadTool {
    Render,
    Diagnose,
}

/// `POST /admin/tools/workload-identity/{render|diagnose}`: the answer's
/// JSON text (a bundle, or a diagnosis).
pub async fn workload_identity(
    token: &str,
    tool: WorkloadTool,
    body: &Value,
) -> Result<String, ApiError> {
    let url = match tool {
        WorkloadTool::Render => "/admin/tools/workload-identity/render",
        WorkloadTool::Diagnose => "/admin/tools/workload-identity/diagnose",
    };
    let (_, text) = send(authed(Request::post(url), token).json(body)).await?;
    Ok(text)
}

// ------------------------------------------------------------------ plumbing

fn authed(req: RequestBuilder, token: &str) -> RequestBuilder {
    req.header("Authorization", &format!("Bearer {token}"))
}

/// Sends `request`; the answer's status and text when it is a success.
/// Not generic, so the fetch is compiled once (the wasm stays small).
async fn send(request: Result<Request, gloo_net::Error>) -> Result<(u16, String), ApiError> {
    let request = request.map_err(|_| ApiError::Network {
        message: "The request could not be prepared.".to_owned(),
    })?;
    let response = request.send().await.map_err(|_| ApiError::Network {
        message: "The proxy could not be reached.".to_owned(),
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|_| ApiError::Network {
        message: "The connection to the proxy broke while reading its answer.".to_owned(),
    })?;
    if response.ok() {
        Ok((status, text))
    } else {
        Err(parse_error(status, &text))
    }
}

/// Reads a success's text as `R`.
pub fn read<R: FromJson>(status: u16, text: &str) -> Result<R, ApiError> {
    json::parse(text).map_err(|e| unexpected(status, &e))
}

async fn send_read<R: FromJson>(request: Result<Request, gloo_net::Error>) -> Result<R, ApiError> {
    let (status, text) = send(request).await?;
    read(status, &text)
}

/// Turns an error response into [`ApiError::Proxy`], whatever its body
/// (`field`, `hint` and `audit_run_id` may be null or absent).
pub fn parse_error(status: u16, text: &str) -> ApiError {
    let wire = serde_json::from_str::<Value>(text).ok();
    let read = wire.as_ref().and_then(|v| {
        Some((
            v,
            json::text(v, "code").ok()?,
            json::text(v, "message").ok()?,
        ))
    });
    match read {
        Some((v, code, message)) => ApiError::Proxy {
            status,
            body: ErrorBody {
                code,
                message,
                field: maybe_text(v, "field"),
                hint: text_or_empty(v, "hint"),
            },
            audit_run_id: maybe_text(v, "audit_run_id"),
        },
        None => unexpected(status, "the body is not the error shape"),
    }
}

/// An answer whose shape the wizard does not know (also a 200 whose body a
/// cloud module could not read).
pub fn unexpected(status: u16, detail: &str) -> ApiError {
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

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_step_has_its_route_and_unknown_clouds_are_skipped() {
        let org = OrgId::parse("acme").unwrap();
        assert_eq!(
            cloud_path(&org, CloudKind::Azure),
            "/admin/accounts/acme/cloud/azure"
        );
        let segments: Vec<_> = Step::ALL[1..].iter().map(|s| step_segment(*s)).collect();
        assert_eq!(
            segments,
            [
                "bootstrap",
                "validate-identity",
                "validate-permissions",
                "enumerate-resources",
                "connect"
            ]
        );
        let offered = CloudsResponse {
            clouds: vec!["aws".into(), "oracle".into(), "azure".into()],
        };
        assert_eq!(offered.kinds(), [CloudKind::Aws, CloudKind::Azure]);
    }
}
