//! Docker Hub (federation-formats §6; `docker/docs:content/reference/api/hub/latest.yaml`).
//!
//! Routes:
//! - `POST /v2/auth/token` `{identifier, secret}` → `{access_token}`: a JWT
//!   (10 minutes) whose claims are the observed ones (`scope`, and under
//!   `https://hub.docker.com` the `username`, `email`, `source`, …). A PAT
//!   logs in whatever the identifier (observed by trufflehog; the claims
//!   name the real owner), an organization access token only with its
//!   organisation as identifier, a password only with its user.
//! - `POST /v2/users/login` `{username, password}` (deprecated) → `{token}`;
//!   a password on an account with 2FA gets 401 with `login_2fa_token`, to
//!   finish with `POST /v2/users/2fa-login` `{login_2fa_token, code}`.
//! - `GET /v2/namespaces/{namespace}/repositories` (bearer optional): 404 for
//!   an unknown namespace, else the repositories the caller may see (private
//!   ones only for the owner or an org member whose token can read).
//! - `GET /v2/users/{username}/` (undocumented; the seed's namespace check).
//!
//! A bearer must be a JWT this fake issued: a PAT sent as bearer is 401
//! `{"message":"unauthorized","errinfo":{}}`, as observed. Every answer
//! carries `X-RateLimit-Limit/-Remaining/-Reset` when a quota is set; a 429
//! carries `X-Retry-After` (a Unix timestamp) and the documented body
//! `{"detail":"Rate limit exceeded","error":false}`.

use crate::server::{Running, serve};
use crate::shared::{Shared, Tokens};
use crate::traffic::{QuotaState, Style, Traffic};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lifetime of an access token ("This expires in 10 minutes").
pub const ACCESS_TOKEN_SECONDS: u64 = 600;
const CLAIMS_NAMESPACE: &str = "https://hub.docker.com";
/// The scope of the fake's pending-2FA token: good only for `/v2/users/2fa-login`.
const PENDING_2FA_SCOPE: &str = "login_2fa";

/// A personal access token's scope; a higher scope implies the lower ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PatScope {
    PublicRead,
    Read,
    Write,
    Admin,
}

impl PatScope {
    pub fn as_str(self) -> &'static str {
        match self {
            PatScope::PublicRead => "repo:public_read",
            PatScope::Read => "repo:read",
            PatScope::Write => "repo:write",
            PatScope::Admin => "repo:admin",
        }
    }
}

#[derive(Debug, Clone)]
struct User {
    username: String,
    uuid: String,
    email: String,
    password: Option<String>,
    /// The second-factor code accepted by `/v2/users/2fa-login`.
    two_factor_code: Option<String>,
}

#[derive(Debug, Clone)]
struct Repository {
    name: String,
    private: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secret {
    Personal(PatScope),
    Organization,
}

#[derive(Debug, Clone)]
struct IssuedToken {
    /// The user (PAT) or organisation (OAT) the token belongs to.
    owner: String,
    uuid: String,
    secret: Secret,
}

#[derive(Default)]
struct HubState {
    users: BTreeMap<String, User>,
    /// org → members
    orgs: BTreeMap<String, BTreeSet<String>>,
    repositories: BTreeMap<String, Vec<Repository>>,
    tokens: Tokens<IssuedToken>,
}

/// The handle tests and the sandbox use to shape the fake's world.
#[derive(Clone)]
pub struct DockerHub {
    shared: Shared<HubState>,
    signing_key: Arc<Vec<u8>>,
}

impl Default for DockerHub {
    fn default() -> Self {
        Self::with_traffic(Traffic::default())
    }
}

/// Claims of an access token, as observed (mongodb/kingfisher#202).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub scope: String,
    #[serde(rename = "https://hub.docker.com")]
    pub hub: HubClaims,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubClaims {
    pub email: String,
    pub roles: Vec<String>,
    pub session_id: String,
    pub source: String,
    pub username: String,
    pub uuid: String,
}

fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn uuid() -> String {
    let hex = format!("{:032x}", rand::rng().random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl DockerHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fake whose counters and faults are `traffic`'s, which other fakes
    /// may share (one peak over several products).
    pub fn with_traffic(traffic: Traffic) -> Self {
        let mut key = vec![0u8; 32];
        rand::rng().fill(&mut key[..]);
        DockerHub {
            shared: Shared::with_traffic(traffic),
            signing_key: Arc::new(key),
        }
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        self.shared.state()
    }

    pub fn traffic(&self) -> &Traffic {
        self.shared.traffic()
    }

    /// Adds a user (with a password when given).
    pub fn add_user(&self, username: &str, email: &str, password: Option<&str>) {
        self.state().users.insert(
            username.to_owned(),
            User {
                username: username.to_owned(),
                uuid: uuid(),
                email: email.to_owned(),
                password: password.map(str::to_owned),
                two_factor_code: None,
            },
        );
    }

    /// Turns 2FA on for `username`: password logins then need `code`.
    pub fn enable_two_factor(&self, username: &str, code: &str) {
        if let Some(user) = self.state().users.get_mut(username) {
            user.two_factor_code = Some(code.to_owned());
        }
    }

    pub fn add_org(&self, org: &str, members: &[&str]) {
        self.state().orgs.insert(
            org.to_owned(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
    }

    pub fn add_repository(&self, namespace: &str, name: &str, private: bool) {
        self.state()
            .repositories
            .entry(namespace.to_owned())
            .or_default()
            .push(Repository {
                name: name.to_owned(),
                private,
            });
    }

    /// Issues a personal access token (`dckr_pat_` + 27 characters).
    pub fn issue_pat(&self, username: &str, scope: PatScope) -> String {
        self.issue(username, Secret::Personal(scope), "dckr_pat_")
    }

    /// Issues an organization access token for `org`.
    pub fn issue_oat(&self, org: &str) -> String {
        self.issue(org, Secret::Organization, "dckr_oat_")
    }

    fn issue(&self, owner: &str, secret: Secret, prefix: &str) -> String {
        let token = format!("{prefix}{}", random_alnum(27));
        self.state().tokens.insert(
            token.clone(),
            IssuedToken {
                owner: owner.to_owned(),
                uuid: uuid(),
                secret,
            },
        );
        token
    }

    /// Deletes the token in Docker Hub's settings (there is no API for it).
    pub fn revoke(&self, token: &str) {
        self.state().tokens.set_revoked(token, true);
    }

    /// Undoes [`Self::revoke`].
    pub fn reinstate(&self, token: &str) {
        self.state().tokens.set_revoked(token, false);
    }

    /// Deletes a namespace (user or org) and its repositories.
    pub fn remove_namespace(&self, namespace: &str) {
        let mut state = self.state();
        state.users.remove(namespace);
        state.orgs.remove(namespace);
        state.repositories.remove(namespace);
    }

    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/v2/auth/token", post(create_access_token))
            .route("/v2/users/login", post(users_login))
            .route("/v2/users/2fa-login", post(two_factor_login))
            .route(
                "/v2/namespaces/{namespace}/repositories",
                get(list_repositories),
            )
            .route("/v2/users/{username}/", get(get_user))
            .with_state(self.clone());
        self.traffic().layer(
            api,
            Style {
                rate_limited,
                unavailable,
                quota_headers,
            },
        )
    }

    /// Serves the fake on an ephemeral loopback port.
    pub async fn start(&self) -> std::io::Result<Running> {
        serve(self.router(), 0).await
    }

    fn mint(&self, user: &User, scope: &str, source: &str) -> String {
        let now = unix_now();
        let claims = AccessClaims {
            aud: CLAIMS_NAMESPACE.to_owned(),
            iss: "https://api.docker.com/".to_owned(),
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            jti: uuid(),
            scope: scope.to_owned(),
            hub: HubClaims {
                email: user.email.clone(),
                roles: Vec::new(),
                session_id: uuid(),
                source: source.to_owned(),
                username: user.username.clone(),
                uuid: user.uuid.clone(),
            },
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.signing_key),
        )
        .unwrap_or_default()
    }

    /// The claims of a JWT this fake issued that has not expired.
    fn decode(&self, jwt: &str) -> Option<AccessClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[CLAIMS_NAMESPACE]);
        jsonwebtoken::decode::<AccessClaims>(
            jwt.trim(),
            &DecodingKey::from_secret(&self.signing_key),
            &validation,
        )
        .ok()
        .map(|data| data.claims)
    }

    /// The caller of an API route: anonymous, or an access token this fake
    /// issued (a PAT, a pending 2FA token or anything else is 401).
    fn verify(&self, headers: &HeaderMap) -> Caller {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Caller::Anonymous;
        };
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("JWT ")))
            .and_then(|jwt| self.decode(jwt))
            .filter(|claims| claims.scope != PENDING_2FA_SCOPE)
            .map_or(Caller::Refused, |claims| Caller::Token(Box::new(claims)))
    }

    /// Login with an identifier and a secret: the access token, or why not
    /// (with the pending `login_2fa_token` when a password needs the second factor).
    fn login(&self, identifier: &str, secret: &str) -> Result<String, LoginRefusal> {
        let state = self.state();
        if let Some(token) = state.tokens.live(secret) {
            return match token.secret {
                Secret::Personal(scope) => {
                    let user = state.users.get(&token.owner).ok_or(LoginRefusal::Invalid)?;
                    Ok(self.mint(user, scope.as_str(), &format!("docker_pat|{}", token.uuid)))
                }
                Secret::Organization if identifier == token.owner => {
                    let org = User {
                        username: token.owner.clone(),
                        uuid: token.uuid.clone(),
                        email: String::new(),
                        password: None,
                        two_factor_code: None,
                    };
                    Ok(self.mint(&org, "repo:read", &format!("docker_oat|{}", token.uuid)))
                }
                Secret::Organization => Err(LoginRefusal::Invalid),
            };
        }
        let user = state.users.get(identifier).ok_or(LoginRefusal::Invalid)?;
        if user.password.as_deref() != Some(secret) || secret.is_empty() {
            return Err(LoginRefusal::Invalid);
        }
        if user.two_factor_code.is_some() {
            let mut pending = user.clone();
            pending.email.clear();
            return Err(LoginRefusal::SecondFactor(self.mint(
                &pending,
                PENDING_2FA_SCOPE,
                "docker_password",
            )));
        }
        Ok(self.mint(user, "", "docker_password"))
    }

    fn visible_repositories(
        &self,
        namespace: &str,
        caller: Option<&AccessClaims>,
    ) -> Option<Vec<Value>> {
        let state = self.state();
        let known = state.users.contains_key(namespace)
            || state.orgs.contains_key(namespace)
            || state.repositories.contains_key(namespace);
        if !known {
            return None;
        }
        let may_read_private = caller.is_some_and(|claims| {
            let is_owner = claims.hub.username == namespace
                || state
                    .orgs
                    .get(namespace)
                    .is_some_and(|members| members.contains(&claims.hub.username));
            is_owner && claims.scope != PatScope::PublicRead.as_str()
        });
        Some(
            state
                .repositories
                .get(namespace)
                .into_iter()
                .flatten()
                .filter(|r| !r.private || may_read_private)
                .map(|r| {
                    json!({
                        "name": r.name, "namespace": namespace, "repository_type": "image",
                        "status": 1, "status_description": "active", "description": "",
                        "is_private": r.private, "star_count": 0, "pull_count": 0,
                        "last_updated": "2026-01-01T00:00:00.000000Z",
                        "date_registered": "2025-01-01T00:00:00.000000Z",
                        "affiliation": "", "media_types": [], "content_types": [], "categories": [],
                        "storage_size": 0,
                    })
                })
                .collect(),
        )
    }
}

enum Caller {
    Anonymous,
    Token(Box<AccessClaims>),
    Refused,
}

enum LoginRefusal {
    Invalid,
    SecondFactor(String),
}

fn error_body(status: StatusCode, message: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({"errinfo": {}, "detail": detail, "message": message})),
    )
        .into_response()
}

/// Observed for an unusable bearer (kingfisher#202).
fn unauthorized_bearer() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": "unauthorized", "errinfo": {}})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct AccessTokenRequest {
    identifier: Option<String>,
    secret: Option<String>,
}

async fn create_access_token(
    State(hub): State<DockerHub>,
    body: Option<axum::Json<AccessTokenRequest>>,
) -> Response {
    let Some(axum::Json(AccessTokenRequest {
        identifier: Some(identifier),
        secret: Some(secret),
    })) = body
    else {
        return error_body(
            StatusCode::BAD_REQUEST,
            "bad request",
            "identifier and secret are required",
        );
    };
    match hub.login(&identifier, &secret) {
        Ok(jwt) => axum::Json(json!({ "access_token": jwt })).into_response(),
        Err(_) => error_body(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Incorrect authentication credentials",
        ),
    }
}

#[derive(Deserialize)]
struct UsersLoginRequest {
    username: String,
    password: String,
}

async fn users_login(
    State(hub): State<DockerHub>,
    body: Option<axum::Json<UsersLoginRequest>>,
) -> Response {
    let Some(axum::Json(request)) = body else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"detail": "username and password are required"})),
        )
            .into_response();
    };
    match hub.login(&request.username, &request.password) {
        Ok(jwt) => axum::Json(json!({ "token": jwt })).into_response(),
        Err(LoginRefusal::SecondFactor(pending)) => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "detail": "Require secondary authentication on MFA enabled account",
                "login_2fa_token": pending,
            })),
        )
            .into_response(),
        Err(LoginRefusal::Invalid) => incorrect_credentials(),
    }
}

/// The users/login and 2fa-login refusal.
fn incorrect_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"detail": "Incorrect authentication credentials"})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct TwoFactorRequest {
    login_2fa_token: String,
    code: String,
}

async fn two_factor_login(
    State(hub): State<DockerHub>,
    body: Option<axum::Json<TwoFactorRequest>>,
) -> Response {
    let Some(axum::Json(request)) = body else {
        return incorrect_credentials();
    };
    let Some(pending) = hub
        .decode(&request.login_2fa_token)
        .filter(|claims| claims.scope == PENDING_2FA_SCOPE)
    else {
        return incorrect_credentials();
    };
    let user = hub.state().users.get(&pending.hub.username).cloned();
    match user {
        Some(user) if user.two_factor_code.as_deref() == Some(request.code.as_str()) => {
            axum::Json(json!({ "token": hub.mint(&user, "", "docker_password") })).into_response()
        }
        _ => incorrect_credentials(),
    }
}

#[derive(Deserialize)]
struct Page {
    page_size: Option<usize>,
}

async fn list_repositories(
    State(hub): State<DockerHub>,
    Path(namespace): Path<String>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Response {
    let caller = match hub.verify(&headers) {
        Caller::Anonymous => None,
        Caller::Token(claims) => Some(claims),
        Caller::Refused => return unauthorized_bearer(),
    };
    let Some(mut results) = hub.visible_repositories(&namespace, caller.as_deref()) else {
        return error_body(StatusCode::NOT_FOUND, "not found", "Object not found");
    };
    let count = results.len();
    results.truncate(page.page_size.unwrap_or(10).clamp(1, 100));
    axum::Json(json!({"count": count, "next": null, "previous": null, "results": results}))
        .into_response()
}

async fn get_user(State(hub): State<DockerHub>, Path(username): Path<String>) -> Response {
    let state = hub.state();
    if let Some(user) = state.users.get(&username) {
        return axum::Json(json!({
            "id": user.uuid, "uuid": user.uuid, "username": user.username,
            "full_name": "", "location": "", "company": "", "profile_url": "",
            "date_joined": "2025-01-01T00:00:00Z", "gravatar_url": "", "gravatar_email": "",
            "type": "User",
        }))
        .into_response();
    }
    if state.orgs.contains_key(&username) {
        return axum::Json(json!({
            "id": username, "uuid": username, "username": username, "full_name": "",
            "location": "", "company": "", "profile_url": "",
            "date_joined": "2025-01-01T00:00:00Z", "gravatar_url": "", "gravatar_email": "",
            "type": "Org",
        }))
        .into_response();
    }
    error_body(StatusCode::NOT_FOUND, "not found", "Object not found")
}

/// The documented 429 body; `X-Retry-After` is a Unix timestamp.
fn rate_limited(retry_after: Duration, _quota: Option<&QuotaState>) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({"detail": "Rate limit exceeded", "error": false})),
    )
        .into_response();
    let at = unix_now() + retry_after.as_secs_f64().ceil() as u64;
    if let Ok(value) = HeaderValue::from_str(&at.to_string()) {
        response.headers_mut().insert("x-retry-after", value);
    }
    response
}

fn unavailable(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    error_body(
        status,
        "service unavailable",
        "Service temporarily unavailable",
    )
}

fn quota_headers(quota: &QuotaState, headers: &mut HeaderMap) {
    for (name, value) in [
        ("x-ratelimit-limit", quota.limit),
        ("x-ratelimit-remaining", quota.remaining),
        ("x-ratelimit-reset", quota.reset_at_unix),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}
