//! GCP Secret Manager: `…/secrets/{prefix}<service>-<purpose>/versions/latest:access`
//! (seed 000), with a bearer token from Application Default Credentials.
//! The payload's `dataCrc32c` is verified when present.
//!
//! Endpoint: `ALPHASWARM_GCP_SECRETMANAGER_ENDPOINT` (a Private Service
//! Connect endpoint, or a test fake), else `https://secretmanager.googleapis.com`.

use std::collections::BTreeMap;

use alphaswarm_core::keys::{CredentialKey, KeyError, Store};
use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;

use crate::auth::gcp::{GcpCredentials, google_error_text};
use crate::chain::{Fetched, SecretStore};
use crate::credential::Source;
use crate::error::StoreError;
use crate::http::{read, transport_error};

pub const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com";

pub struct GcpSecretManagerStore {
    naming: Store,
    endpoint: String,
    credentials: GcpCredentials,
    http: reqwest::Client,
}

impl GcpSecretManagerStore {
    pub fn new(
        project: &str,
        prefix: &str,
        endpoint: String,
        credentials: GcpCredentials,
        http: reqwest::Client,
    ) -> Result<Self, KeyError> {
        let naming = Store::GcpSecretManager {
            project: project.to_owned(),
            prefix: prefix.to_owned(),
        };
        naming.validate()?;
        Ok(GcpSecretManagerStore {
            naming,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            credentials,
            http,
        })
    }

    async fn access(&self, name: &str) -> Result<Option<String>, StoreError> {
        let who = "Secret Manager";
        let url = format!("{}/v1/{name}/versions/latest:access", self.endpoint);
        let mut retried = false;
        loop {
            let token = self.credentials.token().await?;
            let response = self
                .http
                .get(&url)
                .bearer_auth(&token.secret)
                .send()
                .await
                .map_err(|e| transport_error(who, &e))?;
            let (status, text) = read(who, response).await?;
            let what = || {
                format!(
                    "{who} refused access to {name} ({status} {})",
                    google_error_text(&text)
                )
            };
            return match status {
                200 => payload_text(name, &text).map(Some),
                404 => Ok(None),
                401 if !retried => {
                    // The token was revoked or expired early: fetch a new one once.
                    self.credentials.invalidate().await;
                    retried = true;
                    continue;
                }
                401 => Err(StoreError::unauthenticated(
                    what(),
                    "Check the workload's Application Default Credentials (alphaswarm-resolve describe).",
                )),
                403 => Err(StoreError::access_denied(
                    what(),
                    format!(
                        "Grant roles/secretmanager.secretAccessor on {name} to this workload's identity."
                    ),
                )),
                400 => Err(StoreError::invalid_payload(
                    what(),
                    "The latest version is disabled or destroyed: enable a version or add a new one.",
                )),
                429 | 500.. => Err(StoreError::unreachable(
                    what(),
                    "Secret Manager is throttling or failing; try again shortly.",
                )),
                _ => Err(StoreError::unexpected(what())),
            };
        }
    }
}

/// The decoded payload, checked against `dataCrc32c` when the server sent one.
fn payload_text(name: &str, body: &str) -> Result<String, StoreError> {
    #[derive(Deserialize)]
    struct Access {
        payload: Payload,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        #[serde(default)]
        data: String,
        data_crc32c: Option<String>,
    }
    let access: Access = serde_json::from_str(body).map_err(|_| {
        StoreError::unexpected(format!("Secret Manager answered {name} without a payload"))
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(access.payload.data)
        .map_err(|_| {
            StoreError::unexpected(format!(
                "Secret Manager sent {name} with a payload that is not base64"
            ))
        })?;
    if let Some(expected) = access.payload.data_crc32c
        && expected.parse::<u64>().ok() != Some(u64::from(crc32c(&bytes)))
    {
        return Err(StoreError::unexpected(format!(
            "the payload of {name} failed its CRC32C check (corrupted in transit)"
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        StoreError::invalid_payload(
            format!("secret {name} holds binary data that is not UTF-8 text"),
            "Store the credential as JSON or plain text.",
        )
    })
}

/// CRC-32C (Castagnoli), as Secret Manager computes `dataCrc32c`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[async_trait]
impl SecretStore for GcpSecretManagerStore {
    fn source(&self) -> Source {
        Source::GcpSecretManager
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        let Store::GcpSecretManager { project, prefix } = &self.naming else {
            return BTreeMap::new();
        };
        BTreeMap::from([
            ("project", project.clone()),
            ("prefix", prefix.clone()),
            ("endpoint", self.endpoint.clone()),
            ("credentials", self.credentials.describe()),
        ])
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        super::locate_in(key, &self.naming)
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        super::fetch_named(key, &self.naming, |name| async move {
            Ok(self.access(&name).await?.map(|text| (text, None)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_answers() {
        // RFC 3720 B.4 test vectors.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn payloads_are_checked() {
        let data = base64::engine::general_purpose::STANDARD.encode("hello");
        let good = format!(
            r#"{{"name":"n","payload":{{"data":"{data}","dataCrc32c":"{}"}}}}"#,
            crc32c(b"hello")
        );
        assert_eq!(payload_text("n", &good).unwrap(), "hello");
        let bad = format!(r#"{{"name":"n","payload":{{"data":"{data}","dataCrc32c":"1"}}}}"#);
        assert!(
            payload_text("n", &bad)
                .unwrap_err()
                .detail
                .contains("CRC32C")
        );
    }
}
