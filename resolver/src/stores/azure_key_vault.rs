//! Azure Key Vault: `GET {vault}/secrets/alphaswarm-<service>-<purpose>?api-version=7.5`
//! (seed 000) with a bearer token for the vault's resource.
//!
//! A 401 carries a challenge (`WWW-Authenticate: Bearer authorization=…,
//! resource=…`). The store asks for a token for the resource of the vault's
//! cloud up front; on a 401 it takes a fresh token once, and follows a
//! challenge to another resource only when that resource's domain is the
//! vault's own (as the Azure SDKs verify), so a hostile vault URL cannot
//! collect a token for something else.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use alphaswarm_core::keys::{CredentialKey, KeyError, Store};
use async_trait::async_trait;
use serde::Deserialize;

use crate::auth::azure::AzureCredential;
use crate::chain::{Fetched, SecretStore};
use crate::credential::Source;
use crate::error::{StoreError, server_text};
use crate::http::{check_url, read, transport_error};

pub const API_VERSION: &str = "7.5";

/// Vault DNS suffixes per cloud and the resource their tokens are for.
const CLOUDS: [(&str, &str); 4] = [
    (".vault.azure.net", "https://vault.azure.net"),
    (".vault.azure.cn", "https://vault.azure.cn"),
    (
        ".vault.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net",
    ),
    (
        ".vault.microsoftazure.de",
        "https://vault.microsoftazure.de",
    ),
];

pub struct AzureKeyVaultStore {
    naming: Store,
    vault_url: String,
    scope: String,
    credential: AzureCredential,
    http: reqwest::Client,
}

/// The token scope for a vault URL's cloud (public cloud for other hosts).
pub fn scope_for(vault: &reqwest::Url) -> String {
    let host = vault.host_str().unwrap_or_default();
    let resource = CLOUDS
        .iter()
        .find(|(suffix, _)| host.ends_with(suffix))
        .map_or(CLOUDS[0].1, |(_, resource)| resource);
    format!("{resource}/.default")
}

impl AzureKeyVaultStore {
    pub fn new(
        vault_url: &str,
        credential: AzureCredential,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let parsed = check_url(vault_url)?;
        let naming = Store::azure_key_vault();
        naming.validate().map_err(|e| e.to_string())?;
        Ok(AzureKeyVaultStore {
            naming,
            scope: scope_for(&parsed),
            vault_url: vault_url.trim_end_matches('/').to_owned(),
            credential,
            http,
        })
    }

    async fn get_secret(
        &self,
        name: &str,
    ) -> Result<Option<(String, Option<SystemTime>)>, StoreError> {
        let who = "Key Vault";
        let url = format!(
            "{}/secrets/{name}?api-version={API_VERSION}",
            self.vault_url
        );
        let mut scope = self.scope.clone();
        let mut retried = false;
        loop {
            let token = self.credential.token(&scope).await?;
            let response = self
                .http
                .get(&url)
                .bearer_auth(&token.secret)
                .send()
                .await
                .map_err(|e| transport_error(who, &e))?;
            let challenge = response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(Challenge::parse);
            let (status, text) = read(who, response).await?;
            let error = KeyVaultError::parse(&text);
            let what = || format!("{who} refused {name} ({status} {})", error.describe());
            return match status {
                200 => secret_value(name, &text).map(Some),
                404 if error.code == "SecretNotFound" => Ok(None),
                401 if !retried => {
                    retried = true;
                    self.credential.invalidate(&scope).await;
                    if let Some(asked) = challenge.as_ref().and_then(|c| c.scope())
                        && asked != scope
                    {
                        scope = self.follow(&asked)?;
                    }
                    continue;
                }
                401 => Err(StoreError::unauthenticated(
                    format!(
                        "{}{}",
                        what(),
                        challenge
                            .and_then(|c| c.authorization)
                            .map(|a| format!(
                                "; the vault expects a token from {}",
                                server_text(&a)
                            ))
                            .unwrap_or_default()
                    ),
                    "The token is for another tenant or resource: check AZURE_TENANT_ID and that the identity belongs to the vault's tenant.",
                )),
                403 if error.inner == "SecretDisabled" || error.message.contains("disabled") => {
                    Err(StoreError::invalid_payload(
                        what(),
                        "Enable the secret (or its current version) in the vault.",
                    ))
                }
                403 => Err(StoreError::access_denied(
                    what(),
                    format!(
                        "Assign this identity the Key Vault Secrets User role on the vault (or on secret {name}), or a Get secret access policy."
                    ),
                )),
                429 | 500.. => Err(StoreError::unreachable(
                    what(),
                    "Key Vault is throttling or failing; try again shortly.",
                )),
                _ => Err(StoreError::unexpected(what())),
            };
        }
    }

    /// Accepts a challenge's scope only for the vault's own domain.
    fn follow(&self, asked: &str) -> Result<String, StoreError> {
        let vault_host = reqwest::Url::parse(&self.vault_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let asked_host = reqwest::Url::parse(asked)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if !asked_host.is_empty() && vault_host.ends_with(&format!(".{asked_host}")) {
            Ok(asked.to_owned())
        } else {
            Err(StoreError::unauthenticated(
                format!(
                    "Key Vault challenged for a token for {}, which is not the vault's domain",
                    server_text(asked)
                ),
                "Check ALPHASWARM_AZURE_KEYVAULT_URL: it must be the vault's own URL.",
            ))
        }
    }
}

/// The bearer challenge of a 401.
struct Challenge {
    authorization: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
}

impl Challenge {
    fn parse(header: &str) -> Challenge {
        let params = header.trim().strip_prefix("Bearer").unwrap_or(header);
        let mut challenge = Challenge {
            authorization: None,
            resource: None,
            scope: None,
        };
        for part in params.split(',') {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_owned();
            match name.trim() {
                "authorization" | "authorization_uri" => challenge.authorization = Some(value),
                "resource" => challenge.resource = Some(value),
                "scope" => challenge.scope = Some(value),
                _ => {}
            }
        }
        challenge
    }

    /// The scope asked for: `scope`, else `resource` + `/.default`.
    fn scope(&self) -> Option<String> {
        self.scope.clone().or_else(|| {
            self.resource
                .as_ref()
                .map(|r| format!("{}/.default", r.trim_end_matches('/')))
        })
    }
}

struct KeyVaultError {
    code: String,
    inner: String,
    message: String,
}

impl KeyVaultError {
    fn parse(body: &str) -> Self {
        let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let text = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned()
        };
        KeyVaultError {
            code: text("/error/code"),
            inner: text("/error/innererror/code"),
            message: text("/error/message"),
        }
    }

    fn describe(&self) -> String {
        let code = if self.inner.is_empty() {
            self.code.clone()
        } else {
            format!("{}/{}", self.code, self.inner)
        };
        server_text(&format!("{code}: {}", self.message))
    }
}

/// The secret's value and its `exp` attribute.
fn secret_value(name: &str, body: &str) -> Result<(String, Option<SystemTime>), StoreError> {
    #[derive(Deserialize)]
    struct Bundle {
        value: Option<String>,
        #[serde(default)]
        attributes: Attributes,
    }
    #[derive(Deserialize, Default)]
    struct Attributes {
        exp: Option<u64>,
    }
    let bundle: Bundle = serde_json::from_str(body).map_err(|_| {
        StoreError::unexpected(format!("Key Vault answered {name} in an unknown shape"))
    })?;
    let value = bundle.value.ok_or_else(|| {
        StoreError::unexpected(format!("Key Vault answered {name} without a value"))
    })?;
    let expires_at = bundle
        .attributes
        .exp
        .map(|exp| SystemTime::UNIX_EPOCH + Duration::from_secs(exp));
    Ok((value, expires_at))
}

#[async_trait]
impl SecretStore for AzureKeyVaultStore {
    fn source(&self) -> Source {
        Source::AzureKeyVault
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        let Store::AzureKeyVault { prefix } = &self.naming else {
            return BTreeMap::new();
        };
        BTreeMap::from([
            ("vault_url", self.vault_url.clone()),
            ("prefix", prefix.clone()),
            ("scope", self.scope.clone()),
            ("credentials", self.credential.describe()),
        ])
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        super::locate_in(key, &self.naming)
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        super::fetch_named(key, &self.naming, |name| async move {
            self.get_secret(&name).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_in_both_spellings() {
        let c = Challenge::parse(
            r#"Bearer authorization="https://login.microsoftonline.com/72f988bf", resource="https://vault.azure.net""#,
        );
        assert_eq!(
            c.authorization.as_deref(),
            Some("https://login.microsoftonline.com/72f988bf")
        );
        assert_eq!(
            c.scope().as_deref(),
            Some("https://vault.azure.net/.default")
        );
        let c = Challenge::parse(
            r#"Bearer authorization="https://login.microsoftonline.com/t", scope="https://vault.azure.net/.default""#,
        );
        assert_eq!(
            c.scope().as_deref(),
            Some("https://vault.azure.net/.default")
        );
    }

    #[test]
    fn scope_follows_the_vault_cloud() {
        let scope = |u: &str| scope_for(&reqwest::Url::parse(u).unwrap());
        assert_eq!(
            scope("https://alphaswarm-vault.vault.azure.net/"),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            scope("https://v.vault.azure.cn"),
            "https://vault.azure.cn/.default"
        );
        assert_eq!(
            scope("https://v.vault.usgovcloudapi.net"),
            "https://vault.usgovcloudapi.net/.default"
        );
        assert_eq!(
            scope("http://127.0.0.1:9"),
            "https://vault.azure.net/.default"
        );
    }

    #[test]
    fn secret_bundles_carry_expiry() {
        let (value, exp) = secret_value(
            "n",
            r#"{"value":"v","attributes":{"enabled":true,"exp":100}}"#,
        )
        .unwrap();
        assert_eq!(value, "v");
        assert_eq!(exp, Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100)));
        assert!(secret_value("n", r#"{"id":"x"}"#).is_err());
    }
}
