//! The env store (always on, the chain's safety net): `<SERVICE>_<PURPOSE>`.
//!
//! The variable holds the whole value (JSON first, else `credential`). For a
//! key with a field map (seed 002) the credential may instead be given one
//! variable per field, `<SERVICE>_<PURPOSE>_<FIELD>`, e.g.
//! `POLARIS_OAUTH_CLIENT_ID` and `POLARIS_OAUTH_CLIENT_SECRET`.

use std::collections::BTreeMap;

use alphaswarm_core::keys::{CredentialKey, KeyError, Store};
use alphaswarm_core::secret::SecretValue;
use async_trait::async_trait;

use crate::chain::{Fetched, SecretStore};
use crate::credential::Source;
use crate::environment::Environment;
use crate::error::StoreError;
use crate::fields::field_map;

pub struct EnvStore {
    env: Environment,
}

impl EnvStore {
    pub fn new(env: Environment) -> Self {
        EnvStore { env }
    }
}

#[async_trait]
impl SecretStore for EnvStore {
    fn source(&self) -> Source {
        Source::Env
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([("naming", "<SERVICE>_<PURPOSE>[_<FIELD>]".to_owned())])
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        super::locate_in(key, &Store::Env)
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        let Some(name) = super::name_in(key, &Store::Env) else {
            return Ok(None);
        };
        if let Some(raw) = self.env.get(&name) {
            return Ok(Some(Fetched::new(SecretValue::parse_for(key, raw))));
        }
        let Some(map) = field_map(key) else {
            return Ok(None);
        };
        let fields: serde_json::Map<String, serde_json::Value> = map
            .fields
            .iter()
            .filter_map(|field| {
                let var = format!("{name}_{}", field.to_ascii_uppercase());
                self.env
                    .get(&var)
                    .map(|value| ((*field).to_owned(), value.into()))
            })
            .collect();
        if fields.is_empty() {
            return Ok(None);
        }
        let raw = serde_json::Value::Object(fields).to_string();
        Ok(Some(Fetched::new(SecretValue::parse_for(key, &raw))))
    }
}
