//! Where connections are kept: the [`IntegrationStore`] trait and its
//! default, a Fernet-encrypted JSON file.
//!
//! File shape: `{"format", "key_check", "records": {credential_key: token}}`
//! where each token is one Fernet-encrypted [`StoredIntegration`] and
//! `key_check` is a Fernet token of a constant, so a wrong key is caught at
//! start-up rather than on first read. Every write goes to a temp file in
//! the same directory, is fsynced, renamed over the store and the directory
//! fsynced, under one mutex: a crash leaves the old or the new file, and
//! concurrent writers are serialised so none is lost.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

/// The file's `format` (also what `alphaswarm-proxy export` writes).
pub const FORMAT: &str = "alphaswarm-integrations/1";
/// What `key_check` decrypts to under the right key (the database keeps one too).
pub const KEY_CHECK_PLAINTEXT: &[u8] = b"alphaswarm-integrations-key-check";

/// One connection as stored (encrypted at rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIntegration {
    pub org_id: String,
    pub kind: String,
    pub credential_key: String,
    pub status: String,
    pub connected_at: String,
    pub last_health_at: Option<String>,
    pub error: Option<String>,
    /// Shown as is in listings.
    pub metadata: BTreeMap<String, String>,
    /// Shown only masked (`<name>_masked`); tokens of token-based clouds live here.
    pub sensitive: BTreeMap<String, String>,
}

impl StoredIntegration {
    /// The listing shape of API.md: metadata plus masked sensitive values.
    pub fn masked(&self) -> serde_json::Value {
        let mut metadata = serde_json::Map::new();
        for (name, value) in &self.metadata {
            metadata.insert(name.clone(), value.clone().into());
        }
        for (name, value) in &self.sensitive {
            metadata.insert(format!("{name}_masked"), mask(value).into());
        }
        serde_json::json!({
            "org_id": self.org_id,
            "kind": self.kind,
            "credential_key": self.credential_key,
            "status": self.status,
            "connected_at": self.connected_at,
            "last_health_at": self.last_health_at,
            "error": self.error,
            "metadata": metadata,
        })
    }
}

/// Keeps the last four characters of long values, nothing of short ones.
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count < 16 {
        return "****".to_owned();
    }
    let tail: String = value.chars().skip(count - 4).collect();
    format!("****{tail}")
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the integrations store at {path} cannot be written or read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the integrations store at {path} is not a store file this proxy understands")]
    Corrupt { path: PathBuf },
    #[error("the integrations store at {path} was written with a different key")]
    WrongKey { path: PathBuf },
    #[error("ALPHASWARM_ADMIN_INTEGRATIONS_KEY is not a Fernet key (32 bytes, URL-safe base64)")]
    BadKey,
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "store_unavailable",
            StoreError::Corrupt { .. } => "store_corrupt",
            StoreError::WrongKey { .. } => "store_wrong_key",
            StoreError::BadKey => "invalid_integrations_key",
            StoreError::Database(e) => e.code(),
        }
    }
}

#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Inserts or replaces the record under its credential key; durable on return.
    async fn put(&self, record: StoredIntegration) -> Result<(), StoreError>;
    /// Removes a record; `false` when there was none.
    async fn remove(&self, credential_key: &str) -> Result<bool, StoreError>;
    async fn get(&self, credential_key: &str) -> Result<Option<StoredIntegration>, StoreError>;
    /// Every record of one org.
    async fn list_org(&self, org_id: &str) -> Result<Vec<StoredIntegration>, StoreError>;
    async fn count(&self) -> Result<usize, StoreError>;
}

/// The file as JSON: every record a Fernet token under its credential key.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoreFile {
    pub format: String,
    pub key_check: String,
    pub records: BTreeMap<String, String>,
}

/// The default store: one Fernet-encrypted record per key in a JSON file.
pub struct FernetFileStore {
    path: PathBuf,
    fernet: fernet::Fernet,
    /// Encrypted records as on disk; the lock also serialises writers.
    records: Mutex<BTreeMap<String, String>>,
    key_check: String,
}

impl FernetFileStore {
    /// Opens (or creates on first write) the store at `path` with a Fernet key.
    pub fn open(path: PathBuf, key: &str) -> Result<Self, StoreError> {
        let fernet = fernet::Fernet::new(key.trim()).ok_or(StoreError::BadKey)?;
        remove_stale_temp_files(&path);
        let (records, key_check) = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: StoreFile = serde_json::from_slice(&bytes)
                    .ok()
                    .filter(|f: &StoreFile| f.format == FORMAT)
                    .ok_or_else(|| StoreError::Corrupt { path: path.clone() })?;
                match fernet.decrypt(&file.key_check) {
                    Ok(plain) if plain == KEY_CHECK_PLAINTEXT => {}
                    _ => return Err(StoreError::WrongKey { path }),
                }
                (file.records, file.key_check)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let check = fernet.encrypt(KEY_CHECK_PLAINTEXT);
                (BTreeMap::new(), check)
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        Ok(FernetFileStore {
            path,
            fernet,
            records: Mutex::new(records),
            key_check,
        })
    }

    /// A fresh random key, for the ephemeral development store and for tests.
    pub fn generate_key() -> String {
        fernet::Fernet::generate_key()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts many records with one write (imports, benchmarks).
    pub async fn put_many(&self, batch: Vec<StoredIntegration>) -> Result<(), StoreError> {
        let mut records = self.records.lock().await;
        let mut next = records.clone();
        for record in batch {
            let plain = serde_json::to_vec(&record).map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
            })?;
            next.insert(record.credential_key.clone(), self.fernet.encrypt(&plain));
        }
        self.persist(&next).await?;
        *records = next;
        Ok(())
    }

    fn decrypt(&self, token: &str) -> Result<StoredIntegration, StoreError> {
        let plain = self
            .fernet
            .decrypt(token)
            .map_err(|_| StoreError::WrongKey {
                path: self.path.clone(),
            })?;
        serde_json::from_slice(&plain).map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
        })
    }

    async fn persist(&self, records: &BTreeMap<String, String>) -> Result<(), StoreError> {
        let file = StoreFile {
            format: FORMAT.to_owned(),
            key_check: self.key_check.clone(),
            records: records.clone(),
        };
        let bytes = serde_json::to_vec(&file).map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
        })?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| StoreError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// A crash between creating and renaming a temp file leaves it behind; the
/// store itself is intact, so the leftovers are only removed.
fn remove_stale_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{name}.");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if file.starts_with(&prefix) && file.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Temp file in the same directory, fsync, rename over, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("store");
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[async_trait]
impl IntegrationStore for FernetFileStore {
    async fn put(&self, record: StoredIntegration) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(&record).map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
        })?;
        let token = self.fernet.encrypt(&plain);
        let mut records = self.records.lock().await;
        let mut next = records.clone();
        next.insert(record.credential_key.clone(), token);
        self.persist(&next).await?;
        *records = next;
        Ok(())
    }

    async fn remove(&self, credential_key: &str) -> Result<bool, StoreError> {
        let mut records = self.records.lock().await;
        if !records.contains_key(credential_key) {
            return Ok(false);
        }
        let mut next = records.clone();
        next.remove(credential_key);
        self.persist(&next).await?;
        *records = next;
        Ok(true)
    }

    async fn get(&self, credential_key: &str) -> Result<Option<StoredIntegration>, StoreError> {
        let token = self.records.lock().await.get(credential_key).cloned();
        token.map(|t| self.decrypt(&t)).transpose()
    }

    async fn list_org(&self, org_id: &str) -> Result<Vec<StoredIntegration>, StoreError> {
        let suffix = format!(":org:{org_id}");
        let tokens: Vec<String> = self
            .records
            .lock()
            .await
            .iter()
            .filter(|(key, _)| key.ends_with(&suffix))
            .map(|(_, token)| token.clone())
            .collect();
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let record = self.decrypt(&token)?;
            if record.org_id == org_id {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn count(&self) -> Result<usize, StoreError> {
        Ok(self.records.lock().await.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(org: &str) -> StoredIntegration {
        StoredIntegration {
            org_id: org.into(),
            kind: "cloud_aws".into(),
            credential_key: format!("cloud_aws:org:{org}"),
            status: "healthy".into(),
            connected_at: "2026-01-01T00:00:00Z".into(),
            last_health_at: None,
            error: None,
            metadata: BTreeMap::from([("account_id".into(), "123456789012".into())]),
            sensitive: BTreeMap::from([("external_id".into(), "abcdef0123456789abcdef".into())]),
        }
    }

    #[tokio::test]
    async fn records_survive_reopening_and_are_encrypted_at_rest() {
        let dir = std::env::temp_dir().join(format!("alphaswarm-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("integrations.json");
        let key = FernetFileStore::generate_key();
        let store = FernetFileStore::open(path.clone(), &key).unwrap();
        store.put(record("acme")).await.unwrap();
        store.put(record("beta")).await.unwrap();
        assert!(store.remove("cloud_aws:org:beta").await.unwrap());
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(!raw.contains("abcdef0123456789abcdef") && !raw.contains("123456789012"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let reopened = FernetFileStore::open(path.clone(), &key).unwrap();
        assert_eq!(
            reopened.list_org("acme").await.unwrap(),
            vec![record("acme")]
        );
        assert!(reopened.list_org("beta").await.unwrap().is_empty());
        let other = FernetFileStore::generate_key();
        assert!(matches!(
            FernetFileStore::open(path, &other),
            Err(StoreError::WrongKey { .. })
        ));
    }

    #[test]
    fn a_bad_key_is_refused_without_echoing_it() {
        let err = FernetFileStore::open("/nonexistent/x.json".into(), "not-a-key-canary")
            .err()
            .unwrap();
        assert_eq!(err.code(), "invalid_integrations_key");
        assert!(!err.to_string().contains("canary"));
    }

    #[test]
    fn masking_keeps_at_most_four_characters() {
        assert_eq!(mask("short"), "****");
        assert_eq!(mask("abcdef0123456789abcdef"), "****cdef");
    }
}
