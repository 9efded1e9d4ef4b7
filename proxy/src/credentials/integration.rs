//! The proxy's integration store as the resolver's `integration_store`
//! (read-only): the tokens the proxy keeps (HuggingFace, Docker Hub,
//! Cloudflare) and the credentials it minted resolve through the chain.
//!
//! A record resolves under its credential key to a JSON object of its
//! `secrets` (a HuggingFace connection `huggingface:org:<org>` gives
//! `{"token": …}`; a minted AWS credential gives `access_key_id`,
//! `secret_access_key`, `session_token`). Records without secrets (a cloud
//! connection holds a role, not a secret) are not values. A minted record's
//! `expires_at` travels with it: the resolver never hands out an expired one.

use crate::store::IntegrationStore;
use alphaswarm_core::keys::CredentialKey;
use alphaswarm_resolver::StoreError;
use alphaswarm_resolver::stores::{IntegrationSecrets, StoredSecret};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;
use time::format_description::well_known::Rfc3339;

/// The metadata field of a minted record that says when it stops working.
pub const EXPIRES_AT: &str = "expires_at";

pub struct ProxyIntegrationSecrets {
    store: Arc<dyn IntegrationStore>,
    /// Where the store lives, for describe (a path or a database kind).
    location: String,
}

impl ProxyIntegrationSecrets {
    pub fn new(store: Arc<dyn IntegrationStore>, location: impl Into<String>) -> Self {
        ProxyIntegrationSecrets {
            store,
            location: location.into(),
        }
    }
}

/// An RFC 3339 timestamp as a `SystemTime`.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[async_trait]
impl IntegrationSecrets for ProxyIntegrationSecrets {
    async fn read_secret(&self, key: &CredentialKey) -> Result<Option<StoredSecret>, StoreError> {
        let record = self.store.get(&key.to_string()).await.map_err(|e| {
            // The store's error names its path and kind, never a value.
            StoreError::unreachable(e.to_string(), crate::db::CHECK_THE_DATABASE)
        })?;
        let Some(record) = record.filter(|r| !r.secrets.is_empty()) else {
            return Ok(None);
        };
        let expires_at = match record.metadata.get(EXPIRES_AT) {
            None => None,
            Some(text) => Some(parse_time(text).ok_or_else(|| {
                StoreError::invalid_payload(
                    format!("the record {key} has an unreadable expiry"),
                    "Mint the credential again.",
                )
            })?),
        };
        let raw = serde_json::to_string(&record.secrets)
            .map_err(|_| StoreError::unexpected("a stored record could not be encoded"))?;
        Ok(Some(StoredSecret { raw, expires_at }))
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            (
                "backend",
                "the proxy's encrypted integrations store".to_owned(),
            ),
            ("location", self.location.clone()),
            ("access", "read-only".to_owned()),
        ])
    }
}
