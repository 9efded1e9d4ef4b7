//! Google Secret Manager and the Google token services its clients use.
//!
//! One router, as several Google hosts (tests point each at this fake):
//! - `GET /v1/projects/{p}/secrets/{s}/versions/{v}:access` (Secret Manager):
//!   bearer token from the [`TokenLedger`], `roles/secretmanager.secretAccessor`
//!   per principal, payload base64 with `dataCrc32c`, `404 NOT_FOUND`,
//!   `403 PERMISSION_DENIED` (also for a secret that does not exist, as
//!   Google answers a caller without access), `401 UNAUTHENTICATED`,
//!   `400 FAILED_PRECONDITION` for a disabled or destroyed version;
//! - `POST /token` (oauth2.googleapis.com): the JWT-bearer grant of a service
//!   account key (RS256 signature, `iss`, `aud` = this endpoint, ≤ 1 h) and the
//!   refresh-token grant of an authorized user;
//! - `POST /v1/token` (sts.googleapis.com): token exchange for a workload
//!   identity pool provider (signature, `iss`, `aud`, `exp`, `iat`, ≤ 24 h);
//! - `POST /v1/projects/-/serviceAccounts/{sa}:generateAccessToken`
//!   (iamcredentials): a federated token with `roles/iam.workloadIdentityUser`;
//! - `GET /computeMetadata/v1/instance/service-accounts/default/token` (the
//!   metadata server, GKE workload identity): `Metadata-Flavor: Google` required.
//!
//! Error texts follow federation-formats.md §3 and Google's public error model.

// Handler helpers return a finished error `Response` early; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde_json::{Value, json};

use crate::oauth2::{
    AssertionError, Grant, JwtIssuer, TokenLedger, bearer, form, lock, oauth_error, random_hex,
    unix_now, unverified_claims, verify_assertion,
};

pub const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    Enabled,
    Disabled,
    Destroyed,
}

struct Version {
    data: Vec<u8>,
    state: VersionState,
}

struct Provider {
    issuer: String,
    key: DecodingKey,
    allowed_audiences: Vec<String>,
    pool: String,
}

struct GcpState {
    base_url: String,
    project_id: String,
    project_number: String,
    secrets: BTreeMap<String, Vec<Version>>,
    /// principal → secret ids it may access (`*`: the whole project).
    accessors: BTreeMap<String, BTreeSet<String>>,
    /// service account email → its key's public half.
    service_accounts: BTreeMap<String, DecodingKey>,
    /// refresh token → (client id, client secret, principal).
    authorized_users: BTreeMap<String, (String, String, String)>,
    /// provider full name (`//iam.googleapis.com/projects/N/…/providers/P`) → provider.
    providers: BTreeMap<String, Provider>,
    /// service account email → federated principals allowed to impersonate it.
    workload_identity_users: BTreeMap<String, BTreeSet<String>>,
    /// The service account the metadata server hands out, if any.
    metadata_account: Option<String>,
}

/// The fake. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct GcpFake {
    state: Arc<Mutex<GcpState>>,
    pub ledger: TokenLedger,
}

impl GcpFake {
    pub fn new(project_id: &str, project_number: &str) -> Self {
        GcpFake {
            state: Arc::new(Mutex::new(GcpState {
                base_url: String::new(),
                project_id: project_id.to_owned(),
                project_number: project_number.to_owned(),
                secrets: BTreeMap::new(),
                accessors: BTreeMap::new(),
                service_accounts: BTreeMap::new(),
                authorized_users: BTreeMap::new(),
                providers: BTreeMap::new(),
                workload_identity_users: BTreeMap::new(),
                metadata_account: None,
            })),
            ledger: TokenLedger::default(),
        }
    }

    /// Where the fake is served (`http://127.0.0.1:port`): token URIs it
    /// writes into key files and the `aud` it expects of assertions.
    pub fn set_base_url(&self, url: &str) {
        lock(&self.state).base_url = url.trim_end_matches('/').to_owned();
    }

    /// Adds a version (the newest is `latest`).
    pub fn add_version(&self, secret_id: &str, data: &[u8], state: VersionState) {
        lock(&self.state)
            .secrets
            .entry(secret_id.to_owned())
            .or_default()
            .push(Version {
                data: data.to_vec(),
                state,
            });
    }

    /// Grants `roles/secretmanager.secretAccessor` on `secret_id` (`*`: project-wide).
    pub fn grant_accessor(&self, principal: &str, secret_id: &str) {
        lock(&self.state)
            .accessors
            .entry(principal.to_owned())
            .or_default()
            .insert(secret_id.to_owned());
    }

    /// Creates a key for service account `email` and returns the key file,
    /// as `gcloud iam service-accounts keys create` writes it.
    pub fn create_service_account_key(&self, email: &str) -> String {
        let issuer = JwtIssuer::new(email);
        let mut state = lock(&self.state);
        state
            .service_accounts
            .insert(email.to_owned(), issuer.decoding_key());
        json!({
            "type": "service_account",
            "project_id": state.project_id,
            "private_key_id": issuer.key_id,
            "private_key": issuer.private_pem,
            "client_email": email,
            "client_id": random_hex(10),
            "auth_uri": format!("{}/o/oauth2/auth", state.base_url),
            "token_uri": format!("{}/token", state.base_url),
        })
        .to_string()
    }

    /// Registers an authorized user (gcloud's application-default login).
    pub fn add_authorized_user(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        email: &str,
    ) {
        lock(&self.state).authorized_users.insert(
            refresh_token.to_owned(),
            (
                client_id.to_owned(),
                client_secret.to_owned(),
                format!("user:{email}"),
            ),
        );
    }

    /// Creates an OIDC provider in `pool` trusting `issuer`; returns its full
    /// name (the STS `audience`). With no `allowed_audiences`, the JWT's `aud`
    /// must be the provider name with or without `https:`.
    pub fn add_oidc_provider(
        &self,
        pool: &str,
        provider: &str,
        issuer: &JwtIssuer,
        allowed_audiences: &[&str],
    ) -> String {
        let mut state = lock(&self.state);
        let name = format!(
            "//iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{pool}/providers/{provider}",
            state.project_number
        );
        let allowed = if allowed_audiences.is_empty() {
            vec![name.clone(), format!("https:{name}")]
        } else {
            allowed_audiences.iter().map(|a| (*a).to_owned()).collect()
        };
        state.providers.insert(
            name.clone(),
            Provider {
                issuer: issuer.issuer.clone(),
                key: issuer.decoding_key(),
                allowed_audiences: allowed,
                pool: pool.to_owned(),
            },
        );
        name
    }

    /// The principal a federated `subject` of `pool` becomes.
    pub fn federated_principal(&self, pool: &str, subject: &str) -> String {
        format!(
            "principal://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{pool}/subject/{subject}",
            lock(&self.state).project_number
        )
    }

    /// Grants `roles/iam.workloadIdentityUser` on `service_account` to `member`.
    pub fn grant_workload_identity_user(&self, service_account: &str, member: &str) {
        lock(&self.state)
            .workload_identity_users
            .entry(service_account.to_owned())
            .or_default()
            .insert(member.to_owned());
    }

    /// The service account the metadata server answers for (GKE workload identity).
    pub fn set_metadata_account(&self, email: &str) {
        lock(&self.state).metadata_account = Some(email.to_owned());
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/v1/projects/{project}/secrets/{secret}/versions/{version}",
                get(access),
            )
            .route("/token", post(oauth_token))
            .route("/v1/token", post(sts_token))
            .route(
                "/v1/projects/-/serviceAccounts/{call}",
                post(generate_access_token),
            )
            .route(
                "/computeMetadata/v1/instance/service-accounts/default/token",
                get(metadata_token),
            )
            .with_state(self.clone())
    }

    fn issue(&self, prefix: &str, principal: String) -> String {
        self.ledger.issue(
            prefix,
            Grant {
                principal,
                audience: CLOUD_PLATFORM.to_owned(),
                tenant: None,
                expires_at: SystemTime::now() + TOKEN_LIFETIME,
            },
        )
    }
}

/// `{"error": {"code", "message", "status"}}`, Google's error model.
fn google_error(status: StatusCode, google_status: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": status.as_u16(), "message": message, "status": google_status } })),
    )
        .into_response()
}

/// CRC-32C, table-driven (independent of the client's bitwise one).
fn crc32c(bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|mut c| {
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            c
        })
        .collect();
    !bytes.iter().fold(!0u32, |crc, &b| {
        table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

async fn access(
    State(fake): State<GcpFake>,
    Path((project, secret, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(version) = version.strip_suffix(":access") else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Method not found.");
    };
    let Some(grant) = bearer(&headers).and_then(|t| fake.ledger.check(t)) else {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
    };
    let state = lock(&fake.state);
    let resource = format!("projects/{project}/secrets/{secret}/versions/{version}");
    let allowed = (project == state.project_id || project == state.project_number)
        && state
            .accessors
            .get(&grant.principal)
            .is_some_and(|ids| ids.contains("*") || ids.contains(&secret));
    if !allowed || grant.audience != CLOUD_PLATFORM {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            &format!(
                "Permission 'secretmanager.versions.access' denied for resource '{resource}' (or it may not exist)."
            ),
        );
    }
    let versions = state
        .secrets
        .get(&secret)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let number = if version == "latest" {
        versions.len()
    } else {
        version.parse().unwrap_or(0)
    };
    let canonical = format!("projects/{}/secrets/{secret}", state.project_number);
    let Some(found) = number.checked_sub(1).and_then(|i| versions.get(i)) else {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &if versions.is_empty() {
                format!("Secret [{canonical}] not found or has no versions.")
            } else {
                format!("Secret Version [{canonical}/versions/{version}] not found.")
            },
        );
    };
    let state_name = match found.state {
        VersionState::Enabled => None,
        VersionState::Disabled => Some("DISABLED"),
        VersionState::Destroyed => Some("DESTROYED"),
    };
    if let Some(state_name) = state_name {
        return google_error(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            &format!("Secret Version [{canonical}/versions/{number}] is in {state_name} state."),
        );
    }
    Json(json!({
        "name": format!("{canonical}/versions/{number}"),
        "payload": {
            "data": base64::engine::general_purpose::STANDARD.encode(&found.data),
            "dataCrc32c": crc32c(&found.data).to_string(),
        }
    }))
    .into_response()
}

async fn oauth_token(State(fake): State<GcpFake>, body: axum::body::Bytes) -> Response {
    let fields = form(&body);
    let grant_type = fields
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    let principal = match grant_type {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            match service_account_assertion(
                &fake,
                fields
                    .get("assertion")
                    .map(String::as_str)
                    .unwrap_or_default(),
            ) {
                Ok(email) => format!("serviceAccount:{email}"),
                Err(response) => return response,
            }
        }
        "refresh_token" => {
            let state = lock(&fake.state);
            let found = fields
                .get("refresh_token")
                .and_then(|t| state.authorized_users.get(t))
                .filter(|(id, secret, _)| {
                    fields.get("client_id") == Some(id)
                        && fields.get("client_secret") == Some(secret)
                });
            match found {
                Some((_, _, principal)) => principal.clone(),
                None => {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
                }
            }
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            );
        }
    };
    let token = fake.issue("ya29.", principal);
    Json(json!({ "access_token": token, "expires_in": TOKEN_LIFETIME.as_secs(), "token_type": "Bearer" })).into_response()
}

/// Checks a service account's JWT-bearer assertion; returns the account.
fn service_account_assertion(fake: &GcpFake, assertion: &str) -> Result<String, Response> {
    let invalid =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let claims = unverified_claims(assertion).ok_or_else(|| invalid("Invalid JWT: malformed"))?;
    let email = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let state = lock(&fake.state);
    let key = state
        .service_accounts
        .get(&email)
        .ok_or_else(|| invalid("Invalid grant: account not found"))?;
    let audience = format!("{}/token", state.base_url);
    let claims = verify_assertion(assertion, key, &email, &[audience], &["exp", "iss", "aud"]).map_err(|e| match e {
        AssertionError::BadSignature => invalid("Invalid JWT Signature."),
        AssertionError::Expired | AssertionError::NotYetValid => invalid(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ),
        _ => invalid("Invalid JWT: Failed audience check."),
    })?;
    let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp.saturating_sub(iat) > 3600 || iat > unix_now() + 60 {
        return Err(invalid(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ));
    }
    let scopes = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scopes.split(' ').any(|s| s == CLOUD_PLATFORM) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(email)
}

async fn sts_token(
    State(fake): State<GcpFake>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request must not carry an Authorization header.",
        );
    }
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid value for \"grant_type\".",
        );
    }
    if !matches!(
        field("subject_token_type"),
        "urn:ietf:params:oauth:token-type:jwt" | "urn:ietf:params:oauth:token-type:id_token"
    ) || field("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token"
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid value for \"subject_token_type\" or \"requested_token_type\".",
        );
    }
    let audience = field("audience");
    if !audience.contains("/providers/") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.",
        );
    }
    let (pool, claims) = {
        let state = lock(&fake.state);
        let Some(provider) = state.providers.get(audience) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.",
            );
        };
        let claims = match verify_assertion(
            field("subject_token"),
            &provider.key,
            &provider.issuer,
            &provider.allowed_audiences,
            &["exp", "iss", "aud", "sub"],
        ) {
            Ok(claims) => claims,
            Err(AssertionError::WrongAudience) => {
                let aud = unverified_claims(field("subject_token"))
                    .and_then(|c| c.get("aud").cloned())
                    .unwrap_or_default();
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    &format!(
                        "The audience in ID Token [{aud}] does not match the expected audience."
                    ),
                );
            }
            Err(AssertionError::WrongIssuer) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The issuer in ID Token does not match the expected issuer.",
                );
            }
            Err(AssertionError::Expired) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "ID Token has expired.",
                );
            }
            Err(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid ID Token.",
                );
            }
        };
        (provider.pool.clone(), claims)
    };
    let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if iat > unix_now() || exp.saturating_sub(iat) > 24 * 3600 {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            &format!("ID Token issued at {iat} is stale to sign-in."),
        );
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let token = fake.issue("ya29.sts-", fake.federated_principal(&pool, subject));
    Json(json!({
        "access_token": token,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
    }))
    .into_response()
}

async fn generate_access_token(
    State(fake): State<GcpFake>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(email) = call.strip_suffix(":generateAccessToken") else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Method not found.");
    };
    let Some(grant) = bearer(&headers).and_then(|t| fake.ledger.check(t)) else {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let lifetime = request
        .get("lifetime")
        .and_then(Value::as_str)
        .and_then(|l| l.strip_suffix('s'))
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(3600);
    let scoped = request
        .get("scope")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(CLOUD_PLATFORM)));
    if !scoped || lifetime > 3600 || lifetime == 0 {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
        );
    }
    let allowed = {
        let state = lock(&fake.state);
        state.service_accounts.contains_key(email)
            && state
                .workload_identity_users
                .get(email)
                .is_some_and(|members| members.contains(&grant.principal))
    };
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": {"code": 403,
                "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
                "status": "PERMISSION_DENIED",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
                    "domain": "iam.googleapis.com", "metadata": {"permission": "iam.serviceAccounts.getAccessToken"}}]}})),
        )
            .into_response();
    }
    let token = fake.ledger.issue(
        "ya29.sa-",
        Grant {
            principal: format!("serviceAccount:{email}"),
            audience: CLOUD_PLATFORM.to_owned(),
            tenant: None,
            expires_at: SystemTime::now() + Duration::from_secs(lifetime),
        },
    );
    let expire_time = time::OffsetDateTime::from(SystemTime::now() + Duration::from_secs(lifetime))
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    Json(json!({ "accessToken": token, "expireTime": expire_time })).into_response()
}

async fn metadata_token(State(fake): State<GcpFake>, headers: HeaderMap) -> Response {
    let flavor = [(
        axum::http::HeaderName::from_static("metadata-flavor"),
        "Google",
    )];
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return (
            StatusCode::FORBIDDEN,
            flavor,
            "Missing required header: Metadata-Flavor\n",
        )
            .into_response();
    }
    let Some(email) = lock(&fake.state).metadata_account.clone() else {
        return (StatusCode::NOT_FOUND, flavor, "not found\n").into_response();
    };
    let token = fake.issue("ya29.gce-", format!("serviceAccount:{email}"));
    (
        flavor,
        Json(json!({ "access_token": token, "expires_in": TOKEN_LIFETIME.as_secs(), "token_type": "Bearer" })),
    )
        .into_response()
}
