//! The [`SecretStore`](crate::SecretStore) implementations, one module each.

pub mod aws_secrets_manager;
pub mod azure_key_vault;
pub mod env;
pub mod file;
pub mod gcp_secret_manager;
pub mod integration;
pub mod m2m;
pub mod vault;

pub use aws_secrets_manager::AwsSecretsManagerStore;
pub use azure_key_vault::AzureKeyVaultStore;
pub use env::EnvStore;
pub use file::FileStore;
pub use gcp_secret_manager::GcpSecretManagerStore;
pub use integration::{IntegrationSecrets, IntegrationStore, StoredSecret};
pub use m2m::{M2mConfig, M2mStore};
pub use vault::{VaultAuth, VaultConfig, VaultStats, VaultStore};

use std::future::Future;
use std::time::SystemTime;

use alphaswarm_core::keys::{CredentialKey, KeyError, Store, store_name};
use alphaswarm_core::secret::SecretValue;

use crate::chain::Fetched;
use crate::error::StoreError;

/// `key`'s name in `naming`; `None` when the key cannot be named there (too
/// long, a forbidden shape): it cannot be stored there either.
pub(crate) fn name_in(key: &CredentialKey, naming: &Store) -> Option<String> {
    store_name(key, naming).ok().map(|name| name.name)
}

/// `key`'s name in `naming`, for `SecretStore::locate`.
pub(crate) fn locate_in(key: &CredentialKey, naming: &Store) -> Result<String, KeyError> {
    store_name(key, naming).map(|name| name.name)
}

/// The text (and expiry) stored under one name.
pub(crate) type Stored = Option<(String, Option<SystemTime>)>;

/// `SecretStore::fetch` of a store the core names keys for: name the key,
/// `read` that name, parse the text (JSON first, else `credential`).
pub(crate) async fn fetch_named<F, Fut>(
    key: &CredentialKey,
    naming: &Store,
    read: F,
) -> Result<Option<Fetched>, StoreError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Stored, StoreError>>,
{
    let Some(name) = name_in(key, naming) else {
        return Ok(None);
    };
    Ok(read(name).await?.map(|(text, expires_at)| Fetched {
        value: SecretValue::parse_for(key, &text),
        expires_at,
    }))
}
