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

/// One connection as stored (encrypted at rest). `Debug` names the
/// sensitive values and secrets but never shows them.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoredIntegration {
    pub org_id: String,
    pub kind: String,
    pub credential_key: String,
    /// The connection's state: `healthy` at connect, then the last check's verdict.
    pub status: String,
    pub connected_at: String,
    pub last_health_at: Option<String>,
    /// The last failed check's error code (seed 003's `error`).
    pub error: Option<String>,
    /// Shown as is in listings.
    pub metadata: BTreeMap<String, String>,
    /// Shown only masked (`<name>_masked`).
    pub sensitive: BTreeMap<String, String>,
    /// Account integrations (HuggingFace, Docker Hub): the user or org the
    /// token is used for; shown top-level as seed 003 does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Metadata that is a list (HuggingFace's `orgs`), shown inside `metadata`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, Vec<String>>,
    /// Tokens and PATs: never shown in any form, not even masked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// `healthy`, `degraded` or `failed`; `None` until a check has run.
    #[serde(default)]
    pub last_health_status: Option<String>,
    /// What the last check found and what to do about it (with `error`).
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub error_hint: Option<String>,
}

impl std::fmt::Debug for StoredIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredIntegration")
            .field("org_id", &self.org_id)
            .field("kind", &self.kind)
            .field("credential_key", &self.credential_key)
            .field("status", &self.status)
            .field("connected_at", &self.connected_at)
            .field("last_health_at", &self.last_health_at)
            .field("last_health_status", &self.last_health_status)
            .field("error", &self.error)
            .field("namespace", &self.namespace)
            .field("metadata", &self.metadata)
            .field("lists", &self.lists)
            .field("sensitive", &self.sensitive.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl StoredIntegration {
    /// The listing shape of API.md: metadata plus masked sensitive values;
    /// `secrets` never appear.
    pub fn masked(&self) -> serde_json::Value {
        let mut metadata = serde_json::Map::new();
        for (name, value) in &self.metadata {
            metadata.insert(name.clone(), value.clone().into());
        }
        for (name, values) in &self.lists {
            metadata.insert(name.clone(), values.clone().into());
        }
        for (name, value) in &self.sensitive {
            metadata.insert(format!("{name}_masked"), mask(value).into());
        }
        let mut shown = serde_json::json!({
            "org_id": self.org_id,
            "kind": self.kind,
            "credential_key": self.credential_key,
            "status": self.status,
            "connected_at": self.connected_at,
            "last_health_at": self.last_health_at,
            "last_health_status": self.last_health_status,
            "error": self.error,
            "error_message": self.error_message,
            "error_hint": self.error_hint,
            "metadata": metadata,
        });
        if let Some(namespace) = &self.namespace {
            shown["namespace"] = namespace.clone().into();
        }
        if let Some(rotation) = self.rotation(time::OffsetDateTime::now_utc().unix_timestamp()) {
            shown["rotation"] = serde_json::json!(rotation);
        }
        shown
    }

    /// For a kind whose stored token must be rotated (Cloudflare), the core's
    /// reminder at `now` (Unix seconds): due at `expires_on`, else 90 days
    /// after `connected_at`.
    pub fn rotation(&self, now: i64) -> Option<alphaswarm_core::rotation::RotationReminder> {
        use alphaswarm_core::timestamp::Timestamp;
        if !alphaswarm_core::rotation::applies_to(&self.kind) {
            return None;
        }
        let parse = |s: &str| Timestamp::parse(s, "timestamp").ok();
        let now = Timestamp::from_unix(now);
        let connected_at = parse(&self.connected_at).unwrap_or(now);
        let expires_on = self.metadata.get("expires_on").and_then(|e| parse(e));
        Some(alphaswarm_core::rotation::reminder(
            expires_on,
            connected_at,
            now,
        ))
    }
}

/// One health check's result for one record (the health fields only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthUpdate {
    pub credential_key: String,
    /// The checked record's `connected_at`: a record re-connected while it
    /// was being checked is newer and is left alone.
    pub connected_at: String,
    pub checked_at: String,
    pub status: String,
    pub error: Option<String>,
    pub error_message: Option<String>,
    pub error_hint: Option<String>,
}

impl HealthUpdate {
    /// Writes the result onto `record` if it is still the record checked.
    pub fn apply(&self, record: &mut StoredIntegration) -> bool {
        if record.credential_key != self.credential_key || record.connected_at != self.connected_at
        {
            return false;
        }
        record.status = self.status.clone();
        record.last_health_status = Some(self.status.clone());
        record.last_health_at = Some(self.checked_at.clone());
        record.error = self.error.clone();
        record.error_message = self.error_message.clone();
        record.error_hint = self.error_hint.clone();
        true
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
    /// Every record of one integration kind (e.g. `cloud_azure`), across orgs.
    async fn list_kind(&self, kind: &str) -> Result<Vec<StoredIntegration>, StoreError>;
    async fn count(&self) -> Result<usize, StoreError>;
    /// Every record (the organisations overview).
    async fn list_all(&self) -> Result<Vec<StoredIntegration>, StoreError>;
    /// Up to `limit` records in credential-key order, after the key `after`
    /// (from the start when `None`): the health sweep walks the store page
    /// by page, so a sweep never holds every record in memory.
    async fn list_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredIntegration>, StoreError>;
    /// Saves `record` unless another org holds a record of its kind whose
    /// metadata matches every `(name, value)` of `same` (case-insensitively;
    /// one cloud account serves one org): then nothing is written and that
    /// org's id is answered. This default reads, then writes; a database
    /// does both in one transaction, so two orgs racing for one account on
    /// two replicas cannot both win.
    async fn put_unless_claimed(
        &self,
        record: StoredIntegration,
        same: &[(String, String)],
    ) -> Result<Option<String>, StoreError> {
        if let Some(other) = claimed_by(&self.list_kind(&record.kind).await?, &record, same) {
            return Ok(Some(other));
        }
        self.put(record).await?;
        Ok(None)
    }
    /// Writes health results: only the health fields of each record, and
    /// only while it is the record that was checked ([`HealthUpdate::apply`]).
    /// Returns how many were written. This default reads and rewrites each
    /// record; a database updates those columns of one row per result, and
    /// the file store rewrites its file once per batch.
    async fn record_health(&self, updates: &[HealthUpdate]) -> Result<usize, StoreError> {
        let mut written = 0;
        for update in updates {
            if let Some(mut record) = self.get(&update.credential_key).await?
                && update.apply(&mut record)
            {
                self.put(record).await?;
                written += 1;
            }
        }
        Ok(written)
    }
}

/// The org of another org's record among `records` whose metadata matches
/// every `(name, value)` of `same`; none when `same` is empty.
pub fn claimed_by(
    records: &[StoredIntegration],
    record: &StoredIntegration,
    same: &[(String, String)],
) -> Option<String> {
    if same.is_empty() {
        return None;
    }
    records
        .iter()
        .find(|r| {
            r.org_id != record.org_id
                && r.kind == record.kind
                && same.iter().all(|(name, value)| {
                    r.metadata
                        .get(name)
                        .is_some_and(|v| v.eq_ignore_ascii_case(value))
                })
        })
        .map(|r| r.org_id.clone())
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
            next.insert(record.credential_key.clone(), self.encrypt(&record)?);
        }
        self.persist(&next).await?;
        *records = next;
        Ok(())
    }

    fn encrypt(&self, record: &StoredIntegration) -> Result<String, StoreError> {
        let plain = serde_json::to_vec(record).map_err(|_| StoreError::Corrupt {
            path: self.path.clone(),
        })?;
        Ok(self.fernet.encrypt(&plain))
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
        let token = self.encrypt(&record)?;
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

    async fn list_kind(&self, kind: &str) -> Result<Vec<StoredIntegration>, StoreError> {
        let prefix = format!("{kind}:");
        let tokens: Vec<String> = self
            .records
            .lock()
            .await
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(_, token)| token.clone())
            .collect();
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let record = self.decrypt(&token)?;
            if record.kind == kind {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn count(&self) -> Result<usize, StoreError> {
        Ok(self.records.lock().await.len())
    }

    async fn list_all(&self) -> Result<Vec<StoredIntegration>, StoreError> {
        let tokens: Vec<String> = self.records.lock().await.values().cloned().collect();
        tokens.iter().map(|t| self.decrypt(t)).collect()
    }

    async fn list_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredIntegration>, StoreError> {
        use std::ops::Bound;
        let start = after.map_or(Bound::Unbounded, |key| Bound::Excluded(key.to_owned()));
        let tokens: Vec<String> = self
            .records
            .lock()
            .await
            .range((start, Bound::Unbounded))
            .take(limit)
            .map(|(_, token)| token.clone())
            .collect();
        tokens.iter().map(|t| self.decrypt(t)).collect()
    }

    /// One rewrite of the file for the whole batch.
    async fn record_health(&self, updates: &[HealthUpdate]) -> Result<usize, StoreError> {
        let mut records = self.records.lock().await;
        let mut next = records.clone();
        let mut written = 0;
        for update in updates {
            let Some(token) = next.get(&update.credential_key) else {
                continue;
            };
            let mut record = self.decrypt(token)?;
            if update.apply(&mut record) {
                next.insert(record.credential_key.clone(), self.encrypt(&record)?);
                written += 1;
            }
        }
        if written > 0 {
            self.persist(&next).await?;
            *records = next;
        }
        Ok(written)
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
            ..StoredIntegration::default()
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

    #[tokio::test]
    async fn health_results_land_on_the_checked_record_only() {
        let dir = std::env::temp_dir().join(format!("alphaswarm-store-{}", uuid::Uuid::new_v4()));
        let store = FernetFileStore::open(
            dir.join("integrations.json"),
            &FernetFileStore::generate_key(),
        )
        .unwrap();
        store.put(record("acme")).await.unwrap();
        let mut reconnected = record("beta");
        reconnected.connected_at = "2026-02-02T00:00:00Z".into();
        store.put(reconnected.clone()).await.unwrap();
        let update = |org: &str| HealthUpdate {
            credential_key: format!("cloud_aws:org:{org}"),
            connected_at: "2026-01-01T00:00:00Z".into(),
            checked_at: "2026-03-03T00:00:00Z".into(),
            status: "failed".into(),
            error: Some("assume_role_access_denied".into()),
            error_message: Some("refused".into()),
            error_hint: Some("recreate the role".into()),
        };
        // beta was re-connected after the check started; gamma is gone.
        let written = store
            .record_health(&[update("acme"), update("beta"), update("gamma")])
            .await
            .unwrap();
        assert_eq!(written, 1);
        let acme = store.get("cloud_aws:org:acme").await.unwrap().unwrap();
        assert_eq!(
            (acme.status.as_str(), acme.last_health_status.as_deref()),
            ("failed", Some("failed"))
        );
        assert_eq!(acme.error.as_deref(), Some("assume_role_access_denied"));
        assert_eq!(
            store.get("cloud_aws:org:beta").await.unwrap().unwrap(),
            reconnected
        );
        assert_eq!(store.list_all().await.unwrap().len(), 2);
    }

    #[test]
    fn secrets_are_never_listed_and_older_records_still_read() {
        let mut with_token = record("acme");
        with_token.secrets = BTreeMap::from([("token".into(), "hf_secretsecretsecret123".into())]);
        with_token.lists = BTreeMap::from([("orgs".into(), vec!["acme-quant".into()])]);
        with_token.namespace = Some("acme-quant".into());
        let shown = with_token.masked();
        assert!(!shown.to_string().contains("secretsecret"), "{shown}");
        let debug = format!("{with_token:?}");
        assert!(
            debug.contains("token") && !debug.contains("secretsecret"),
            "{debug}"
        );
        assert!(!debug.contains("abcdef0123456789abcdef"), "{debug}");
        assert_eq!(shown["namespace"], "acme-quant");
        assert_eq!(shown["metadata"]["orgs"], serde_json::json!(["acme-quant"]));
        assert_eq!(shown["last_health_status"], serde_json::Value::Null);
        // A record written before these fields existed.
        let old = r#"{"org_id":"acme","kind":"cloud_aws","credential_key":"cloud_aws:org:acme","status":"healthy","connected_at":"2026-01-01T00:00:00Z","last_health_at":null,"error":null,"metadata":{},"sensitive":{}}"#;
        let parsed: StoredIntegration = serde_json::from_str(old).unwrap();
        assert!(parsed.secrets.is_empty() && parsed.last_health_status.is_none());
        assert!(record("acme").masked().get("namespace").is_none());
    }

    #[test]
    fn masking_keeps_at_most_four_characters() {
        assert_eq!(mask("short"), "****");
        assert_eq!(mask("abcdef0123456789abcdef"), "****cdef");
    }
}
