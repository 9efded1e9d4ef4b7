//! [`CredentialResolver`]: an ordered chain of [`SecretStore`]s.
//!
//! Lower priority numbers are asked first; the first non-empty hit wins
//! (seed 002: a fresh M2M token beats a bootstrap file, which beats a static
//! env seed). A store that *fails* (refused, unreachable) does not stop the
//! walk — a lower store may still hold the key, env being the safety net —
//! but when nothing answers, the failure is the result: the caller's default
//! is only for a key that no store holds, never for a store that is down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use alphaswarm_core::keys::{CredentialKey, KeyError};
use alphaswarm_core::secret::SecretValue;
use async_trait::async_trait;
use serde::Serialize;

use crate::credential::{Credential, Source};
use crate::error::{ResolveError, StoreError, StoreFailure};
use crate::fields;

/// What a store found for a key.
pub struct Fetched {
    pub value: SecretValue,
    /// When the value stops working, if the store knows.
    pub expires_at: Option<SystemTime>,
}

impl Fetched {
    pub fn new(value: SecretValue) -> Self {
        Fetched {
            value,
            expires_at: None,
        }
    }
}

/// One secret store of the chain. Implementations never log or return a
/// value except inside [`Fetched`].
#[async_trait]
pub trait SecretStore: Send + Sync {
    fn source(&self) -> Source;

    /// The store's settings for [`CredentialResolver::describe`]: region,
    /// prefix, endpoint, identity source — never a value or a credential.
    fn settings(&self) -> BTreeMap<&'static str, String>;

    /// Where `key` lives in this store (env var, file, secret name, path),
    /// through the core's `keys` naming.
    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError>;

    /// The value of `key`, `None` when the store does not hold it.
    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError>;
}

struct Link {
    priority: u32,
    store: Arc<dyn SecretStore>,
}

/// The chain. Cheap to share (`Arc` it); every method takes `&self`.
#[derive(Default)]
pub struct CredentialResolver {
    chain: Vec<Link>,
}

/// A resolved credential plus the stores that failed before the one that answered.
pub struct Resolution {
    pub credential: Credential,
    /// Higher-ranked stores that failed and were passed over.
    pub passed_over: Vec<StoreFailure>,
}

impl CredentialResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `store` at `priority`; stores of equal priority keep insertion order.
    pub fn push(&mut self, priority: u32, store: Arc<dyn SecretStore>) {
        let at = self.chain.partition_point(|link| link.priority <= priority);
        self.chain.insert(at, Link { priority, store });
    }

    pub fn with(mut self, priority: u32, store: impl SecretStore + 'static) -> Self {
        self.push(priority, Arc::new(store));
        self
    }

    pub fn len(&self) -> usize {
        self.chain.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    /// The first non-empty value of `key` in the chain.
    pub async fn resolve(&self, key: &CredentialKey) -> Result<Credential, ResolveError> {
        self.resolve_detailed(key, None)
            .await
            .map(|resolution| resolution.credential)
    }

    /// As [`resolve`](Self::resolve), with `default` (source `default`)
    /// when no store holds the key and none failed.
    pub async fn resolve_or(
        &self,
        key: &CredentialKey,
        default: SecretValue,
    ) -> Result<Credential, ResolveError> {
        self.resolve_detailed(key, Some(default))
            .await
            .map(|resolution| resolution.credential)
    }

    /// The walk itself, also reporting the failures passed over.
    pub async fn resolve_detailed(
        &self,
        key: &CredentialKey,
        default: Option<SecretValue>,
    ) -> Result<Resolution, ResolveError> {
        let mut failures = Vec::new();
        let mut looked = Vec::new();
        for link in &self.chain {
            let source = link.store.source();
            let location = link.store.locate(key).ok();
            let fail = |error: StoreError| StoreFailure {
                priority: link.priority,
                source,
                location: location.clone(),
                error,
            };
            match link.store.fetch(key).await {
                Ok(Some(found)) if !is_empty(&found.value) => {
                    if let Err(error) = fields::check_complete(key, &found.value) {
                        tracing::warn!(%key, %source, code = error.kind.code(), "credential incomplete, passed over");
                        failures.push(fail(error));
                        continue;
                    }
                    if !failures.is_empty() {
                        tracing::warn!(%key, %source, passed_over = failures.len(), "credential resolved below a failed store");
                    }
                    tracing::debug!(%key, %source, "credential resolved");
                    return Ok(Resolution {
                        credential: Credential::new(
                            key.clone(),
                            source,
                            found.value,
                            found.expires_at,
                        ),
                        passed_over: failures,
                    });
                }
                Ok(_) => looked.push(match &location {
                    Some(location) => format!("{source} {location}"),
                    None => format!("{source} (no name for this key there)"),
                }),
                Err(error) => {
                    tracing::warn!(%key, %source, code = error.kind.code(), error = %error, "secret store failed");
                    failures.push(fail(error));
                }
            }
        }
        if !failures.is_empty() {
            return Err(ResolveError::StoresFailed {
                key: key.clone(),
                failures,
            });
        }
        match default {
            Some(value) => Ok(Resolution {
                credential: Credential::new(key.clone(), Source::Default, value, None),
                passed_over: Vec::new(),
            }),
            None => Err(ResolveError::NotFound {
                key: key.clone(),
                looked,
            }),
        }
    }

    /// The chain in resolution order with each store's settings; never a value.
    pub fn describe(&self) -> ChainDescription {
        ChainDescription {
            stores: self
                .chain
                .iter()
                .map(|link| StoreDescription {
                    priority: link.priority,
                    source: link.store.source(),
                    settings: link
                        .store
                        .settings()
                        .into_iter()
                        .map(|(name, value)| (name.to_owned(), value))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Where each store would look for `key`, in chain order.
    pub fn locate(&self, key: &CredentialKey) -> Vec<(u32, Source, Result<String, KeyError>)> {
        self.chain
            .iter()
            .map(|link| (link.priority, link.store.source(), link.store.locate(key)))
            .collect()
    }
}

/// A value counts as a hit when some field holds more than blanks or `null`.
fn is_empty(value: &SecretValue) -> bool {
    value.field_names().all(|name| match value.get(name) {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(s)) => s.trim().is_empty(),
        Some(serde_json::Value::Object(map)) => map.is_empty(),
        Some(_) => false,
    })
}

/// [`CredentialResolver::describe`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainDescription {
    pub stores: Vec<StoreDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreDescription {
    pub priority: u32,
    pub source: Source,
    pub settings: BTreeMap<String, String>,
}

impl std::fmt::Display for ChainDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for store in &self.stores {
            write!(f, "{:>4}  {}", store.priority, store.source)?;
            for (name, value) in &store.settings {
                write!(f, "  {name}={value}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}

    /// The proxy shares one resolver across its runtime's tasks and awaits
    /// resolutions inside handlers: both need `Send`.
    #[test]
    fn the_resolver_and_its_futures_are_send() {
        let resolver = CredentialResolver::new();
        assert_send_sync(&resolver);
        let key = CredentialKey::new("svc", "p").unwrap();
        assert_send(resolver.resolve(&key));
        assert_send(resolver.resolve_or(&key, SecretValue::parse("d")));
    }
}
