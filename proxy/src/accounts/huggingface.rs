//! HuggingFace: `GET /api/whoami-v2` with the token proves it works and
//! names the user and their organisations; the namespace must be one of
//! them (the user's own when omitted). The token is stored encrypted under
//! `CredentialKey("huggingface", "org:<org_id>")`.

use super::upstream::UpstreamError;
use super::{AccountConnection, AccountProvider, stored_token};
use crate::error::{ApiError, parse_body};
use crate::health::HealthCheck;
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use alphaswarm_core::accounts::{AccountKind, AccountToken, Namespace, parse_token};
use async_trait::async_trait;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const KIND: AccountKind = AccountKind::HuggingFace;
/// A token expiring sooner than this makes the connection `degraded`.
const EXPIRY_WARNING: time::Duration = time::Duration::days(7);

/// What whoami-v2 says about a token (the fields AlphaSwarm uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WhoAmI {
    /// `user`, `org` or `app`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub orgs: Vec<OrgRef>,
    #[serde(default)]
    pub auth: Option<Auth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgRef {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Auth {
    #[serde(rename = "accessToken", default)]
    pub access_token: Option<AccessToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccessToken {
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub expiration: Option<String>,
}

impl WhoAmI {
    fn token(&self) -> Option<&AccessToken> {
        self.auth.as_ref()?.access_token.as_ref()
    }

    /// The namespace as HuggingFace spells it, if the token's user may use it.
    fn reachable(&self, wanted: &str) -> Option<&str> {
        std::iter::once(self.name.as_str())
            .chain(self.orgs.iter().map(|o| o.name.as_str()))
            .find(|name| name.eq_ignore_ascii_case(wanted))
    }
}

/// The HuggingFace calls AlphaSwarm makes.
#[async_trait]
pub trait HuggingFaceApi: Send + Sync {
    async fn whoami(&self, token: &AccountToken) -> Result<WhoAmI, UpstreamError>;
}

/// [`HuggingFaceApi`] over HTTPS.
pub struct HuggingFaceClient {
    http: reqwest::Client,
    base_url: String,
}

impl HuggingFaceClient {
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        HuggingFaceClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }
}

#[async_trait]
impl HuggingFaceApi for HuggingFaceClient {
    async fn whoami(&self, token: &AccountToken) -> Result<WhoAmI, UpstreamError> {
        let response = self
            .http
            .get(format!("{}/api/whoami-v2", self.base_url))
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| UpstreamError::from_transport(&e))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(UpstreamError::from_status(status, response.headers()));
        }
        response
            .json::<WhoAmI>()
            .await
            .map_err(|e| UpstreamError::from_transport(&e))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    token: Option<String>,
    namespace: Option<String>,
}

pub struct HuggingFaceProvider {
    api: Arc<dyn HuggingFaceApi>,
}

impl HuggingFaceProvider {
    pub fn new(api: Arc<dyn HuggingFaceApi>) -> Self {
        HuggingFaceProvider { api }
    }

    async fn whoami(&self, token: &AccountToken) -> Result<WhoAmI, HealthCheck> {
        self.api.whoami(token).await.map_err(|e| {
            let retry_after = e.retry_after();
            HealthCheck::from_error(upstream_error(e)).with_retry_after(retry_after)
        })
    }
}

/// HuggingFace's failures as HTTP errors.
fn upstream_error(error: UpstreamError) -> ApiError {
    match error {
        UpstreamError::Refused => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "huggingface_token_refused",
            "HuggingFace refused the token: it is not a valid access token (any more).",
            format!(
                "The token may have been revoked, have expired or be mistyped: create a new one at {} and connect again.",
                KIND.tokens_page()
            ),
        )
        .with_field("token"),
        other => other.into_api_error(KIND),
    }
}

/// Names only what HuggingFace reported, never the typed namespace (a
/// pasted secret must not come back in an error).
fn namespace_not_accessible(who: &WhoAmI) -> ApiError {
    let mut names = vec![who.name.clone()];
    names.extend(who.orgs.iter().map(|o| o.name.clone()));
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "namespace_not_accessible",
        format!(
            "The token's user {} is neither that namespace nor a member of it.",
            who.name
        ),
        format!(
            "Use the user or one of their organisations ({}), or a token of a member of that namespace.",
            names.join(", ")
        ),
    )
    .with_field("namespace")
}

/// `Some(problem)` when the token expires within [`EXPIRY_WARNING`].
fn expiry_problem(token: Option<&AccessToken>, now: OffsetDateTime) -> Option<ApiError> {
    let expiration = token?.expiration.as_deref()?;
    let at = OffsetDateTime::parse(expiration, &Rfc3339).ok()?;
    (at - now < EXPIRY_WARNING).then(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token_expiring_soon",
            format!("The HuggingFace token expires on {expiration}."),
            format!(
                "Create a new token at {} and connect again before then; the new one replaces this one.",
                KIND.tokens_page()
            ),
        )
        .with_field("token")
    })
}

#[async_trait]
impl AccountProvider for HuggingFaceProvider {
    fn kind(&self) -> AccountKind {
        KIND
    }

    async fn connect(&self, _org: &OrgId, body: Value) -> Result<AccountConnection, ApiError> {
        let body: ConnectBody = parse_body(body)?;
        let token = parse_token(KIND, body.token.as_deref().unwrap_or_default())?;
        let wanted = body
            .namespace
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(|n| Namespace::parse(KIND, n))
            .transpose()?;
        let who = self.api.whoami(&token).await.map_err(upstream_error)?;
        let namespace = match &wanted {
            None => who.name.clone(),
            Some(wanted) => who
                .reachable(wanted.as_str())
                .ok_or_else(|| namespace_not_accessible(&who))?
                .to_owned(),
        };
        let mut metadata = BTreeMap::from([
            (
                "type".to_owned(),
                if namespace == who.name { "user" } else { "org" }.to_owned(),
            ),
            ("username".to_owned(), who.name.clone()),
        ]);
        if let Some(email) = who.email.clone().filter(|e| !e.is_empty()) {
            metadata.insert("auth_email".to_owned(), email);
        }
        if let Some(access) = who.token() {
            for (name, value) in [
                ("token_name", &access.display_name),
                ("token_role", &access.role),
                ("token_expires_at", &access.expiration),
            ] {
                if let Some(value) = value {
                    metadata.insert(name.to_owned(), value.clone());
                }
            }
        }
        Ok(AccountConnection {
            namespace,
            metadata,
            lists: BTreeMap::from([(
                "orgs".to_owned(),
                who.orgs.iter().map(|o| o.name.clone()).collect(),
            )]),
            secrets: BTreeMap::from([(KIND.token_field().to_owned(), token.expose().to_owned())]),
        })
    }

    async fn health(&self, record: &StoredIntegration) -> HealthCheck {
        let token = match stored_token(record, KIND) {
            Ok(token) => token,
            Err(problem) => return HealthCheck::from_error(problem),
        };
        let who = match self.whoami(&token).await {
            Ok(who) => who,
            Err(verdict) => return verdict,
        };
        let namespace = record.namespace.as_deref().unwrap_or(&who.name);
        if who.reachable(namespace).is_none() {
            return HealthCheck::from_error(namespace_not_accessible(&who));
        }
        match expiry_problem(who.token(), OffsetDateTime::now_utc()) {
            Some(problem) => HealthCheck::attention(problem),
            None => HealthCheck::healthy(),
        }
    }

    fn revocation_guidance(&self, record: Option<&StoredIntegration>) -> Vec<String> {
        let name = record
            .and_then(|r| r.metadata.get("token_name"))
            .map(|n| format!(" named \"{n}\""))
            .unwrap_or_default();
        vec![
            format!(
                "Revoke the token{name} on HuggingFace too: {} (Access Tokens → Revoke). Until then it stays usable by anyone who holds it.",
                KIND.tokens_page()
            ),
            "If the token may have been exposed, revoke it first, then disconnect here.".to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_token_close_to_expiry_needs_attention() {
        let token = |exp: &str| AccessToken {
            display_name: None,
            role: Some("read".into()),
            expiration: Some(exp.into()),
        };
        let now = datetime!(2026-06-01 0:00 UTC);
        assert!(expiry_problem(Some(&token("2026-06-05T00:00:00.000Z")), now).is_some());
        assert!(expiry_problem(Some(&token("2026-07-01T00:00:00.000Z")), now).is_none());
        assert!(expiry_problem(Some(&token("not a date")), now).is_none());
        assert!(expiry_problem(None, now).is_none());
    }
}
