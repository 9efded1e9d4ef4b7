//! The file store: `bootstrap_state_dir/<service>-<purpose>.json`, written by
//! bootstrap workflows (seed 002: the Polaris runtime principal, …).

use std::collections::BTreeMap;
use std::io::Read;

use alphaswarm_core::keys::{CredentialKey, KeyError, Store};
use alphaswarm_core::secret::SecretValue;
use async_trait::async_trait;

use crate::chain::{Fetched, SecretStore};
use crate::credential::Source;
use crate::error::StoreError;

/// A credential file is small; anything larger is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

pub struct FileStore {
    naming: Store,
}

impl FileStore {
    /// `dir` is validated by the core (no `..`, no control characters).
    pub fn new(bootstrap_state_dir: &str) -> Result<Self, KeyError> {
        let naming = Store::File {
            bootstrap_state_dir: bootstrap_state_dir.to_owned(),
        };
        naming.validate()?;
        Ok(FileStore { naming })
    }
}

#[async_trait]
impl SecretStore for FileStore {
    fn source(&self) -> Source {
        Source::File
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        let Store::File {
            bootstrap_state_dir,
        } = &self.naming
        else {
            return BTreeMap::new();
        };
        BTreeMap::from([
            ("bootstrap_state_dir", bootstrap_state_dir.clone()),
            ("naming", "<service>-<purpose>.json".to_owned()),
        ])
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        super::locate_in(key, &self.naming)
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        let Some(path) = super::name_in(key, &self.naming) else {
            return Ok(None);
        };
        let read = tokio::task::spawn_blocking(move || read_small(&path))
            .await
            .map_err(|_| StoreError::unexpected("the file read was interrupted"))?;
        match read {
            Ok(Some(text)) => Ok(Some(Fetched::new(SecretValue::parse_for(key, &text)))),
            Ok(None) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

fn read_small(path: &str) -> Result<Option<String>, StoreError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(StoreError::access_denied(
                format!("{path} cannot be read by this process"),
                "Give the workload's user read permission on the bootstrap state directory.",
            ));
        }
        Err(e) => {
            return Err(StoreError::invalid_payload(
                format!("{path} cannot be opened ({})", e.kind()),
                "Check the bootstrap state directory.",
            ));
        }
    };
    let mut text = String::new();
    let read = file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text);
    match read {
        Ok(n) if n as u64 > MAX_FILE_BYTES => Err(StoreError::invalid_payload(
            format!("{path} is larger than 1 MiB, which no credential is"),
            "Point the bootstrap state directory at the bootstrap output only.",
        )),
        Ok(_) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(StoreError::invalid_payload(
            format!("{path} is not UTF-8 text"),
            "Credential files are JSON (or plain text) in UTF-8.",
        )),
        Err(e) => Err(StoreError::invalid_payload(
            format!("{path} could not be read ({})", e.kind()),
            "Check the bootstrap state directory.",
        )),
    }
}
