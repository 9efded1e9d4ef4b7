//! Where the issuer's signing keys live: the [`SigningKeyStore`] trait and
//! its default, one Fernet-encrypted file in the state directory.
//!
//! File shape: `{"format": "alphaswarm-federation-keys/1", "ring": <Fernet
//! token of the key ring's JSON>}`; writes are atomic (temp + fsync +
//! rename + dir fsync). The file is re-read only when it changed on disk,
//! so `alphaswarm-proxy federation-keys rotate` run beside a serving proxy
//! takes effect on the proxy's next request without a restart.

use super::keys::KeyRing;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FORMAT: &str = "alphaswarm-federation-keys/1";

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("the federation signing keys at {path} cannot be read or written: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the federation signing keys at {path} are not a key file this proxy understands")]
    Corrupt { path: PathBuf },
    #[error(
        "the federation signing keys at {path} were encrypted with a different key (ALPHASWARM_ADMIN_INTEGRATIONS_KEY, or the development key file beside them)"
    )]
    WrongKey { path: PathBuf },
    #[error("the key that encrypts the federation signing keys is not a Fernet key")]
    BadKey,
    #[error("the federation signing keys in the database cannot be used: {0}")]
    Database(#[from] crate::db::DbError),
    /// Another replica saved the ring since this one read it: read again.
    #[error("the federation signing keys were changed by another replica meanwhile")]
    Conflict,
}

/// The issuer's key ring behind a trait, so several replicas can later share
/// it from a database (issue 11) instead of a file.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// The ring as last saved (by this process or another); `None` before the first save.
    async fn load(&self) -> Result<Option<KeyRing>, KeyStoreError>;
    /// Replaces the ring; durable on return.
    async fn save(&self, ring: &KeyRing) -> Result<(), KeyStoreError>;
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    ring: String,
}

/// What identifies one version of the file on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<std::time::SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(meta),
        }
    }
}

/// The default store: one Fernet-encrypted file, cached until it changes.
pub struct FernetFileKeyStore {
    path: PathBuf,
    fernet: fernet::Fernet,
    cache: Mutex<Option<(Stamp, KeyRing)>>,
}

impl FernetFileKeyStore {
    pub fn new(path: PathBuf, key: &str) -> Result<Self, KeyStoreError> {
        Ok(FernetFileKeyStore {
            path,
            fernet: fernet::Fernet::new(key.trim()).ok_or(KeyStoreError::BadKey)?,
            cache: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> KeyStoreError {
        KeyStoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<Option<KeyRing>, KeyStoreError> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let stamp = Stamp::of(&meta);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, ring)) = cache.as_ref()
            && *cached == stamp
        {
            return Ok(Some(ring.clone()));
        }
        let bytes = std::fs::read(&self.path).map_err(|e| self.io(e))?;
        let corrupt = || KeyStoreError::Corrupt {
            path: self.path.clone(),
        };
        let file: KeyFile = serde_json::from_slice(&bytes).map_err(|_| corrupt())?;
        if file.format != FORMAT {
            return Err(corrupt());
        }
        let plain = self
            .fernet
            .decrypt(&file.ring)
            .map_err(|_| KeyStoreError::WrongKey {
                path: self.path.clone(),
            })?;
        let ring: KeyRing = serde_json::from_slice(&plain).map_err(|_| corrupt())?;
        *cache = Some((stamp, ring.clone()));
        Ok(Some(ring))
    }
}

#[async_trait]
impl SigningKeyStore for FernetFileKeyStore {
    async fn load(&self) -> Result<Option<KeyRing>, KeyStoreError> {
        self.read()
    }

    async fn save(&self, ring: &KeyRing) -> Result<(), KeyStoreError> {
        let plain = serde_json::to_vec(ring).map_err(|_| KeyStoreError::Corrupt {
            path: self.path.clone(),
        })?;
        let file = KeyFile {
            format: FORMAT.to_owned(),
            ring: self.fernet.encrypt(&plain),
        };
        let bytes = serde_json::to_vec(&file).map_err(|_| KeyStoreError::Corrupt {
            path: self.path.clone(),
        })?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || crate::store::write_atomically(&path, &bytes))
            .await
            .map_err(|e| self.io(std::io::Error::other(e)))?
            .map_err(|e| self.io(e))?;
        // The next read sees the new stamp and reloads (cheap, and it proves
        // what was written can be read back).
        Ok(())
    }
}
