//! Docker Hub: username + personal (or organization) access token are
//! exchanged for a short-lived JWT at `POST /v2/auth/token` (proving the
//! pair works), then `GET /v2/namespaces/{namespace}/repositories` with that
//! JWT confirms the namespace exists and is readable. Docker Hub offers no
//! membership check a PAT may call (`/v2/orgs/{org}/members` takes only
//! organization tokens), so an org namespace is confirmed reachable, not
//! owned. The PAT is stored encrypted under `CredentialKey("docker_hub",
//! "org:<org_id>")`; the JWT is never stored.

use super::upstream::UpstreamError;
use super::{AccountConnection, AccountProvider, stored_token};
use crate::error::{ApiError, parse_body};
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use alphaswarm_core::accounts::{
    AccountKind, AccountToken, DockerUsername, Namespace, TokenKind, parse_token,
};
use async_trait::async_trait;
use axum::http::StatusCode;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const KIND: AccountKind = AccountKind::DockerHub;

/// What the access token's claims say (observed shape; all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SessionClaims {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(rename = "https://hub.docker.com", default)]
    pub hub: Option<HubClaims>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HubClaims {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A short-lived access token; `Debug` never shows it.
#[derive(Clone)]
pub struct DockerSession {
    access_token: String,
    pub claims: SessionClaims,
}

impl DockerSession {
    /// Reads the claims without verifying the signature: the token came
    /// straight from Docker Hub over TLS and is only ever sent back to it.
    pub fn new(access_token: String) -> Self {
        let claims = access_token
            .split('.')
            .nth(1)
            .and_then(|payload| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload.trim_end_matches('='))
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        DockerSession {
            access_token,
            claims,
        }
    }

    fn username(&self) -> Option<&str> {
        self.claims.hub.as_ref()?.username.as_deref()
    }
}

impl std::fmt::Debug for DockerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerSession")
            .field("access_token", &"<redacted>")
            .field("claims", &self.claims)
            .finish()
    }
}

/// The Docker Hub calls AlphaSwarm makes.
#[async_trait]
pub trait DockerHubApi: Send + Sync {
    /// `POST /v2/auth/token`.
    async fn create_access_token(
        &self,
        identifier: &str,
        secret: &AccountToken,
    ) -> Result<DockerSession, UpstreamError>;
    /// `GET /v2/namespaces/{namespace}/repositories?page_size=1`: how many
    /// repositories the session sees there.
    async fn probe_namespace(
        &self,
        session: &DockerSession,
        namespace: &Namespace,
    ) -> Result<u64, UpstreamError>;
}

/// [`DockerHubApi`] over HTTPS.
pub struct DockerHubClient {
    http: reqwest::Client,
    base_url: String,
}

impl DockerHubClient {
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        DockerHubClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct AccessTokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct Listing {
    count: u64,
}

/// A 401 body that carries `login_2fa_token` asks for the second factor.
fn is_two_factor_reply(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("login_2fa_token").is_some())
}

#[async_trait]
impl DockerHubApi for DockerHubClient {
    async fn create_access_token(
        &self,
        identifier: &str,
        secret: &AccountToken,
    ) -> Result<DockerSession, UpstreamError> {
        let response = self
            .http
            .post(format!("{}/v2/auth/token", self.base_url))
            .json(&json!({ "identifier": identifier, "secret": secret.expose() }))
            .send()
            .await
            .map_err(|e| UpstreamError::from_transport(&e))?;
        let status = response.status().as_u16();
        if status == 401 {
            let body = response.text().await.unwrap_or_default();
            return Err(if is_two_factor_reply(&body) {
                UpstreamError::TwoFactorRequired
            } else {
                UpstreamError::Refused
            });
        }
        if status != 200 {
            return Err(UpstreamError::from_status(status, response.headers()));
        }
        let answer: AccessTokenAnswer = response
            .json()
            .await
            .map_err(|e| UpstreamError::from_transport(&e))?;
        Ok(DockerSession::new(answer.access_token))
    }

    async fn probe_namespace(
        &self,
        session: &DockerSession,
        namespace: &Namespace,
    ) -> Result<u64, UpstreamError> {
        let response = self
            .http
            .get(format!(
                "{}/v2/namespaces/{}/repositories?page_size=1",
                self.base_url,
                namespace.as_str()
            ))
            .bearer_auth(&session.access_token)
            .send()
            .await
            .map_err(|e| UpstreamError::from_transport(&e))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(UpstreamError::from_status(status, response.headers()));
        }
        let listing: Listing = response
            .json()
            .await
            .map_err(|e| UpstreamError::from_transport(&e))?;
        Ok(listing.count)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    username: Option<String>,
    pat: Option<String>,
    namespace: Option<String>,
}

pub struct DockerHubProvider {
    api: Arc<dyn DockerHubApi>,
}

/// What a successful login + probe found.
struct Confirmed {
    session: DockerSession,
    repositories: u64,
}

/// Docker Hub's failures as HTTP errors. Typed values (namespace, Docker
/// ID) are not repeated: a pasted secret must not come back in an error.
fn upstream_error(error: UpstreamError) -> ApiError {
    let refused = |code: &str, message: String, hint: String, field: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, hint).with_field(field)
    };
    match error {
        UpstreamError::Refused => refused(
            "docker_hub_login_refused",
            "Docker Hub refused the Docker ID and access token.".to_owned(),
            format!(
                "Check the Docker ID, and that the token is still listed (not deleted or expired) at {}; create a new one if needed.",
                KIND.tokens_page()
            ),
            "pat",
        ),
        UpstreamError::TwoFactorRequired => refused(
            "docker_hub_2fa_required",
            "Docker Hub asked for a second factor, which only a password login needs.".to_owned(),
            format!(
                "Use a personal access token (dckr_pat_…) from {}: tokens skip the second factor.",
                KIND.tokens_page()
            ),
            "pat",
        ),
        UpstreamError::NotFound => refused(
            "namespace_not_found",
            "Docker Hub has no user or organization by that name.".to_owned(),
            "Check the spelling on hub.docker.com, or leave the namespace empty to use the Docker ID.".to_owned(),
            "namespace",
        ),
        UpstreamError::Forbidden => refused(
            "namespace_forbidden",
            "The token may not read that namespace.".to_owned(),
            "Use a token of a member of that organization with at least repo:read (or public read) scope.".to_owned(),
            "namespace",
        ),
        other => other.into_api_error(KIND),
    }
}

impl DockerHubProvider {
    pub fn new(api: Arc<dyn DockerHubApi>) -> Self {
        DockerHubProvider { api }
    }

    /// Login, the username check (a PAT's claims name its owner) and the
    /// namespace probe.
    async fn confirm(
        &self,
        username: &DockerUsername,
        token: &AccountToken,
        namespace: &Namespace,
    ) -> Result<Confirmed, (ApiError, Option<std::time::Duration>)> {
        let fail = |e: UpstreamError| {
            let wait = e.retry_after();
            (upstream_error(e), wait)
        };
        let session = self
            .api
            .create_access_token(username.as_str(), token)
            .await
            .map_err(fail)?;
        if token.kind() == TokenKind::DockerPersonal
            && let Some(owner) = session.username()
            && !owner.eq_ignore_ascii_case(username.as_str())
        {
            return Err((
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "docker_hub_username_mismatch",
                    format!("The access token belongs to the Docker ID {owner}, not to the one entered."),
                    "Enter the Docker ID of the token's owner, or a token created by this Docker ID.",
                )
                .with_field("username"),
                None,
            ));
        }
        let repositories = self
            .api
            .probe_namespace(&session, namespace)
            .await
            .map_err(fail)?;
        Ok(Confirmed {
            session,
            repositories,
        })
    }
}

#[async_trait]
impl AccountProvider for DockerHubProvider {
    fn kind(&self) -> AccountKind {
        KIND
    }

    async fn connect(&self, _org: &OrgId, body: Value) -> Result<AccountConnection, ApiError> {
        let body: ConnectBody = parse_body(body)?;
        let username = DockerUsername::parse(body.username.as_deref())?;
        let token = parse_token(KIND, body.pat.as_deref().unwrap_or_default())?;
        let namespace = match body.namespace.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(n) => Namespace::parse(KIND, n)?,
            None => username.namespace(),
        };
        let confirmed = self
            .confirm(&username, &token, &namespace)
            .await
            .map_err(|(e, _)| e)?;
        let owner = confirmed
            .session
            .username()
            .unwrap_or(username.as_str())
            .to_owned();
        let mut metadata = BTreeMap::from([
            (
                "type".to_owned(),
                if namespace.as_str() == owner.to_ascii_lowercase() {
                    "user"
                } else {
                    "org"
                }
                .to_owned(),
            ),
            ("username".to_owned(), username.to_string()),
            ("token_kind".to_owned(), token.kind().as_str().to_owned()),
            (
                "repositories".to_owned(),
                confirmed.repositories.to_string(),
            ),
        ]);
        let claims = &confirmed.session.claims;
        if let Some(scope) = claims.scope.clone().filter(|s| !s.is_empty()) {
            metadata.insert("token_scope".to_owned(), scope);
        }
        if let Some(email) = claims
            .hub
            .as_ref()
            .and_then(|h| h.email.clone())
            .filter(|e| !e.is_empty())
        {
            metadata.insert("auth_email".to_owned(), email);
        }
        Ok(AccountConnection {
            namespace: namespace.to_string(),
            metadata,
            lists: BTreeMap::new(),
            secrets: BTreeMap::from([(KIND.token_field().to_owned(), token.expose().to_owned())]),
        })
    }

    async fn health(&self, record: &StoredIntegration) -> HealthCheck {
        let token = match stored_token(record, KIND) {
            Ok(token) => token,
            Err(problem) => return HealthCheck::from_error(problem),
        };
        let (Ok(username), Ok(namespace)) = (
            DockerUsername::parse(record.metadata.get("username").map(String::as_str)),
            Namespace::parse(KIND, record.namespace.as_deref().unwrap_or_default()),
        ) else {
            return HealthCheck::from_error(ApiError::new(
                StatusCode::CONFLICT,
                "stored_record_unusable",
                "The stored Docker Hub connection lacks its Docker ID or namespace.",
                "Connect again.",
            ));
        };
        match self.confirm(&username, &token, &namespace).await {
            Ok(_) => HealthCheck::healthy(),
            Err((problem, wait)) => HealthCheck::from_error(problem).with_retry_after(wait),
        }
    }

    fn revocation_guidance(&self, record: Option<&StoredIntegration>) -> Vec<String> {
        let organization = record
            .and_then(|r| r.metadata.get("token_kind"))
            .is_some_and(|k| k == TokenKind::DockerOrganization.as_str());
        let place = if organization {
            "the organization's Settings → Access tokens (an owner must do it)".to_owned()
        } else {
            format!(
                "Account settings → Personal access tokens ({})",
                KIND.tokens_page()
            )
        };
        vec![
            format!(
                "Docker Hub has no API to revoke an access token: delete it by hand in {place}. Until then it stays usable by anyone who holds it."
            ),
            "If the token may have been exposed, delete it first, then disconnect here.".to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_jwt_payload_and_the_token_is_never_printed() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            r#"{"scope":"repo:read","https://hub.docker.com":{"username":"acmeops","email":"ops@acme.example"}}"#,
        );
        let session = DockerSession::new(format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl"));
        assert_eq!(session.username(), Some("acmeops"));
        assert_eq!(session.claims.scope.as_deref(), Some("repo:read"));
        assert!(!format!("{session:?}").contains("c2lnbmF0dXJl"));
        // Not a JWT: no claims, no panic.
        assert_eq!(
            DockerSession::new("opaque".into()).claims,
            SessionClaims::default()
        );
    }

    #[test]
    fn a_two_factor_reply_is_recognised() {
        assert!(is_two_factor_reply(
            r#"{"detail":"Require secondary authentication on MFA enabled account","login_2fa_token":"x.y.z"}"#
        ));
        assert!(!is_two_factor_reply(
            r#"{"detail":"Incorrect authentication credentials"}"#
        ));
        assert!(!is_two_factor_reply("<html>"));
    }
}
