//! What a resolution returns: a [`Credential`] and the [`Source`] it came from.

use std::time::SystemTime;

use alphaswarm_core::keys::CredentialKey;
use alphaswarm_core::secret::{SecretError, SecretValue};
use serde::Serialize;

/// Which kind of store answered (seed 002: `Credential.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Env,
    File,
    M2m,
    AwsSecretsManager,
    GcpSecretManager,
    AzureKeyVault,
    Vault,
    IntegrationStore,
    /// The caller's default: no store had the key.
    Default,
}

impl Source {
    pub const ALL: [Source; 9] = [
        Source::Env,
        Source::File,
        Source::M2m,
        Source::AwsSecretsManager,
        Source::GcpSecretManager,
        Source::AzureKeyVault,
        Source::Vault,
        Source::IntegrationStore,
        Source::Default,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::File => "file",
            Source::M2m => "m2m",
            Source::AwsSecretsManager => "aws_secrets_manager",
            Source::GcpSecretManager => "gcp_secret_manager",
            Source::AzureKeyVault => "azure_key_vault",
            Source::Vault => "vault",
            Source::IntegrationStore => "integration_store",
            Source::Default => "default",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolved secret. Field values are read with [`get`](Credential::get) or
/// [`require`](Credential::require); `Debug` shows field names only.
#[derive(Clone)]
pub struct Credential {
    key: CredentialKey,
    source: Source,
    value: SecretValue,
    expires_at: Option<SystemTime>,
}

impl Credential {
    pub fn new(
        key: CredentialKey,
        source: Source,
        value: SecretValue,
        expires_at: Option<SystemTime>,
    ) -> Self {
        Credential {
            key,
            source,
            value,
            expires_at,
        }
    }

    pub fn key(&self) -> &CredentialKey {
        &self.key
    }

    pub fn source(&self) -> Source {
        self.source
    }

    /// When the store said the value stops working (M2M tokens, minted
    /// credentials); `None` when it did not say.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Field names, sorted. Safe to show.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.value.field_names()
    }

    /// A string field; `None` when absent, `null` or not a string.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.value.get(field).and_then(serde_json::Value::as_str)
    }

    /// A field as stored (numbers, nested objects).
    pub fn get_value(&self, field: &str) -> Option<&serde_json::Value> {
        self.value.get(field)
    }

    /// A non-empty string field; the error names the key and the field, never a value.
    pub fn require(&self, field: &str) -> Result<&str, SecretError> {
        self.value.require_str(field)
    }

    pub fn value(&self) -> &SecretValue {
        &self.value
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("key", &self.key.to_string())
            .field("source", &self.source)
            .field("value", &self.value)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
