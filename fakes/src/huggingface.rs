//! HuggingFace Hub: `GET /api/whoami-v2` (federation-formats §5).
//!
//! State: users, organisations (with each member's role) and the access
//! tokens issued to users. A token answers whoami until it is revoked; a
//! revoked, unknown or missing token gets the real 401 body
//! `{"error":"Invalid credentials in Authorization header"}` with the same
//! text in `X-Error-Message`. Rate limits use HuggingFace's headers
//! (`RateLimit: "api";r=<remaining>;t=<seconds>` and `RateLimit-Policy`),
//! and like the real site a 429 or outage answers an HTML page, not JSON.

use crate::server::{Running, serve};
use crate::shared::{Shared, Tokens};
use crate::traffic::{QuotaState, Style, Traffic};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::MutexGuard;
use std::time::Duration;

/// The exact 401 text huggingface_hub special-cases.
pub const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";

/// A token's role (`auth.accessToken.role`): `read`, `write` or `fineGrained`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRole {
    Read,
    Write,
    /// Fine-grained, with repo read permission on these user/org names.
    FineGrained {
        readable: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    fullname: String,
    email: Option<String>,
    /// org name → roleInOrg
    orgs: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Org {
    id: String,
    name: String,
    fullname: String,
}

#[derive(Debug, Clone)]
struct Token {
    owner: String,
    display_name: String,
    role: TokenRole,
    expiration: Option<String>,
}

#[derive(Default)]
struct HubState {
    next_id: u64,
    /// Keyed by lowercase name (HuggingFace names are unique without regard to case).
    users: BTreeMap<String, User>,
    orgs: BTreeMap<String, Org>,
    tokens: Tokens<Token>,
}

impl HubState {
    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{:024x}", 0x6650_0000_0000_u64 + self.next_id)
    }
}

/// The handle tests and the sandbox use to shape the fake's world.
#[derive(Clone, Default)]
pub struct HuggingFace {
    shared: Shared<HubState>,
}

impl HuggingFace {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fake whose counters and faults are `traffic`'s, which other fakes
    /// may share (one peak over several products).
    pub fn with_traffic(traffic: Traffic) -> Self {
        HuggingFace {
            shared: Shared::with_traffic(traffic),
        }
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        self.shared.state()
    }

    pub fn traffic(&self) -> &Traffic {
        self.shared.traffic()
    }

    /// Adds (or replaces) a user.
    pub fn add_user(&self, name: &str, email: Option<&str>) {
        let mut state = self.state();
        let id = state.id();
        state.users.insert(
            name.to_lowercase(),
            User {
                id,
                name: name.to_owned(),
                fullname: format!("{name} (fake)"),
                email: email.map(str::to_owned),
                orgs: BTreeMap::new(),
            },
        );
    }

    /// Adds an organisation with `members` as `(user, roleInOrg)`.
    pub fn add_org(&self, name: &str, members: &[(&str, &str)]) {
        let mut state = self.state();
        let id = state.id();
        state.orgs.insert(
            name.to_lowercase(),
            Org {
                id,
                name: name.to_owned(),
                fullname: format!("{name} (fake org)"),
            },
        );
        for (user, role) in members {
            if let Some(user) = state.users.get_mut(&user.to_lowercase()) {
                user.orgs.insert(name.to_owned(), (*role).to_owned());
            }
        }
    }

    /// Takes `user` out of `org`.
    pub fn remove_member(&self, org: &str, user: &str) {
        if let Some(user) = self.state().users.get_mut(&user.to_lowercase()) {
            user.orgs.retain(|name, _| !name.eq_ignore_ascii_case(org));
        }
    }

    /// Issues a user access token (`hf_` + 34 letters and digits, as real ones).
    pub fn issue_token(&self, user: &str, role: TokenRole) -> String {
        self.issue_token_with(user, role, None)
    }

    /// As [`Self::issue_token`], with an expiration date (ISO 8601).
    pub fn issue_token_with(
        &self,
        user: &str,
        role: TokenRole,
        expiration: Option<&str>,
    ) -> String {
        let token = format!(
            "hf_{}",
            rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(34)
                .map(char::from)
                .collect::<String>()
        );
        self.state().tokens.insert(
            token.clone(),
            Token {
                owner: user.to_lowercase(),
                display_name: "alphaswarm".to_owned(),
                role,
                expiration: expiration.map(str::to_owned),
            },
        );
        token
    }

    /// Revokes a token (settings → Access Tokens → Revoke).
    pub fn revoke(&self, token: &str) {
        self.state().tokens.set_revoked(token, true);
    }

    /// Undoes [`Self::revoke`] (the fake's way to "restore" an upstream credential).
    pub fn reinstate(&self, token: &str) {
        self.state().tokens.set_revoked(token, false);
    }

    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/api/whoami-v2", get(whoami))
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

    fn whoami_body(&self, token: &str) -> Option<Value> {
        let state = self.state();
        let token = state.tokens.live(token)?;
        let user = state.users.get(&token.owner)?;
        let orgs: Vec<Value> = user
            .orgs
            .iter()
            .filter_map(|(name, role)| {
                let org = state.orgs.get(&name.to_lowercase())?;
                Some(json!({
                    "type": "org", "id": org.id, "name": org.name, "fullname": org.fullname,
                    "email": null, "canPay": false, "periodEnd": null,
                    "avatarUrl": format!("https://cdn-avatars.huggingface.co/v1/production/uploads/{}.png", org.id),
                    "roleInOrg": role,
                }))
            })
            .collect();
        let mut access_token = json!({
            "displayName": token.display_name,
            "role": match &token.role {
                TokenRole::Read => "read",
                TokenRole::Write => "write",
                TokenRole::FineGrained { .. } => "fineGrained",
            },
            "createdAt": "2026-01-01T00:00:00.000Z",
        });
        if let Some(expiration) = &token.expiration {
            access_token["expiration"] = expiration.clone().into();
        }
        if let TokenRole::FineGrained { readable } = &token.role {
            let scoped: Vec<Value> = readable
                .iter()
                .map(|name| {
                    let entity_type = if state.orgs.contains_key(&name.to_lowercase()) {
                        "org"
                    } else {
                        "user"
                    };
                    json!({
                        "entity": {"_id": format!("{:024x}", name.len()), "type": entity_type, "name": name},
                        "permissions": ["repo.content.read"],
                    })
                })
                .collect();
            access_token["fineGrained"] =
                json!({"canReadGatedRepos": false, "global": [], "scoped": scoped});
        }
        Some(json!({
            "type": "user",
            "id": user.id,
            "name": user.name,
            "fullname": user.fullname,
            "email": user.email,
            "emailVerified": user.email.is_some(),
            "isPro": false,
            "canPay": false,
            "periodEnd": null,
            "avatarUrl": format!("https://cdn-avatars.huggingface.co/v1/production/uploads/{}.png", user.id),
            "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": access_token},
        }))
    }
}

async fn whoami(State(hub): State<HuggingFace>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match token.and_then(|t| hub.whoami_body(t)) {
        Some(body) => axum::Json(body).into_response(),
        None => invalid_credentials(),
    }
}

fn invalid_credentials() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": INVALID_CREDENTIALS })),
    )
        .into_response();
    response.headers_mut().insert(
        "x-error-message",
        HeaderValue::from_static(INVALID_CREDENTIALS),
    );
    response
}

/// Observed: a rate-limited whoami-v2 answers the site's HTML page.
fn rate_limited(retry_after: Duration, quota: Option<&QuotaState>) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Html("<!DOCTYPE html>\n<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"),
    )
        .into_response();
    if quota.is_none() {
        // An injected limit still tells the client when to come back.
        let seconds = retry_after.as_secs_f64().ceil() as u64;
        if let Ok(value) = HeaderValue::from_str(&format!("\"api\";r=0;t={seconds}")) {
            response.headers_mut().insert("ratelimit", value);
        }
    }
    response
}

fn unavailable(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (
        status,
        Html(format!(
            "<!DOCTYPE html>\n<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        )),
    )
        .into_response()
}

/// hub-docs `rate-limits.md`: the IETF draft's `RateLimit` and `RateLimit-Policy`.
fn quota_headers(quota: &QuotaState, headers: &mut HeaderMap) {
    let values = [
        (
            "ratelimit",
            format!("\"api\";r={};t={}", quota.remaining, quota.reset_in),
        ),
        (
            "ratelimit-policy",
            format!(
                "\"fixed window\";\"api\";q={};w={}",
                quota.limit,
                quota.window.as_secs()
            ),
        ),
    ];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}
