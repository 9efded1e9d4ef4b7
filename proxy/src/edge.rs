//! What every request passes before a handler sees it, and every response
//! after: the allowed-hosts check (DNS rebinding), the body rules of
//! proxy/API.md (1 MiB, JSON only, both refused in the JSON error shape),
//! the request deadline, and the browser security headers.
//!
//! The OIDC issuer's two public documents are fetched by Entra and GCP at
//! the issuer's own host name, so that host is admitted for them (and only
//! them); they keep their public cache headers.
//!
//! Handlers run in their own task: a request that times out (or whose
//! client goes away) gets its answer, while the step it started runs on to
//! its result audit row instead of being torn between two awaits.

use crate::config::{HttpSettings, normalise_host};
use crate::error::ApiError;
use crate::federation::FederationConfig;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::time::Instant;

/// Bodies over this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The UI is a wasm app: its own scripts (no inline ones), wasm compiled
/// from them, its own styles and calls to its own origin; never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub struct Edge {
    allowed_hosts: Vec<String>,
    /// The allowed hosts plus the issuer's host: for the issuer's documents.
    issuer_hosts: Vec<String>,
    issuer_paths: [String; 2],
    request_timeout: std::time::Duration,
}

impl Edge {
    pub fn new(settings: &HttpSettings, federation: &FederationConfig) -> Arc<Self> {
        let mut issuer_hosts = settings.allowed_hosts.clone();
        issuer_hosts.extend(federation.host());
        Arc::new(Edge {
            allowed_hosts: settings.allowed_hosts.clone(),
            issuer_hosts,
            issuer_paths: [federation.discovery_path(), federation.jwks_path()],
            request_timeout: settings.request_timeout,
        })
    }

    /// The hosts a request for `path` may name.
    fn hosts_for(&self, path: &str) -> &[String] {
        if self.issuer_paths.iter().any(|p| p == path) {
            &self.issuer_hosts
        } else {
            &self.allowed_hosts
        }
    }
}

/// API routes answer JSON and are never cached; everything else is the UI.
fn is_api(path: &str) -> bool {
    path == "/healthz"
        || ["/auth", "/admin"].iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn guard(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    let deadline = Instant::now() + edge.request_timeout;
    let mut response = match admit(&edge, request, api, deadline).await {
        Ok(request) => run(next, request, deadline).await,
        Err(refused) => refused.into_response(),
    };
    secure(response.headers_mut(), api);
    response
}

async fn admit(
    edge: &Edge,
    request: Request,
    api: bool,
    deadline: Instant,
) -> Result<Request, ApiError> {
    // Liveness probes name the pod's address, and /healthz tells a
    // rebinding page nothing, so it answers any Host.
    if request.uri().path() != "/healthz" {
        check_host(edge.hosts_for(request.uri().path()), &request)?;
    }
    if !api {
        return Ok(request);
    }
    let too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY_BYTES as u64);
    if too_large {
        return Err(body_too_large());
    }
    let (parts, body) = request.into_parts();
    let collected = tokio::time::timeout_at(deadline, Limited::new(body, MAX_BODY_BYTES).collect())
        .await
        .map_err(|_| request_timeout())?;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(body_too_large()),
        Err(_) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "The body could not be read.",
                "Send the whole JSON body in one request.",
            ));
        }
    };
    if !bytes.is_empty() && !is_json(&parts.headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The body must be JSON.",
            "Send Content-Type: application/json.",
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn check_host(allowed: &[String], request: &Request) -> Result<(), ApiError> {
    let named = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let Some(named) = named else {
        return Err(ApiError::bad_request(
            "missing_host",
            "The request does not say which host it is for.",
            "Send a Host header naming the proxy.",
        ));
    };
    match normalise_host(named) {
        Some(host) if allowed.contains(&host) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "host_not_allowed",
            "This proxy does not answer to the address used to reach it.",
            "Open the proxy at one of its allowed addresses (ALPHASWARM_ADMIN_ALLOWED_HOSTS, default: its bind address and localhost).",
        )),
    }
}

/// `application/json` or `application/<something>+json`, any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

async fn run(next: Next, request: Request, deadline: Instant) -> Response {
    let mut handler = tokio::spawn(next.run(request));
    match tokio::time::timeout_at(deadline, &mut handler).await {
        Ok(Ok(response)) => response,
        Ok(Err(join)) => {
            tracing::error!(error = %join, "a request handler failed");
            ApiError::internal("internal_error", "The proxy failed while answering.").into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "response_timeout",
            "The proxy did not finish in time; the step goes on in the background.",
            "Its outcome is in the audit trail and the integrations list: check them before retrying.",
        )
        .into_response(),
    }
}

fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "The request body is larger than 1 MiB.",
        "Send a JSON object of at most 1 MiB.",
    )
}

fn request_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "The request body did not arrive in time.",
        "Send the whole body at once (ALPHASWARM_ADMIN_HTTP_REQUEST_TIMEOUT_SECONDS).",
    )
}

fn secure(headers: &mut HeaderMap, api: bool) {
    let set = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if api {
        // Login and step-up answers carry tokens: nothing on the way keeps them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The client's address (from the accept loop); unspecified when the
/// router is served without connection info.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_and_json_types_are_recognised() {
        for path in [
            "/healthz",
            "/auth/login",
            "/admin/accounts/a/integrations",
            "/admin",
        ] {
            assert!(is_api(path), "{path}");
        }
        for path in ["/", "/index.html", "/administrator", "/authx", "/style.css"] {
            assert!(!is_api(path), "{path}");
        }
        let with = |ct: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_json(&headers)
        };
        assert!(with("application/json") && with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain") && !with("application/jsonp") && !with("text/json"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
