//! The `integration_store` store: the proxy's encrypted integration store,
//! read-only, for credentials minted by the proxy (seed 000, last section).
//!
//! The resolver defines the seam, [`IntegrationSecrets`]; the proxy
//! implements it over its store and plugs it into the chain. An expired
//! minted credential never resolves.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use alphaswarm_core::keys::{CredentialKey, KeyError};
use alphaswarm_core::secret::SecretValue;
use async_trait::async_trait;

use crate::chain::{Fetched, SecretStore};
use crate::clock::Clock;
use crate::credential::Source;
use crate::error::StoreError;

/// A secret as the integration store keeps it.
#[derive(Clone)]
pub struct StoredSecret {
    /// The value as stored (JSON first, else `credential`).
    pub raw: String,
    /// When a minted credential stops working.
    pub expires_at: Option<SystemTime>,
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSecret")
            .field("raw", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Read access to the proxy's integration store.
#[async_trait]
pub trait IntegrationSecrets: Send + Sync {
    async fn read_secret(&self, key: &CredentialKey) -> Result<Option<StoredSecret>, StoreError>;

    /// Where the store lives (backend, path) for `describe()`; no secret.
    fn settings(&self) -> BTreeMap<&'static str, String>;
}

pub struct IntegrationStore {
    inner: Arc<dyn IntegrationSecrets>,
    clock: Arc<dyn Clock>,
}

impl IntegrationStore {
    pub fn new(inner: Arc<dyn IntegrationSecrets>, clock: Arc<dyn Clock>) -> Self {
        IntegrationStore { inner, clock }
    }
}

#[async_trait]
impl SecretStore for IntegrationStore {
    fn source(&self) -> Source {
        Source::IntegrationStore
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        self.inner.settings()
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        Ok(format!("entry {key}"))
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        let Some(stored) = self.inner.read_secret(key).await? else {
            return Ok(None);
        };
        if stored
            .expires_at
            .is_some_and(|expires_at| expires_at <= self.clock.now())
        {
            tracing::debug!(%key, "minted credential expired, passed over");
            return Ok(None);
        }
        Ok(Some(Fetched {
            value: SecretValue::parse_for(key, &stored.raw),
            expires_at: stored.expires_at,
        }))
    }
}
