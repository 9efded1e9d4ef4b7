//! Credential keys and their names in each secret store (seeds 000, 002, 003).
//!
//! A [`CredentialKey`] is `(service, purpose)`, written `service:purpose`
//! (seed 003: `"credential_key": "huggingface:org:org-acme"`). The service
//! never contains `:`, so the first `:` splits the text form unambiguously.
//!
//! Every store has its own alphabet, so naming is a mapping, and three of the
//! mappings are lossy. Choices made where the seeds leave room:
//!
//! - **Env** `<SERVICE>_<PURPOSE>`, uppercased, `:` `-` `.` become `_`. Lossy.
//! - **File** `<dir>/<service>-<purpose>.json`. Injective (a service has no
//!   `-`); a purpose has no `/` and is never `.` or contains `..`, so the file
//!   always sits directly inside the directory.
//! - **Azure Key Vault** `<prefix>-<service>-<purpose>`: `:` and `.` become
//!   `-`, and `_` is *dropped*, as in seed 000's example where
//!   `("msal", "client_secret")` is stored as `alphaswarm-msal-clientsecret`.
//!   Lossy (`client_secret` meets `clientsecret`).
//! - **AWS Secrets Manager** `{prefix}<service>/<purpose>`: `:` becomes `/`
//!   ("slashes are first-class path separators"), so `org:org-acme` is stored
//!   under `alphaswarm/cloud_aws/org/org-acme`. Injective. A name ending in
//!   `-` plus six characters is refused (AWS appends such a suffix to ARNs).
//! - **GCP Secret Manager** `projects/{project}/secrets/{prefix}<service>-<purpose>`:
//!   `:` and `.` become `-`. Lossy.
//! - **Vault KV v2** `<mount>/data/<prefix><service>/<purpose>` and
//!   `<mount>/metadata/<prefix><service>/<purpose>`. The prefix (default
//!   `alphaswarm/`) reproduces seed 000's example
//!   `secret/data/alphaswarm/redis/password`; set it to `""` for the bare
//!   `<mount>/data/<service>/<purpose>` layout. `:` is kept (Vault paths allow
//!   it), so the mapping is injective.
//!
//! Lossy mappings never merge keys silently: [`find_collisions`] reports every
//! pair of keys that meet in a store.

use crate::error::CoreError;
use crate::ids::{CloudKind, IdKind, OrgId, check_rule};
use crate::rule::{self, Reason, Rule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------- errors

/// Why a key, a store option or a key-in-a-store was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{field} is not a valid credential key part: {reason}")]
    InvalidCredentialKey { field: &'static str, reason: Reason },
    #[error("{store} option {field} is not valid: {reason}")]
    InvalidStoreOption {
        store: &'static str,
        field: &'static str,
        reason: Reason,
    },
    #[error("credential key {key} cannot be named in {store}: {reason}")]
    UnnameableInStore {
        store: &'static str,
        key: String,
        reason: Reason,
        hint: &'static str,
    },
}

impl CoreError for KeyError {
    fn code(&self) -> &'static str {
        match self {
            KeyError::InvalidCredentialKey { .. } => "invalid_credential_key",
            KeyError::InvalidStoreOption { .. } => "invalid_store_option",
            KeyError::UnnameableInStore { .. } => "unnameable_in_store",
        }
    }
    fn field(&self) -> Option<&str> {
        Some(match self {
            KeyError::InvalidCredentialKey { field, .. }
            | KeyError::InvalidStoreOption { field, .. } => field,
            KeyError::UnnameableInStore { .. } => "credential_key",
        })
    }
    fn hint(&self) -> String {
        match self {
            KeyError::InvalidCredentialKey { field, .. } => match *field {
                "service" => "A service is 1-64 lowercase letters, digits or _, starting with a letter (e.g. cloud_aws).",
                "purpose" => "A purpose is 1-128 letters, digits or _ . : - without '..' (e.g. org:org-acme).",
                _ => "Write a credential key as service:purpose, e.g. cloud_aws:org:org-acme.",
            }
            .to_owned(),
            KeyError::InvalidStoreOption { field, .. } => match *field {
                "bootstrap_state_dir" => "Give a directory path without NUL, control characters or '..' segments.",
                "mount" => "A Vault mount is one or more /-separated segments of letters, digits, _ . - (e.g. secret).",
                "project" => "Give the GCP project id (e.g. alphaswarm-prod) or the project number.",
                _ => "Use the store's default prefix, or one made only of characters the store allows.",
            }
            .to_owned(),
            KeyError::UnnameableInStore { hint, .. } => (*hint).to_owned(),
        }
    }
}

fn key_part_error(field: &'static str) -> impl Fn(Reason) -> KeyError {
    move |reason| KeyError::InvalidCredentialKey { field, reason }
}

// ---------------------------------------------------------------- CredentialKey

pub const SERVICE_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: |c| rule::is_lower_alnum(c) || c == '_',
    allowed_desc: "a-z, 0-9 and _",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: None,
};

pub const PURPOSE_RULE: Rule = Rule {
    min: 1,
    max: 128,
    allowed: |c| rule::is_alnum(c) || "_.:-".contains(c),
    allowed_desc: "letters, digits and _ . : -",
    first: None,
    last: None,
};

/// Where a credential lives: `(service, purpose)`, e.g. `("cloud_aws", "org:org-acme")`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify), tsify(type = "string"))]
#[serde(try_from = "String", into = "String")]
pub struct CredentialKey {
    service: String,
    purpose: String,
}

impl CredentialKey {
    pub fn new(service: &str, purpose: &str) -> Result<Self, KeyError> {
        SERVICE_RULE
            .check(service)
            .map_err(key_part_error("service"))?;
        PURPOSE_RULE
            .check(purpose)
            .map_err(key_part_error("purpose"))?;
        // "." and ".." would be path segments of their own in Vault and
        // file layouts; refuse them everywhere so every store agrees.
        if purpose == "." || purpose.contains("..") {
            return Err(KeyError::InvalidCredentialKey {
                field: "purpose",
                reason: Reason::Format {
                    expected: "no '..' and not '.' alone",
                },
            });
        }
        Ok(CredentialKey {
            service: service.to_owned(),
            purpose: purpose.to_owned(),
        })
    }

    /// The key an integration of `kind` (e.g. `cloud_aws`, `huggingface`) for
    /// `org` is persisted under: `(kind, "org:<org_id>")`.
    pub fn for_integration(kind: &str, org: &OrgId) -> Result<Self, KeyError> {
        CredentialKey::new(kind, &org.purpose())
    }

    /// The key a cloud connection of `org` is persisted under (step 5),
    /// e.g. `cloud_aws:org:org-acme`. Infallible: an integration kind and
    /// `org:<valid org id>` always satisfy the key rules (tested below).
    pub fn for_cloud(cloud: CloudKind, org: &OrgId) -> Self {
        CredentialKey {
            service: cloud.integration_kind().to_owned(),
            purpose: org.purpose(),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }
    pub fn purpose(&self) -> &str {
        &self.purpose
    }
}

impl std::fmt::Display for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.purpose)
    }
}

impl std::str::FromStr for CredentialKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let (service, purpose) = s.split_once(':').ok_or(KeyError::InvalidCredentialKey {
            field: "credential_key",
            reason: Reason::Format {
                expected: "service:purpose",
            },
        })?;
        CredentialKey::new(service, purpose)
    }
}

impl TryFrom<String> for CredentialKey {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        s.parse()
    }
}

impl From<CredentialKey> for String {
    fn from(key: CredentialKey) -> String {
        key.to_string()
    }
}

// ---------------------------------------------------------------- stores

pub const DEFAULT_AZURE_PREFIX: &str = "alphaswarm";
pub const DEFAULT_AWS_PREFIX: &str = "alphaswarm/";
pub const DEFAULT_GCP_PREFIX: &str = "alphaswarm-";
pub const DEFAULT_VAULT_MOUNT: &str = "secret";
pub const DEFAULT_VAULT_PREFIX: &str = "alphaswarm/";

fn default_azure_prefix() -> String {
    DEFAULT_AZURE_PREFIX.to_owned()
}
fn default_aws_prefix() -> String {
    DEFAULT_AWS_PREFIX.to_owned()
}
fn default_gcp_prefix() -> String {
    DEFAULT_GCP_PREFIX.to_owned()
}
fn default_vault_mount() -> String {
    DEFAULT_VAULT_MOUNT.to_owned()
}
fn default_vault_prefix() -> String {
    DEFAULT_VAULT_PREFIX.to_owned()
}

/// A secret store of the resolver chain, with its naming options.
/// Omitted prefixes and mounts take the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Store {
    Env,
    File {
        bootstrap_state_dir: String,
    },
    AzureKeyVault {
        #[serde(default = "default_azure_prefix")]
        prefix: String,
    },
    AwsSecretsManager {
        #[serde(default = "default_aws_prefix")]
        prefix: String,
    },
    GcpSecretManager {
        project: String,
        #[serde(default = "default_gcp_prefix")]
        prefix: String,
    },
    VaultKv2 {
        #[serde(default = "default_vault_mount")]
        mount: String,
        #[serde(default = "default_vault_prefix")]
        prefix: String,
    },
}

/// Where a key lives in one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct StoreName {
    /// The env var, file path, secret name, full GCP resource name or Vault data path.
    pub name: String,
    /// Vault KV v2 only: the metadata path (versions, deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_path: Option<String>,
    /// GCP only: the bare secret id (the last segment of `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
}

impl StoreName {
    fn plain(name: String) -> Self {
        StoreName {
            name,
            metadata_path: None,
            secret_id: None,
        }
    }
}

/// Env var names: POSIX portable, as the env store builds them.
pub const ENV_NAME_RULE: Rule = Rule {
    min: 1,
    max: 256,
    allowed: |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_',
    allowed_desc: "A-Z, 0-9 and _",
    first: Some((|c| c.is_ascii_uppercase(), "an uppercase letter")),
    last: None,
};

/// Key Vault secret names: `^[A-Za-z][A-Za-z0-9-]*$`, 1-127.
pub const KEY_VAULT_NAME_RULE: Rule = Rule {
    min: 1,
    max: 127,
    allowed: |c| rule::is_alnum(c) || c == '-',
    allowed_desc: "letters, digits and -",
    first: Some((rule::is_letter, "a letter")),
    last: None,
};

/// Secrets Manager names: `[A-Za-z0-9/_+=.@-]`, 1-512.
pub const SECRETS_MANAGER_NAME_RULE: Rule = Rule {
    min: 1,
    max: 512,
    allowed: is_secrets_manager_char,
    allowed_desc: "letters, digits and / _ + = . @ -",
    first: None,
    last: None,
};

/// Secret Manager secret ids: `[A-Za-z0-9_-]`, 1-255.
pub const GCP_SECRET_ID_RULE: Rule = Rule {
    min: 1,
    max: 255,
    allowed: is_gcp_secret_char,
    allowed_desc: "letters, digits, _ and -",
    first: None,
    last: None,
};

/// GCP project ids: `^[a-z][a-z0-9-]{4,28}[a-z0-9]$`.
const GCP_PROJECT_ID_RULE: Rule = Rule {
    min: 6,
    max: 30,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

/// One segment of a Vault path (mount, prefix or key part).
const VAULT_SEGMENT_RULE: Rule = Rule {
    min: 1,
    max: 256,
    allowed: |c| rule::is_alnum(c) || "_.:-".contains(c),
    allowed_desc: "letters, digits and _ . : -",
    first: None,
    last: None,
};

fn is_secrets_manager_char(c: char) -> bool {
    rule::is_alnum(c) || "/_+=.@-".contains(c)
}
fn is_gcp_secret_char(c: char) -> bool {
    rule::is_alnum(c) || c == '_' || c == '-'
}

/// Longest bootstrap directory accepted (Linux PATH_MAX).
const MAX_DIR_LEN: usize = 4096;

impl Store {
    pub fn azure_key_vault() -> Self {
        Store::AzureKeyVault {
            prefix: default_azure_prefix(),
        }
    }
    pub fn aws_secrets_manager() -> Self {
        Store::AwsSecretsManager {
            prefix: default_aws_prefix(),
        }
    }
    pub fn gcp_secret_manager(project: &str) -> Self {
        Store::GcpSecretManager {
            project: project.to_owned(),
            prefix: default_gcp_prefix(),
        }
    }
    pub fn vault_kv2() -> Self {
        Store::VaultKv2 {
            mount: default_vault_mount(),
            prefix: default_vault_prefix(),
        }
    }

    /// Human name used in messages.
    pub fn label(&self) -> &'static str {
        match self {
            Store::Env => "the env store",
            Store::File { .. } => "the file store",
            Store::AzureKeyVault { .. } => "Azure Key Vault",
            Store::AwsSecretsManager { .. } => "AWS Secrets Manager",
            Store::GcpSecretManager { .. } => "GCP Secret Manager",
            Store::VaultKv2 { .. } => "Vault KV v2",
        }
    }

    /// Checks the store's own options (directory, prefix, mount, project).
    pub fn validate(&self) -> Result<(), KeyError> {
        let store = self.label();
        let option = |field: &'static str| {
            move |reason| KeyError::InvalidStoreOption {
                store,
                field,
                reason,
            }
        };
        match self {
            Store::Env => Ok(()),
            Store::File {
                bootstrap_state_dir,
            } => check_dir(bootstrap_state_dir).map_err(option("bootstrap_state_dir")),
            Store::AzureKeyVault { prefix } => check_prefix(
                prefix,
                &Rule {
                    max: 100,
                    ..KEY_VAULT_NAME_RULE
                },
            )
            .map_err(option("prefix")),
            Store::AwsSecretsManager { prefix } => check_prefix(
                prefix,
                &Rule {
                    max: 400,
                    ..SECRETS_MANAGER_NAME_RULE
                },
            )
            .map_err(option("prefix")),
            Store::GcpSecretManager { project, prefix } => {
                check_gcp_project(project).map_err(option("project"))?;
                check_prefix(
                    prefix,
                    &Rule {
                        max: 60,
                        ..GCP_SECRET_ID_RULE
                    },
                )
                .map_err(option("prefix"))
            }
            Store::VaultKv2 { mount, prefix } => {
                check_vault_path(mount).map_err(option("mount"))?;
                if prefix.is_empty() {
                    return Ok(());
                }
                let Some(inner) = prefix.strip_suffix('/') else {
                    return Err(option("prefix")(Reason::BadLastChar { expected: "/" }));
                };
                check_vault_path(inner).map_err(option("prefix"))
            }
        }
    }
}

/// An empty prefix means "no prefix"; otherwise it must satisfy `rule`.
fn check_prefix(prefix: &str, rule: &Rule) -> Result<(), Reason> {
    if prefix.is_empty() {
        Ok(())
    } else {
        rule.check(prefix)
    }
}

fn check_dir(dir: &str) -> Result<(), Reason> {
    let rule = Rule {
        min: 1,
        max: MAX_DIR_LEN,
        allowed: |c| !c.is_control(),
        allowed_desc: "printable characters",
        first: None,
        last: None,
    };
    rule.check(dir)?;
    if dir.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(Reason::Format {
            expected: "a directory without '..' segments",
        });
    }
    Ok(())
}

fn check_gcp_project(project: &str) -> Result<(), Reason> {
    // Secret Manager accepts the project id or the project number.
    let is_number =
        !project.is_empty() && project.len() <= 20 && project.bytes().all(|b| b.is_ascii_digit());
    if is_number {
        return Ok(());
    }
    check_rule(IdKind::GcpProjectId, &GCP_PROJECT_ID_RULE, project).map_err(|e| e.reason)
}

/// `/`-separated segments, none empty, `.` or `..`.
fn check_vault_path(path: &str) -> Result<(), Reason> {
    if path.is_empty() {
        return Err(Reason::Empty);
    }
    let len = path.chars().take(1025).count();
    if len > 1024 {
        return Err(Reason::TooLong {
            max: 1024,
            len: path.chars().count(),
        });
    }
    for segment in path.split('/') {
        VAULT_SEGMENT_RULE
            .check(segment)
            .map_err(|reason| match reason {
                Reason::Empty => Reason::Format {
                    expected: "segments separated by single '/', without a leading or trailing '/'",
                },
                other => other,
            })?;
        if segment == "." || segment == ".." {
            return Err(Reason::Format {
                expected: "no '.' or '..' segments",
            });
        }
    }
    Ok(())
}

/// Maps `text` into a store's alphabet: `Some(c)` replaces, `None` drops.
fn map_chars(text: &str, map: impl Fn(char) -> Option<char>) -> String {
    text.chars().filter_map(map).collect()
}

/// The name of `key` in `store`, or why it has none there.
pub fn store_name(key: &CredentialKey, store: &Store) -> Result<StoreName, KeyError> {
    store.validate()?;
    let unnameable = |reason: Reason, hint: &'static str| KeyError::UnnameableInStore {
        store: store.label(),
        key: key.to_string(),
        reason,
        hint,
    };
    let (service, purpose) = (key.service(), key.purpose());
    match store {
        Store::Env => {
            let name = map_chars(&format!("{service}_{purpose}"), |c| {
                Some(match c.to_ascii_uppercase() {
                    c @ ('A'..='Z' | '0'..='9' | '_') => c,
                    _ => '_',
                })
            });
            ENV_NAME_RULE
                .check(&name)
                .map_err(|r| unnameable(r, "Use a shorter purpose."))?;
            Ok(StoreName::plain(name))
        }
        Store::File {
            bootstrap_state_dir,
        } => {
            let dir = bootstrap_state_dir.trim_end_matches('/');
            Ok(StoreName::plain(format!("{dir}/{service}-{purpose}.json")))
        }
        Store::AzureKeyVault { prefix } => {
            let key_part = map_chars(&format!("{service}-{purpose}"), |c| match c {
                '_' => None,
                c if c.is_ascii_alphanumeric() || c == '-' => Some(c),
                _ => Some('-'),
            });
            let name = if prefix.is_empty() {
                key_part
            } else {
                format!("{prefix}-{key_part}")
            };
            KEY_VAULT_NAME_RULE.check(&name).map_err(|r| {
                unnameable(
                    r,
                    "Key Vault names are at most 127 characters: use a shorter prefix or purpose.",
                )
            })?;
            Ok(StoreName::plain(name))
        }
        Store::AwsSecretsManager { prefix } => {
            let purpose = map_chars(purpose, |c| Some(if c == ':' { '/' } else { c }));
            let name = format!("{prefix}{service}/{purpose}");
            SECRETS_MANAGER_NAME_RULE.check(&name).map_err(|r| {
                unnameable(
                    r,
                    "Secrets Manager names are at most 512 characters: use a shorter prefix or purpose.",
                )
            })?;
            if ends_like_arn_suffix(&name) {
                return Err(unnameable(
                    Reason::Format {
                        expected: "a name that does not end in '-' followed by six characters",
                    },
                    "AWS appends '-' and six random characters to secret ARNs, so a name ending like that is ambiguous. Store this key in another store, or use a purpose that does not end that way.",
                ));
            }
            Ok(StoreName::plain(name))
        }
        Store::GcpSecretManager { project, prefix } => {
            let key_part = map_chars(&format!("{service}-{purpose}"), |c| {
                Some(if is_gcp_secret_char(c) { c } else { '-' })
            });
            let secret_id = format!("{prefix}{key_part}");
            GCP_SECRET_ID_RULE.check(&secret_id).map_err(|r| {
                unnameable(
                    r,
                    "Secret Manager ids are at most 255 characters: use a shorter prefix or purpose.",
                )
            })?;
            Ok(StoreName {
                name: format!("projects/{project}/secrets/{secret_id}"),
                metadata_path: None,
                secret_id: Some(secret_id),
            })
        }
        Store::VaultKv2 { mount, prefix } => {
            let path = format!("{prefix}{service}/{purpose}");
            Ok(StoreName {
                name: format!("{mount}/data/{path}"),
                metadata_path: Some(format!("{mount}/metadata/{path}")),
                secret_id: None,
            })
        }
    }
}

/// True when `name` ends in `-` plus six characters, the shape of the random
/// suffix AWS appends to secret ARNs.
pub fn ends_like_arn_suffix(name: &str) -> bool {
    let tail: Vec<char> = name.chars().rev().take(7).collect();
    tail.len() == 7 && tail[6] == '-'
}

// ---------------------------------------------------------------- collisions

/// Two distinct keys that a store would keep under the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Collision {
    pub name: String,
    pub keys: [CredentialKey; 2],
}

/// Every pair of distinct keys in `keys` that `store` maps to the same name,
/// ordered by name and then by key. Keys that cannot be named in the store
/// (or all keys, when the store's options are invalid: check
/// [`Store::validate`] first) cannot collide and are skipped; duplicates of
/// one key are not a collision.
pub fn find_collisions(keys: &[CredentialKey], store: &Store) -> Vec<Collision> {
    let mut by_name: BTreeMap<String, Vec<&CredentialKey>> = BTreeMap::new();
    for key in keys {
        if let Ok(named) = store_name(key, store) {
            by_name.entry(named.name).or_default().push(key);
        }
    }
    let mut collisions = Vec::new();
    for (name, mut group) in by_name {
        group.sort();
        group.dedup();
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                collisions.push(Collision {
                    name: name.clone(),
                    keys: [(*a).clone(), (*b).clone()],
                });
            }
        }
    }
    collisions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(service: &str, purpose: &str) -> CredentialKey {
        CredentialKey::new(service, purpose).expect("valid test key")
    }

    fn name(k: &CredentialKey, store: &Store) -> String {
        store_name(k, store).expect("nameable").name
    }

    #[test]
    fn seed_000_examples_are_reproduced() {
        assert_eq!(
            name(&key("msal", "client_secret"), &Store::azure_key_vault()),
            "alphaswarm-msal-clientsecret"
        );
        assert_eq!(
            name(&key("broker", "api_key"), &Store::aws_secrets_manager()),
            "alphaswarm/broker/api_key"
        );
        let gcp = store_name(
            &key("postgres", "password"),
            &Store::gcp_secret_manager("alphaswarm-prod"),
        )
        .unwrap();
        assert_eq!(
            gcp.secret_id.as_deref(),
            Some("alphaswarm-postgres-password")
        );
        assert_eq!(
            gcp.name,
            "projects/alphaswarm-prod/secrets/alphaswarm-postgres-password"
        );
        let vault = store_name(&key("redis", "password"), &Store::vault_kv2()).unwrap();
        assert_eq!(vault.name, "secret/data/alphaswarm/redis/password");
        assert_eq!(
            vault.metadata_path.as_deref(),
            Some("secret/metadata/alphaswarm/redis/password")
        );
        let file = Store::File {
            bootstrap_state_dir: "data/bootstrap/".into(),
        };
        assert_eq!(
            name(&key("polaris", "principal"), &file),
            "data/bootstrap/polaris-principal.json"
        );
    }

    #[test]
    fn integration_keys_in_every_store() {
        let org = OrgId::parse("org-acme").unwrap();
        let k = CredentialKey::for_integration("cloud_aws", &org).unwrap();
        assert_eq!(k.to_string(), "cloud_aws:org:org-acme");
        assert_eq!(name(&k, &Store::Env), "CLOUD_AWS_ORG_ORG_ACME");
        assert_eq!(
            name(&k, &Store::azure_key_vault()),
            "alphaswarm-cloudaws-org-org-acme"
        );
        assert_eq!(
            name(&k, &Store::aws_secrets_manager()),
            "alphaswarm/cloud_aws/org/org-acme"
        );
        assert_eq!(
            name(&k, &Store::gcp_secret_manager("123456789012")),
            "projects/123456789012/secrets/alphaswarm-cloud_aws-org-org-acme"
        );
        assert_eq!(
            name(&k, &Store::vault_kv2()),
            "secret/data/alphaswarm/cloud_aws/org:org-acme"
        );
        for cloud in CloudKind::ALL {
            for org in [
                org.clone(),
                OrgId::platform(),
                OrgId::parse(&"a".repeat(64)).unwrap(),
            ] {
                let direct = CredentialKey::for_cloud(cloud, &org);
                let checked = CredentialKey::for_integration(cloud.integration_kind(), &org);
                assert_eq!(checked.as_ref(), Ok(&direct));
            }
        }
        let platform = CredentialKey::for_integration("cloud_gcp", &OrgId::platform()).unwrap();
        assert_eq!(platform.purpose(), "org:__platform__");
        assert_eq!(name(&platform, &Store::Env), "CLOUD_GCP_ORG___PLATFORM__");
    }

    #[test]
    fn text_form_round_trips_and_validates_through_serde() {
        let k: CredentialKey = serde_json::from_str(r#""huggingface:org:org-acme""#).unwrap();
        assert_eq!((k.service(), k.purpose()), ("huggingface", "org:org-acme"));
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            r#""huggingface:org:org-acme""#
        );
        for bad in [
            r#""nocolon""#,
            r#""Upper:x""#,
            r#""svc:a/b""#,
            r#""svc:..""#,
            r#"":x""#,
            r#""svc:""#,
        ] {
            assert!(
                serde_json::from_str::<CredentialKey>(bad).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn invalid_keys_name_the_field() {
        let cases = [
            ("", "x", "service"),
            ("1abc", "x", "service"),
            ("Cloud", "x", "service"),
            ("a-b", "x", "service"),
            ("svc", "", "purpose"),
            ("svc", "a/b", "purpose"),
            ("svc", "a..b", "purpose"),
            ("svc", ".", "purpose"),
            ("svc", "a b", "purpose"),
            ("svc", "a\0b", "purpose"),
            ("svc", "é", "purpose"),
        ];
        for (service, purpose, field) in cases {
            let err = CredentialKey::new(service, purpose).unwrap_err();
            assert_eq!(err.code(), "invalid_credential_key");
            assert_eq!(err.field(), Some(field), "{service:?} {purpose:?}");
        }
        assert!(CredentialKey::new(&"a".repeat(64), &"b".repeat(128)).is_ok());
        assert!(CredentialKey::new(&"a".repeat(65), "b").is_err());
        assert!(CredentialKey::new("a", &"b".repeat(129)).is_err());
    }

    #[test]
    fn store_serde_uses_kind_tag_camel_case_and_defaults() {
        let store: Store = serde_json::from_str(r#"{"kind":"vault_kv2"}"#).unwrap();
        assert_eq!(store, Store::vault_kv2());
        let store: Store =
            serde_json::from_str(r#"{"kind":"gcp_secret_manager","project":"alphaswarm-prod"}"#)
                .unwrap();
        assert_eq!(store, Store::gcp_secret_manager("alphaswarm-prod"));
        let file = Store::File {
            bootstrap_state_dir: "/var/lib/a".into(),
        };
        assert_eq!(
            serde_json::to_value(&file).unwrap(),
            serde_json::json!({"kind": "file", "bootstrapStateDir": "/var/lib/a"})
        );
        assert_eq!(
            serde_json::to_value(Store::aws_secrets_manager()).unwrap(),
            serde_json::json!({"kind": "aws_secrets_manager", "prefix": "alphaswarm/"})
        );
    }

    #[test]
    fn aws_refuses_names_that_look_like_an_arn_suffix() {
        let k = key("cloud_aws", "org:org-abcdef");
        let err = store_name(&k, &Store::aws_secrets_manager()).unwrap_err();
        assert_eq!(err.code(), "unnameable_in_store");
        assert_eq!(err.field(), Some("credential_key"));
        assert!(err.hint().contains("six"), "{}", err.hint());
        // Five or seven characters after the hyphen are fine.
        assert!(
            store_name(
                &key("cloud_aws", "org:org-abcde"),
                &Store::aws_secrets_manager()
            )
            .is_ok()
        );
        assert!(
            store_name(
                &key("cloud_aws", "org:org-abcdefg"),
                &Store::aws_secrets_manager()
            )
            .is_ok()
        );
        assert!(ends_like_arn_suffix("a-bcdefg"));
        assert!(!ends_like_arn_suffix("-bcdef"));
    }

    #[test]
    fn too_long_names_are_unnameable_not_truncated() {
        let k = key(&"s".repeat(64), &"p".repeat(128));
        let err = store_name(&k, &Store::azure_key_vault()).unwrap_err();
        assert_eq!(err.code(), "unnameable_in_store");
        assert!(matches!(
            err,
            KeyError::UnnameableInStore {
                reason: Reason::TooLong { max: 127, .. },
                ..
            }
        ));
        // The same key fits where the limits are larger.
        assert!(store_name(&k, &Store::aws_secrets_manager()).is_ok());
        assert!(store_name(&k, &Store::gcp_secret_manager("alphaswarm-prod")).is_ok());
    }

    #[test]
    fn store_options_are_validated() {
        let k = key("svc", "p");
        let cases = [
            (
                Store::File {
                    bootstrap_state_dir: "".into(),
                },
                "bootstrap_state_dir",
            ),
            (
                Store::File {
                    bootstrap_state_dir: "/data/../etc".into(),
                },
                "bootstrap_state_dir",
            ),
            (
                Store::File {
                    bootstrap_state_dir: "/data\0".into(),
                },
                "bootstrap_state_dir",
            ),
            (
                Store::File {
                    bootstrap_state_dir: "/data\n".into(),
                },
                "bootstrap_state_dir",
            ),
            (
                Store::AzureKeyVault {
                    prefix: "1abc".into(),
                },
                "prefix",
            ),
            (
                Store::AzureKeyVault {
                    prefix: "al_pha".into(),
                },
                "prefix",
            ),
            (
                Store::AwsSecretsManager {
                    prefix: "a b/".into(),
                },
                "prefix",
            ),
            (
                Store::GcpSecretManager {
                    project: "Bad".into(),
                    prefix: "".into(),
                },
                "project",
            ),
            (
                Store::GcpSecretManager {
                    project: "ok-project".into(),
                    prefix: "a/b".into(),
                },
                "prefix",
            ),
            (
                Store::VaultKv2 {
                    mount: "".into(),
                    prefix: "".into(),
                },
                "mount",
            ),
            (
                Store::VaultKv2 {
                    mount: "/secret".into(),
                    prefix: "".into(),
                },
                "mount",
            ),
            (
                Store::VaultKv2 {
                    mount: "secret/../sys".into(),
                    prefix: "".into(),
                },
                "mount",
            ),
            (
                Store::VaultKv2 {
                    mount: "secret".into(),
                    prefix: "alphaswarm".into(),
                },
                "prefix",
            ),
            (
                Store::VaultKv2 {
                    mount: "secret".into(),
                    prefix: "a//".into(),
                },
                "prefix",
            ),
        ];
        for (store, field) in cases {
            let err = store_name(&k, &store).unwrap_err();
            assert_eq!(err.code(), "invalid_store_option", "{store:?}");
            assert_eq!(err.field(), Some(field), "{store:?}");
            assert!(!err.hint().is_empty());
        }
        // Empty prefixes mean "no prefix".
        assert_eq!(
            name(&k, &Store::AzureKeyVault { prefix: "".into() }),
            "svc-p"
        );
        assert_eq!(
            name(
                &k,
                &Store::VaultKv2 {
                    mount: "kv/team".into(),
                    prefix: "".into()
                }
            ),
            "kv/team/data/svc/p"
        );
    }

    #[test]
    fn collisions_report_every_pair() {
        let keys = [
            key("svc", "org:a-b"),
            key("svc", "org-a:b"),
            key("svc", "org_a_b"),
            key("svc", "other"),
            key("svc", "org:a-b"), // duplicate of the first: not a collision
        ];
        let found = find_collisions(&keys, &Store::Env);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|c| c.name == "SVC_ORG_A_B"));
        assert!(found.iter().all(|c| c.keys[0] < c.keys[1]));
        // The injective stores keep them apart.
        assert!(find_collisions(&keys, &Store::aws_secrets_manager()).is_empty());
        assert!(find_collisions(&keys, &Store::vault_kv2()).is_empty());
        let azure = find_collisions(
            &[key("msal", "client_secret"), key("msal", "clientsecret")],
            &Store::azure_key_vault(),
        );
        assert_eq!(azure.len(), 1);
        assert_eq!(azure[0].name, "alphaswarm-msal-clientsecret");
    }
}
