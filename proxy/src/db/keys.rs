//! The federation signing keys in the database ([`SigningKeyStore`]), so
//! every replica signs with and publishes the same keys.
//!
//! The ring is one Fernet token (`ALPHASWARM_ADMIN_INTEGRATIONS_KEY`) of its
//! JSON in the `meta` table, as the file era kept it in its file. A save is
//! a compare-and-swap against the token this process last read: when two
//! replicas generate or rotate at once, one wins and the other gets
//! [`KeyStoreError::Conflict`], reads the winner's ring and goes on with it.

use super::Database;
use crate::federation::keys::KeyRing;
use crate::federation::store::{KeyStoreError, SigningKeyStore};
use async_trait::async_trait;
use std::sync::Mutex;

const RING: &str = "federation_key_ring";

pub struct DbKeyStore {
    db: Database,
    fernet: fernet::Fernet,
    /// The token as last read or written here: what a save expects to replace.
    seen: Mutex<Option<String>>,
}

impl DbKeyStore {
    pub fn new(db: Database, key: &str) -> Result<Self, KeyStoreError> {
        Ok(DbKeyStore {
            db,
            fernet: fernet::Fernet::new(key.trim()).ok_or(KeyStoreError::BadKey)?,
            seen: Mutex::new(None),
        })
    }

    fn corrupt(&self, what: &str) -> KeyStoreError {
        KeyStoreError::Database(self.db.corrupt(what))
    }

    fn remember(&self, token: Option<String>) {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }
}

#[async_trait]
impl SigningKeyStore for DbKeyStore {
    async fn load(&self) -> Result<Option<KeyRing>, KeyStoreError> {
        let token = self.db.meta(RING).await?;
        let ring = match &token {
            None => None,
            Some(token) => {
                let plain = self.fernet.decrypt(token).map_err(|_| {
                    KeyStoreError::Database(super::DbError::WrongKey {
                        at: self.db.site().clone(),
                    })
                })?;
                Some(serde_json::from_slice(&plain).map_err(|_| {
                    self.corrupt("the federation key ring is not one this proxy wrote")
                })?)
            }
        };
        self.remember(token);
        Ok(ring)
    }

    async fn save(&self, ring: &KeyRing) -> Result<(), KeyStoreError> {
        let plain = serde_json::to_vec(ring)
            .map_err(|_| self.corrupt("the federation key ring could not be encoded"))?;
        let token = self.fernet.encrypt(&plain);
        let expected = self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if !self.db.meta_swap(RING, expected.as_deref(), &token).await? {
            return Err(KeyStoreError::Conflict);
        }
        self.remember(Some(token));
        Ok(())
    }
}
