//! The M2M store: an OAuth 2.0 client-credentials token (RFC 6749 §4.4),
//! fetched once and cached until shortly before it expires. It sits in front
//! of the chain when `ALPHASWARM_AUTH_M2M_ENABLED` is true (seed 002: "a
//! fresh M2M token wins") and answers only the keys it issues for.

use std::collections::BTreeMap;
use std::sync::Arc;

use alphaswarm_core::keys::{CredentialKey, KeyError};
use alphaswarm_core::secret::SecretValue;
use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::chain::{Fetched, SecretStore};
use crate::clock::Clock;
use crate::credential::Source;
use crate::error::StoreError;
use crate::fields::field_map;
use crate::http::{AccessToken, TokenCache, post_token_form};

#[derive(Clone)]
pub struct M2mConfig {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    /// Sent as `audience` (Auth0, Keycloak token exchange and others use it).
    pub audience: Option<String>,
    /// The keys answered with the token.
    pub keys: Vec<CredentialKey>,
}

impl std::fmt::Debug for M2mConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("M2mConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("keys", &self.keys)
            .finish()
    }
}

pub struct M2mStore {
    config: M2mConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    token: TokenCache<AccessToken>,
}

impl M2mStore {
    pub fn new(config: M2mConfig, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        M2mStore {
            token: TokenCache::new(clock.clone()),
            config,
            http,
            clock,
        }
    }

    async fn token(&self) -> Result<AccessToken, StoreError> {
        self.token
            .get_or_fetch(|| async {
                let mut form = vec![("grant_type", "client_credentials")];
                if let Some(scope) = &self.config.scope {
                    form.push(("scope", scope));
                }
                if let Some(audience) = &self.config.audience {
                    form.push(("audience", audience));
                }
                let token = post_token_form(
                    &self.http,
                    "the M2M token endpoint",
                    &self.config.token_url,
                    &form,
                    Some((&self.config.client_id, &self.config.client_secret)),
                    self.clock.now(),
                )
                .await?;
                let expires_at = token.expires_at;
                Ok((token, expires_at))
            })
            .await
    }
}

#[async_trait]
impl SecretStore for M2mStore {
    fn source(&self) -> Source {
        Source::M2m
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        let mut settings = BTreeMap::from([
            ("token_url", self.config.token_url.clone()),
            ("client_id", self.config.client_id.clone()),
            (
                "keys",
                self.config
                    .keys
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]);
        if let Some(scope) = &self.config.scope {
            settings.insert("scope", scope.clone());
        }
        if let Some(audience) = &self.config.audience {
            settings.insert("audience", audience.clone());
        }
        settings
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        Ok(if self.config.keys.contains(key) {
            format!("token from {}", self.config.token_url)
        } else {
            "(not an M2M key)".to_owned()
        })
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        if !self.config.keys.contains(key) {
            return Ok(None);
        }
        let token = self.token().await?;
        // The token under the generic names, plus every token-like field the
        // key's field map names (minio:sts reads `session_token`).
        let mut fields = Map::new();
        let names = ["access_token", "token"].into_iter().chain(
            field_map(key)
                .map(|map| map.fields)
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|f| f.ends_with("token")),
        );
        for name in names {
            fields.insert(name.to_owned(), Value::String(token.secret.clone()));
        }
        fields.insert("token_type".to_owned(), Value::String("Bearer".to_owned()));
        Ok(Some(Fetched {
            value: SecretValue::parse_for(key, &Value::Object(fields).to_string()),
            expires_at: Some(token.expires_at),
        }))
    }
}
