//! HashiCorp Vault (and OpenBao) KV v2: `GET /v1/<mount>/data/<prefix><service>/<purpose>`
//! (seed 000), logged in with AppRole (or a pre-configured token), in the
//! namespace `ALPHASWARM_VAULT_NAMESPACE` when set.
//!
//! The token is renewed (`auth/token/renew-self`) once less than a third of
//! its lease is left; when renewal fails or is capped by the role's
//! `token_max_ttl`, the store logs in again. When a read is refused with 403,
//! `lookup-self` tells a dead token (revoked, expired early: log in once more
//! and retry) from a policy refusal (reported as access denied).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use alphaswarm_core::keys::{CredentialKey, KeyError, Store};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::chain::{Fetched, SecretStore};
use crate::clock::Clock;
use crate::credential::Source;
use crate::error::{StoreError, server_text};
use crate::http::{read, transport_error};

const APPROLE_MOUNT: &str = "approle";
const TOKEN_HEADER: &str = "x-vault-token";
const NAMESPACE_HEADER: &str = "x-vault-namespace";
/// Renew once less than `lease / RENEW_DIVISOR` is left.
const RENEW_DIVISOR: u32 = 3;

#[derive(Clone)]
pub enum VaultAuth {
    AppRole {
        role_id: String,
        secret_id: String,
    },
    /// A token the operator configured (`VAULT_TOKEN`); never renewed.
    Token(String),
}

impl std::fmt::Debug for VaultAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VaultAuth::AppRole { .. } => "AppRole(<redacted>)",
            VaultAuth::Token(_) => "Token(<redacted>)",
        })
    }
}

#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// `https://vault.example.com` (no `/v1`).
    pub addr: String,
    pub namespace: Option<String>,
    pub mount: String,
    pub prefix: String,
    pub auth: VaultAuth,
}

struct Session {
    token: String,
    /// Names the token for lookup and revocation; not a credential.
    accessor: Option<String>,
    /// `None`: the token does not expire (root, or a non-expiring configured token).
    expires_at: Option<SystemTime>,
    lease: Duration,
    renewable: bool,
}

/// Logins and renewals so far and the current token's accessor, for
/// diagnostics and tests. An accessor can look a token up or revoke it, never
/// read a secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultStats {
    pub logins: u64,
    pub renewals: u64,
    pub accessor: Option<String>,
}

pub struct VaultStore {
    config: VaultConfig,
    naming: Store,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    session: tokio::sync::Mutex<Option<Session>>,
    logins: AtomicU64,
    renewals: AtomicU64,
}

#[derive(Deserialize)]
struct AuthAnswer {
    auth: AuthBody,
}

#[derive(Deserialize)]
struct AuthBody {
    client_token: String,
    #[serde(default)]
    accessor: Option<String>,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

impl VaultStore {
    pub fn new(
        config: VaultConfig,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyError> {
        let naming = Store::VaultKv2 {
            mount: config.mount.clone(),
            prefix: config.prefix.clone(),
        };
        naming.validate()?;
        Ok(VaultStore {
            config,
            naming,
            http,
            clock,
            session: tokio::sync::Mutex::new(None),
            logins: AtomicU64::new(0),
            renewals: AtomicU64::new(0),
        })
    }

    pub async fn stats(&self) -> VaultStats {
        VaultStats {
            logins: self.logins.load(Ordering::Relaxed),
            renewals: self.renewals.load(Ordering::Relaxed),
            accessor: self
                .session
                .lock()
                .await
                .as_ref()
                .and_then(|s| s.accessor.clone()),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}/v1/{path}", self.config.addr.trim_end_matches('/'));
        let request = self.http.request(method, url);
        match &self.config.namespace {
            Some(namespace) => request.header(NAMESPACE_HEADER, namespace),
            None => request,
        }
    }

    fn session_from(&self, auth: AuthBody) -> Session {
        let lease = Duration::from_secs(auth.lease_duration);
        Session {
            token: auth.client_token,
            accessor: auth.accessor,
            expires_at: (auth.lease_duration > 0).then(|| self.clock.now() + lease),
            lease,
            renewable: auth.renewable,
        }
    }

    async fn login(&self) -> Result<Session, StoreError> {
        let (role_id, secret_id) = match &self.config.auth {
            VaultAuth::Token(token) => {
                return Ok(Session {
                    token: token.clone(),
                    accessor: None,
                    expires_at: None,
                    lease: Duration::ZERO,
                    renewable: false,
                });
            }
            VaultAuth::AppRole { role_id, secret_id } => (role_id, secret_id),
        };
        let who = "Vault AppRole login";
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("auth/{APPROLE_MOUNT}/login"),
            )
            .json(&json!({ "role_id": role_id, "secret_id": secret_id }))
            .send()
            .await
            .map_err(|e| transport_error(who, &e))?;
        let (status, text) = read(who, response).await?;
        if status != 200 {
            let detail = format!("{who} was refused ({status}: {})", vault_errors(&text));
            return Err(if status >= 500 {
                StoreError::unreachable(detail, "Vault failed or is sealed; check its status.")
            } else {
                StoreError::unauthenticated(
                    detail,
                    "Check ALPHASWARM_VAULT_ROLE_ID and ALPHASWARM_VAULT_SECRET_ID (a secret id expires after its secret_id_ttl or secret_id_num_uses).",
                )
            });
        }
        let answer: AuthAnswer = serde_json::from_str(&text)
            .map_err(|_| StoreError::unexpected(format!("{who} answered without a token")))?;
        self.logins.fetch_add(1, Ordering::Relaxed);
        Ok(self.session_from(answer.auth))
    }

    /// Renews `session`'s token; `None` when Vault refused or capped it too short.
    async fn renew(&self, session: &Session) -> Option<Session> {
        let response = self
            .request(reqwest::Method::POST, "auth/token/renew-self")
            .header(TOKEN_HEADER, &session.token)
            .json(&json!({ "increment": format!("{}s", session.lease.as_secs()) }))
            .send()
            .await
            .ok()?;
        if response.status().as_u16() != 200 {
            return None;
        }
        let answer: AuthAnswer = response.json().await.ok()?;
        let renewed = self.session_from(answer.auth);
        // Capped by token_max_ttl below the renewal margin: log in afresh instead.
        if renewed.lease < session.lease / RENEW_DIVISOR {
            return None;
        }
        self.renewals.fetch_add(1, Ordering::Relaxed);
        Some(renewed)
    }

    /// A token good for a while: the cached one, renewed, or a new login.
    /// Returns the token and whether it was issued just now.
    async fn token(&self, force_login: bool) -> Result<(String, bool), StoreError> {
        let mut slot = self.session.lock().await;
        let now = self.clock.now();
        if !force_login && let Some(session) = slot.as_ref() {
            let left = session
                .expires_at
                .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO));
            match left {
                None => return Ok((session.token.clone(), false)),
                Some(left) if left > session.lease / RENEW_DIVISOR => {
                    return Ok((session.token.clone(), false));
                }
                Some(left) if left > Duration::ZERO && session.renewable => {
                    if let Some(renewed) = self.renew(session).await {
                        let token = renewed.token.clone();
                        *slot = Some(renewed);
                        return Ok((token, false));
                    }
                }
                Some(_) => {}
            }
        }
        let session = self.login().await?;
        let token = session.token.clone();
        *slot = Some(session);
        Ok((token, true))
    }

    /// Whether Vault still knows `token` (`auth/token/lookup-self`), to tell
    /// a dead token from a policy refusal without logging in again.
    async fn token_is_valid(&self, token: &str) -> bool {
        let response = self
            .request(reqwest::Method::GET, "auth/token/lookup-self")
            .header(TOKEN_HEADER, token)
            .send()
            .await;
        response.is_ok_and(|r| r.status().as_u16() == 200)
    }

    async fn read_path(&self, path: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let who = "Vault";
        let (mut token, mut fresh) = self.token(false).await?;
        loop {
            let response = self
                .request(reqwest::Method::GET, path)
                .header(TOKEN_HEADER, &token)
                .send()
                .await
                .map_err(|e| transport_error(who, &e))?;
            let (status, text) = read(who, response).await?;
            match status {
                200 => return kv_data(path, &text),
                404 => return Ok(None),
                403 if !fresh && !self.token_is_valid(&token).await => {
                    // Revoked or expired early: log in once more.
                    (token, fresh) = self.token(true).await?;
                }
                403 => {
                    return Err(StoreError::access_denied(
                        format!(
                            "Vault refused reading {path} (403: {})",
                            vault_errors(&text)
                        ),
                        format!(
                            "Give the AppRole's token policy `read` on {path} (and nothing more)."
                        ),
                    ));
                }
                503 => {
                    return Err(StoreError::unreachable(
                        format!(
                            "Vault is sealed or unavailable (503: {})",
                            vault_errors(&text)
                        ),
                        "Unseal Vault or check its standby status.",
                    ));
                }
                _ => {
                    return Err(StoreError::unexpected(format!(
                        "Vault answered {status} reading {path}: {}",
                        vault_errors(&text)
                    )));
                }
            }
        }
    }
}

/// `data.data` of a KV v2 read; `None` for a deleted or destroyed latest version.
fn kv_data(path: &str, text: &str) -> Result<Option<serde_json::Value>, StoreError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        StoreError::unexpected(format!("Vault answered {path} in an unknown shape"))
    })?;
    match value.pointer("/data/data") {
        Some(serde_json::Value::Object(fields)) => {
            Ok(Some(serde_json::Value::Object(fields.clone())))
        }
        Some(serde_json::Value::Null) => Ok(None),
        _ => Err(StoreError::unexpected(format!(
            "Vault answered {path} without data.data: is the mount KV version 2?"
        ))),
    }
}

/// Vault's `{"errors": [...]}` as one line.
fn vault_errors(text: &str) -> String {
    let errors = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("errors").cloned())
        .and_then(|e| serde_json::from_value::<Vec<String>>(e).ok())
        .unwrap_or_default();
    if errors.is_empty() {
        "no error text".to_owned()
    } else {
        server_text(&errors.join("; "))
    }
}

#[async_trait]
impl SecretStore for VaultStore {
    fn source(&self) -> Source {
        Source::Vault
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        let mut settings = BTreeMap::from([
            ("addr", self.config.addr.clone()),
            ("mount", self.config.mount.clone()),
            ("prefix", self.config.prefix.clone()),
            (
                "auth",
                match self.config.auth {
                    VaultAuth::AppRole { .. } => "approle".to_owned(),
                    VaultAuth::Token(_) => "token (VAULT_TOKEN)".to_owned(),
                },
            ),
        ]);
        if let Some(namespace) = &self.config.namespace {
            settings.insert("namespace", namespace.clone());
        }
        settings
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        super::locate_in(key, &self.naming)
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        super::fetch_named(key, &self.naming, |path| async move {
            Ok(self
                .read_path(&path)
                .await?
                .map(|data| (data.to_string(), None)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_answers_in_every_state() {
        let ok = kv_data(
            "p",
            r#"{"data":{"data":{"password":"x"},"metadata":{"version":1}}}"#,
        )
        .unwrap();
        assert_eq!(ok.unwrap()["password"], "x");
        let deleted = kv_data(
            "p",
            r#"{"data":{"data":null,"metadata":{"deletion_time":"2026"}}}"#,
        );
        assert!(deleted.unwrap().is_none());
        // A KV v1 mount answers data without the inner data object.
        let v1 = kv_data("p", r#"{"data":{"password":"x"}}"#).unwrap_err();
        assert!(v1.detail.contains("version 2"));
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(
            vault_errors(r#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#),
            "1 error occurred:\\n\\t* permission denied"
        );
        assert_eq!(vault_errors("<html>"), "no error text");
    }
}
