//! The proxy as AlphaSwarm's OIDC issuer for workload identity federation
//! (Entra federated credentials now, GCP workload identity pools next).
//!
//! - The issuer URL ([`ISSUER_VAR`], default [`DEFAULT_ISSUER`]) is one
//!   [`IssuerUrl`]: byte for byte the discovery document's `issuer`, every
//!   minted `iss`, and every rendered bundle (bootstrap reads the same config).
//! - `GET <issuer path>/.well-known/openid-configuration` and the JWKS it
//!   points at are served without a session ([`router`]).
//! - Assertions are minted per exchange, inside the proxy only, with the
//!   current signing key of the [`keys::KeyRing`] kept encrypted by a
//!   [`store::SigningKeyStore`]. The private keys never reach a response,
//!   a log line or an audit row.

pub mod cli;
pub mod keys;
pub mod store;

use crate::app::AppState;
use crate::config::{ConfigError, Secret};
use alphaswarm_core::ids::{Audience, IssuerUrl};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keys::{ASSERTION_LIFETIME_SECONDS, Jwks, KeyRing, Rotation, SigningKey};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{FernetFileKeyStore, KeyStoreError, SigningKeyStore};

pub const ISSUER_VAR: &str = "ALPHASWARM_ADMIN_FEDERATION_ISSUER";
pub const DEFAULT_ISSUER: &str = "https://alpha-swarm.ai/oidc/";
/// The key file in the state directory.
pub const KEYS_FILE: &str = "federation_keys.json";
/// Development only: the Fernet key that encrypts the key file when
/// `ALPHASWARM_ADMIN_INTEGRATIONS_KEY` is not set (minted once, 0600).
pub const DEV_KEY_FILE: &str = "federation_keys.fernet";

/// Discovery documents change only when the issuer does.
const DISCOVERY_CACHE: &str = "public, max-age=3600";
/// Far shorter than the rotation overlap, so a new key is in every cache
/// long before it signs.
const JWKS_CACHE: &str = "public, max-age=300";

#[derive(Debug, Clone)]
pub struct FederationConfig {
    pub issuer: IssuerUrl,
}

impl FederationConfig {
    /// `https` always; a plain-http loopback issuer only outside production.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<Self, ConfigError> {
        let raw = get(ISSUER_VAR).unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
        let issuer = IssuerUrl::parse(&raw).map_err(|e| ConfigError::Invalid {
            var: ISSUER_VAR,
            why: format!("{e} ({})", alphaswarm_core::CoreError::hint(&e)),
        })?;
        if production && issuer.is_loopback_http() {
            return Err(ConfigError::Invalid {
                var: ISSUER_VAR,
                why: "production needs a public https issuer (Entra and GCP fetch its keys)".into(),
            });
        }
        Ok(FederationConfig { issuer })
    }

    /// The issuer with exactly one trailing `/`: the base of the documents.
    fn base(&self) -> String {
        let issuer = self.issuer.as_str();
        if issuer.ends_with('/') {
            issuer.to_owned()
        } else {
            format!("{issuer}/")
        }
    }

    /// The issuer's path with exactly one trailing `/` (`/oidc/`, or `/`).
    fn path_prefix(&self) -> String {
        let after_scheme = self.base();
        let after_scheme = after_scheme
            .split_once("://")
            .map_or(after_scheme.as_str(), |(_, rest)| rest)
            .to_owned();
        match after_scheme.find('/') {
            Some(i) => after_scheme[i..].to_owned(),
            None => "/".to_owned(),
        }
    }

    /// OIDC Discovery §4: the issuer without its trailing `/`, then the well-known path.
    pub fn discovery_path(&self) -> String {
        format!("{}.well-known/openid-configuration", self.path_prefix())
    }

    pub fn jwks_path(&self) -> String {
        format!("{}.well-known/jwks.json", self.path_prefix())
    }

    /// The issuer's host as the HTTP edge compares it (lowercase, no port).
    pub fn host(&self) -> Option<String> {
        let url = reqwest::Url::parse(self.issuer.as_str()).ok()?;
        crate::config::normalise_host(url.host_str()?)
    }

    pub fn discovery_uri(&self) -> String {
        format!("{}.well-known/openid-configuration", self.base())
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}.well-known/jwks.json", self.base())
    }

    /// The discovery document (OIDC Discovery 1.0 §3's required fields; the
    /// authorization and token endpoints are placeholders, as in Azure's
    /// guide for self-hosted issuers: nobody signs in here).
    pub fn discovery_document(&self) -> serde_json::Value {
        let base = self.base();
        serde_json::json!({
            "issuer": self.issuer.as_str(),
            "jwks_uri": self.jwks_uri(),
            "authorization_endpoint": format!("{base}connect/authorize"),
            "token_endpoint": format!("{base}connect/token"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"],
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error(transparent)]
    Store(#[from] KeyStoreError),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("the issuer has no signing key (start the proxy once, or run federation-keys rotate)")]
    NoSigningKey,
    #[error("an assertion could not be signed")]
    Signing,
}

/// A minted assertion. The token is a bearer credential for the customer's
/// cloud for its lifetime: `Debug` hides it and it is never serialised.
#[derive(Clone)]
pub struct Assertion {
    token: String,
    pub kid: String,
    pub jti: String,
    pub subject: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl Assertion {
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertion")
            .field("kid", &self.kid)
            .field("jti", &self.jti)
            .field("subject", &self.subject)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The issuer: configuration plus the key ring.
pub struct FederationIssuer {
    config: FederationConfig,
    keys: Arc<dyn SigningKeyStore>,
    /// Serialises this process's writes (first key, rotation, pruning).
    write: tokio::sync::Mutex<()>,
}

impl FederationIssuer {
    pub fn new(config: FederationConfig, keys: Arc<dyn SigningKeyStore>) -> Self {
        FederationIssuer {
            config,
            keys,
            write: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &FederationConfig {
        &self.config
    }

    pub fn issuer(&self) -> &IssuerUrl {
        &self.config.issuer
    }

    /// First start: generates and saves the first key when there is none.
    /// Returns its kid when one was generated. When another replica saved
    /// the ring meanwhile, its ring is read again and used.
    pub async fn ensure_key(&self, now: i64) -> Result<Option<String>, FederationError> {
        let _guard = self.write.lock().await;
        retry_on_conflict(|| self.ensure_key_once(now)).await
    }

    async fn ensure_key_once(&self, now: i64) -> Result<Option<String>, FederationError> {
        if let Some(mut ring) = self.keys.load().await? {
            if ring.signer(now).is_some() {
                // Keys that left the JWKS are deleted, private parts included.
                if ring.prune(now) {
                    self.keys.save(&ring).await?;
                }
                return Ok(None);
            }
            // A ring whose keys all ended (a long-stopped proxy): start over.
            let key = generate(now, FIRST_KEY_SIGNS_FROM).await?;
            let kid = key.kid.clone();
            ring.prune(now);
            ring.keys.push(key);
            self.keys.save(&ring).await?;
            return Ok(Some(kid));
        }
        let key = generate(now, FIRST_KEY_SIGNS_FROM).await?;
        let kid = key.kid.clone();
        self.keys.save(&KeyRing { keys: vec![key] }).await?;
        Ok(Some(kid))
    }

    /// The ring with a key that signs at `now`, generating the first key if
    /// this is the very first use. The caller's `now` throughout: a second
    /// ticking between the caller's clock read and this one (a slow RSA key
    /// generation on a loaded machine) must not leave the new key signing
    /// only after the time the caller signs at.
    async fn ring_at(&self, now: i64) -> Result<KeyRing, FederationError> {
        if let Some(ring) = self.keys.load().await?
            && ring.signer(now).is_some()
        {
            return Ok(ring);
        }
        self.ensure_key(now).await?;
        self.keys.load().await?.ok_or(FederationError::NoSigningKey)
    }

    /// The public keys relying parties may see at `now`.
    pub async fn jwks_at(&self, now: i64) -> Result<Jwks, FederationError> {
        Ok(self.ring_at(now).await?.jwks(now))
    }

    pub async fn jwks(&self) -> Result<Jwks, FederationError> {
        self.jwks_at(now()).await
    }

    /// A fresh assertion for `subject` and `audience`, signed at `now`.
    pub async fn mint_at(
        &self,
        subject: &str,
        audience: &Audience,
        now: i64,
    ) -> Result<Assertion, FederationError> {
        let ring = self.ring_at(now).await?;
        let key = ring.signer(now).ok_or(FederationError::NoSigningKey)?;
        let jti = uuid::Uuid::new_v4().to_string();
        let claims = Claims {
            iss: self.config.issuer.as_str(),
            sub: subject,
            aud: audience.as_str(),
            iat: now,
            nbf: now,
            exp: now + ASSERTION_LIFETIME_SECONDS,
            jti: &jti,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding_key()?)
            .map_err(|_| FederationError::Signing)?;
        let expires_at = claims.exp;
        Ok(Assertion {
            token,
            kid: key.kid.clone(),
            jti: jti.clone(),
            subject: subject.to_owned(),
            issued_at: now,
            expires_at,
        })
    }

    pub async fn mint(
        &self,
        subject: &str,
        audience: &Audience,
    ) -> Result<Assertion, FederationError> {
        self.mint_at(subject, audience, now()).await
    }

    /// Publishes a new key now; it signs after `overlap_seconds`.
    pub async fn rotate_at(
        &self,
        now: i64,
        overlap_seconds: i64,
    ) -> Result<Rotation, FederationError> {
        let _guard = self.write.lock().await;
        retry_on_conflict(|| async {
            let mut ring = self.keys.load().await?.unwrap_or_default();
            ring.prune(now);
            let next = generate(now, now + overlap_seconds).await?;
            let rotation = ring.rotate(now, overlap_seconds, next);
            self.keys.save(&ring).await?;
            Ok(rotation)
        })
        .await
    }
}

/// Runs a read-modify-save of the ring again while another replica keeps
/// winning the race to save (a few times: replicas do not rotate in a loop).
async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, FederationError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, FederationError>>,
{
    let mut left = 5;
    loop {
        match attempt().await {
            Err(FederationError::Store(KeyStoreError::Conflict)) if left > 0 => left -= 1,
            other => return other,
        }
    }
}

/// A ring's first key has no predecessor to overlap with, so it signs for
/// any time: a replica whose clock read came a moment before another
/// replica saved the first key must find that key signing, not start over
/// with a second one (two replicas starting together on a loaded machine).
const FIRST_KEY_SIGNS_FROM: i64 = 0;

async fn generate(now: i64, signs_from: i64) -> Result<SigningKey, FederationError> {
    tokio::task::spawn_blocking(move || SigningKey::generate(now, signs_from))
        .await
        .map_err(|e| keys::KeyError::Generate(e.to_string()))?
        .map_err(FederationError::from)
}

/// The Fernet key that encrypts the key file: the integrations key when
/// configured (always in production), else a development key minted once
/// beside the key file. Returns a warning to print when one was minted.
pub fn encryption_key(
    integrations_key: Option<&Secret>,
    state_dir: &Path,
) -> std::io::Result<(Secret, Option<String>)> {
    if let Some(key) = integrations_key {
        return Ok((key.clone(), None));
    }
    let path = state_dir.join(DEV_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(key) => Ok((Secret::new(key.trim().to_owned()), None)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = fernet::Fernet::generate_key();
            crate::store::write_atomically(&path, key.as_bytes())?;
            Ok((
                Secret::new(key),
                Some(format!(
                    "DEVELOPMENT store key (stored connections and federation signing keys) minted at {} — set {} in production.",
                    path.display(),
                    crate::config::INTEGRATIONS_KEY
                )),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The default key store for a state directory.
pub fn file_key_store(state_dir: &Path, key: &Secret) -> Result<FernetFileKeyStore, KeyStoreError> {
    FernetFileKeyStore::new(keys_path(state_dir), key.expose())
}

pub fn keys_path(state_dir: &Path) -> PathBuf {
    state_dir.join(KEYS_FILE)
}

/// The two public routes, at the issuer's path. No session: Entra and GCP
/// fetch them anonymously.
pub fn router(config: &FederationConfig) -> Router<AppState> {
    Router::new()
        .route(&config.discovery_path(), get(discovery))
        .route(&config.jwks_path(), get(jwks))
}

fn with_cache(body: impl IntoResponse, cache: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

async fn discovery(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    with_cache(
        axum::Json(state.federation.config().discovery_document()),
        DISCOVERY_CACHE,
    )
}

async fn jwks(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.federation.jwks().await {
        Ok(set) => with_cache(axum::Json(set), JWKS_CACHE),
        Err(e) => {
            tracing::error!(error = %e, "the federation JWKS could not be read");
            crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "federation_keys_unavailable",
                "The issuer's signing keys cannot be read.",
                "See the proxy's log; check the key file in the state directory and ALPHASWARM_ADMIN_INTEGRATIONS_KEY.",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> FederationConfig {
        FederationConfig::from_lookup(|k| (k == ISSUER_VAR).then(|| issuer.to_owned()), false)
            .unwrap()
    }

    #[test]
    fn paths_follow_the_issuer_with_or_without_a_trailing_slash() {
        for issuer in [
            "https://alpha-swarm.ai/oidc/",
            "https://alpha-swarm.ai/oidc",
        ] {
            let c = config(issuer);
            assert_eq!(c.discovery_path(), "/oidc/.well-known/openid-configuration");
            assert_eq!(c.jwks_path(), "/oidc/.well-known/jwks.json");
            assert_eq!(c.discovery_document()["issuer"], issuer);
            assert_eq!(
                c.discovery_document()["jwks_uri"],
                "https://alpha-swarm.ai/oidc/.well-known/jwks.json"
            );
        }
        assert_eq!(
            config("https://Alpha-Swarm.AI:8443/oidc/")
                .host()
                .as_deref(),
            Some("alpha-swarm.ai")
        );
        let root = config("http://127.0.0.1:8787");
        assert_eq!(root.host().as_deref(), Some("127.0.0.1"));
        assert_eq!(root.discovery_path(), "/.well-known/openid-configuration");
        assert_eq!(
            root.jwks_uri(),
            "http://127.0.0.1:8787/.well-known/jwks.json"
        );
    }

    #[test]
    fn production_refuses_an_http_issuer_and_anything_but_a_url() {
        let get = |v: &'static str| move |k: &str| (k == ISSUER_VAR).then(|| v.to_owned());
        assert!(FederationConfig::from_lookup(get("http://127.0.0.1:1/oidc/"), true).is_err());
        assert!(FederationConfig::from_lookup(get("http://127.0.0.1:1/oidc/"), false).is_ok());
        assert!(FederationConfig::from_lookup(get("http://alpha-swarm.ai/oidc/"), false).is_err());
        let default = FederationConfig::from_lookup(|_| None, true).unwrap();
        assert_eq!(default.issuer.as_str(), DEFAULT_ISSUER);
    }
}
