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

use alphaswarm_core::keys::{CredentialKey, KeyError, Store, store_name};

/// `key`'s name in `naming`; `Ok(None)` when the key cannot be named there
/// (too long, a forbidden shape): it cannot be stored there either.
pub(crate) fn name_in(key: &CredentialKey, naming: &Store) -> Result<Option<String>, KeyError> {
    match store_name(key, naming) {
        Ok(name) => Ok(Some(name.name)),
        Err(KeyError::UnnameableInStore { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}
