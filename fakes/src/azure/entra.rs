//! The fake Entra token endpoint: `POST /{tenant}/oauth2/v2.0/token`,
//! client credentials with a federated `client_assertion`, checked as
//! federation-formats.md §7 lists and answered with Entra's own error
//! bodies (§2.1):
//!
//! form fields → tenant → client id (identity, or consented app) → the
//! assertion's `iss` against the client's federated credentials → the
//! issuer's discovery document and JWKS, fetched over HTTP → RS256 by `kid`
//! → `aud` → `sub` (exact; a case-only difference is its own code) →
//! `nbf`/`exp` against the fake's (skewable) clock.

use super::Shared;
use super::state::{CachedMetadata, FederatedCredential, SeenAssertion};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::time::SystemTime;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Entra tolerates this much clock difference on `nbf`/`exp`.
const CLOCK_SKEW_LEEWAY: i64 = 300;
/// Lifetime of the ARM tokens the fake issues.
const ACCESS_TOKEN_SECONDS: i64 = 3599;

/// Entra's error JSON: AADSTS code in `error_codes`, in the description,
/// and in `error_uri`.
pub fn entra_error(status: StatusCode, error: &str, code: u32, message: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let timestamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, axum::Json(body)).into_response()
}

/// The client the token request names, as the tenant knows it.
enum Client {
    Identity(String),
    App {
        app_object_id: String,
        sp_object_id: String,
    },
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<serde_json::Value>,
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
    jti: Option<String>,
}

fn unverified<T: for<'de> Deserialize<'de>>(part: Option<&str>) -> Option<T> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part?.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn time_text(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub async fn token(
    State(fake): State<Shared>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    for field in ["client_id", "scope", "grant_type"] {
        if form.get(field).is_none_or(|v| v.is_empty()) {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{field}'."),
            );
        }
    }
    if form["grant_type"] != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let assertion = match (
        form.get("client_assertion_type"),
        form.get("client_assertion"),
    ) {
        (Some(t), Some(a)) if t == ASSERTION_TYPE && !a.is_empty() => a.clone(),
        _ => {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    };
    if !form["scope"].ends_with("/.default") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
                form["scope"]
            ),
        );
    }
    let tenant = tenant.to_ascii_lowercase();
    let client_id = form["client_id"].to_ascii_lowercase();
    let outcome = exchange(&fake, &tenant, &client_id, &assertion).await;
    match outcome {
        Ok(response) => response,
        Err(Refusal {
            status,
            error,
            code,
            message,
        }) => entra_error(status, error, code, &message),
    }
}

struct Refusal {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

fn refuse(status: StatusCode, error: &'static str, code: u32, message: String) -> Refusal {
    Refusal {
        status,
        error,
        code,
        message,
    }
}

fn invalid_client(code: u32, message: String) -> Refusal {
    refuse(StatusCode::UNAUTHORIZED, "invalid_client", code, message)
}

async fn exchange(
    fake: &Shared,
    tenant: &str,
    client_id: &str,
    assertion: &str,
) -> Result<Response, Refusal> {
    let mut parts = assertion.split('.');
    let header: Option<Header> = unverified(parts.next());
    let claims: Option<Claims> = unverified(parts.next());
    let (Some(header), Some(claims)) = (header, claims) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.".to_owned(),
        ));
    };
    let aud = match &claims.aud {
        Some(serde_json::Value::String(a)) => a.clone(),
        Some(serde_json::Value::Array(list)) if list.len() == 1 => {
            list[0].as_str().unwrap_or_default().to_owned()
        }
        _ => String::new(),
    };
    let mut seen = SeenAssertion {
        tenant: tenant.to_owned(),
        client_id: client_id.to_owned(),
        kid: header.kid.clone(),
        alg: header.alg.clone(),
        iss: claims.iss.clone().unwrap_or_default(),
        sub: claims.sub.clone().unwrap_or_default(),
        aud: aud.clone(),
        iat: claims.iat,
        nbf: claims.nbf,
        exp: claims.exp,
        jti: claims.jti.clone(),
        signature: assertion.rsplit('.').next().unwrap_or_default().to_owned(),
        refused_with: None,
    };
    let result = judge(fake, tenant, client_id, assertion, &header, &claims, &aud).await;
    seen.refused_with = result.as_ref().err().map(|r| r.code);
    fake.lock().seen.push(seen);
    result
}

async fn judge(
    fake: &Shared,
    tenant: &str,
    client_id: &str,
    assertion: &str,
    header: &Header,
    claims: &Claims,
    aud: &str,
) -> Result<Response, Refusal> {
    // The client, and the credentials it carries (a snapshot: no lock is
    // held while the issuer's metadata is fetched).
    let (client, credentials) = {
        let state = fake.lock();
        if !state.tenants.contains_key(tenant) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            ));
        }
        if let Some(identity) = state
            .identities
            .iter()
            .find(|i| i.tenant == tenant && i.client_id == client_id)
        {
            (
                Client::Identity(identity.principal_id.clone()),
                identity.credentials.clone(),
            )
        } else if let Some(app) = state.apps.iter().find(|a| a.app_id == client_id) {
            let sp = state
                .service_principals
                .iter()
                .find(|sp| sp.tenant == tenant && sp.app_id == client_id);
            match sp {
                Some(sp) => (
                    Client::App {
                        app_object_id: app.object_id.clone(),
                        sp_object_id: sp.object_id.clone(),
                    },
                    app.credentials.clone(),
                ),
                None if app.home_tenant == tenant => {
                    return Err(invalid_client(
                        7000229,
                        format!(
                            "The client application {client_id} is missing service principal in the tenant {tenant}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
                        ),
                    ));
                }
                None => return Err(not_in_directory(client_id, tenant)),
            }
        } else {
            return Err(not_in_directory(client_id, tenant));
        }
    };
    let iss = claims.iss.clone().unwrap_or_default();
    let by_issuer: Vec<&FederatedCredential> =
        credentials.iter().filter(|c| c.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(invalid_client(
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        ));
    }
    let Some(jwks) = metadata(fake, &iss).await else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50166,
            "Request to External OIDC endpoint failed.".to_owned(),
        ));
    };
    let kid = header.kid.clone().unwrap_or_default();
    let Some(jwk) = jwks.find(&kid) else {
        return Err(invalid_client(
            7000272,
            format!(
                "The certificate with identifier {kid} used to sign the federated credential could not be found in the metadata of identity provider {iss}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
            ),
        ));
    };
    let signature_ok = header.alg == "RS256"
        && DecodingKey::from_jwk(jwk).is_ok_and(|key| {
            let mut validation = Validation::new(Algorithm::RS256);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &validation).is_ok()
        });
    if !signature_ok {
        return Err(invalid_client(
            700027,
            "Client assertion failed signature validation.".to_owned(),
        ));
    }
    let by_audience: Vec<&&FederatedCredential> = by_issuer
        .iter()
        .filter(|c| c.audiences.iter().any(|a| a == aud))
        .collect();
    if by_audience.is_empty() {
        return Err(invalid_client(
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{aud}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        ));
    }
    let sub = claims.sub.clone().unwrap_or_default();
    let matched = by_audience.iter().find(|c| c.subject == sub);
    let Some(matched) = matched else {
        if by_audience
            .iter()
            .any(|c| c.subject.eq_ignore_ascii_case(&sub))
        {
            return Err(invalid_client(
                7002138,
                format!(
                    "No matching federated identity record found for presented assertion subject '{sub}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: https://learn.microsoft.com/entra/workload-id/workload-identity-federation See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024."
                ),
            ));
        }
        return Err(no_subject(&sub));
    };
    // A credential created moments ago is not visible everywhere yet.
    if fake.consume_propagation(&client, &matched.name) {
        return Err(no_subject(&sub));
    }
    let now = fake.lock().now();
    let (Some(exp), nbf) = (claims.exp, claims.nbf.or(claims.iat)) else {
        return Err(invalid_client(
            700024,
            "Client assertion is not within its valid time range. The assertion has no expiry time.".to_owned(),
        ));
    };
    let too_early = nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_LEEWAY);
    if too_early || exp + CLOCK_SKEW_LEEWAY <= now {
        return Err(invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                time_text(now),
                nbf.map(time_text).unwrap_or_default(),
                time_text(exp)
            ),
        ));
    }
    let object_id = match &client {
        Client::Identity(principal) => principal.clone(),
        Client::App { sp_object_id, .. } => sp_object_id.clone(),
    };
    let access_token =
        fake.issue_arm_token(tenant, client_id, &object_id, now + ACCESS_TOKEN_SECONDS);
    Ok(axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "ext_expires_in": ACCESS_TOKEN_SECONDS,
        "access_token": access_token,
    }))
    .into_response())
}

fn not_in_directory(client_id: &str, tenant: &str) -> Refusal {
    refuse(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

fn no_subject(sub: &str) -> Refusal {
    invalid_client(
        700213,
        format!(
            "No matching federated identity record found for presented assertion subject '{sub}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
        ),
    )
}

/// The issuer's JWKS: from the cache while fresh, else fetched as Entra
/// does — the discovery document at the issuer, its `issuer` compared
/// byte for byte, then its `jwks_uri`.
async fn metadata(fake: &Shared, issuer: &str) -> Option<jsonwebtoken::jwk::JwkSet> {
    {
        let state = fake.lock();
        if let Some(cached) = state.metadata.get(issuer)
            && cached
                .fetched
                .elapsed()
                .is_ok_and(|age| age < state.metadata_cache)
        {
            return Some(cached.jwks.clone());
        }
    }
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let discovery: Discovery = fake.get_json(&discovery_url).await?;
    if discovery.issuer != issuer {
        tracing::info!(
            expected = issuer,
            found = discovery.issuer,
            "discovery issuer differs"
        );
        return None;
    }
    let jwks: jsonwebtoken::jwk::JwkSet = fake.get_json(&discovery.jwks_uri).await?;
    fake.lock().metadata.insert(
        issuer.to_owned(),
        CachedMetadata {
            fetched: SystemTime::now(),
            jwks: jwks.clone(),
        },
    );
    Some(jwks)
}

impl Shared {
    /// Whether the matched credential is still invisible (and counts one request).
    fn consume_propagation(&self, client: &Client, credential: &str) -> bool {
        let mut state = self.lock();
        let credentials = match client {
            Client::Identity(principal) => state
                .identities
                .iter_mut()
                .find(|i| &i.principal_id == principal)
                .map(|i| &mut i.credentials),
            Client::App { app_object_id, .. } => state
                .apps
                .iter_mut()
                .find(|a| &a.object_id == app_object_id)
                .map(|a| &mut a.credentials),
        };
        let Some(credential) =
            credentials.and_then(|c| c.iter_mut().find(|c| c.name == credential))
        else {
            return false;
        };
        if credential.unseen_for > 0 {
            credential.unseen_for -= 1;
            true
        } else {
            false
        }
    }
}
