//! Who may call the wizard: sessions, scopes and the step-up second factor.
//!
//! Two modes share one token shape (a JWT with `sub`, `scope`, `amr`,
//! `auth_time`, `iat`, `exp`):
//! - local (embedded default): the operator `admin` logs in with a password
//!   and steps up with a TOTP code (RFC 6238); the proxy signs HS256 tokens
//!   with a key kept 0600 in the state dir;
//! - OIDC (production): bearer tokens from the configured issuer, checked
//!   against its JWKS (RS256/ES256), audience, issuer and expiry.
//!
//! [`AdminSession`] and [`StepUp`] are the extractors handlers use; they
//! reject before any audit row is written or any cloud is called.

use crate::app::AppState;
use crate::config::OidcConfig;
use crate::db::guards::AuthGuards;
use crate::error::ApiError;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const ADMIN_SCOPE: &str = "admin:cluster";
pub const OPERATOR_USERNAME: &str = "admin";
const LOCAL_ISSUER: &str = "alphaswarm-proxy-local";
const SESSION_SECONDS: i64 = 8 * 3600;
const TOTP_STEP: u64 = 30;

/// Claims of every session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, deserialize_with = "scope_from_string_or_list")]
    pub scope: Vec<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    #[serde(default)]
    pub auth_time: Option<i64>,
    pub iat: i64,
    pub exp: i64,
}

fn scope_from_string_or_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scope {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Scope::deserialize(d)? {
        Scope::Text(s) => s.split_whitespace().map(str::to_owned).collect(),
        Scope::List(l) => l,
    })
}

#[derive(Serialize)]
struct LocalClaims<'a> {
    sub: &'a str,
    scope: &'a str,
    amr: &'a [&'a str],
    auth_time: i64,
    iat: i64,
    exp: i64,
    iss: &'a str,
    aud: &'a str,
}

/// A verified session.
#[derive(Debug, Clone)]
pub struct Session {
    pub subject: String,
    pub scopes: Vec<String>,
    pub amr: Vec<String>,
    pub auth_time: Option<i64>,
    pub expires_at: i64,
}

impl Session {
    /// Seconds-since-epoch until which the step-up counts as fresh.
    pub fn step_up_until(&self, max_age: u64) -> Option<i64> {
        if self.amr.iter().any(|m| m == "mfa") {
            self.auth_time.map(|t| t + max_age as i64)
        } else {
            None
        }
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The local operator's credentials, kept 0600 in `<state dir>/operator.json`.
#[derive(Serialize, Deserialize)]
struct OperatorFile {
    username: String,
    password_hash: String,
    totp_secret_base32: String,
    token_signing_key: String,
}

/// What first start prints, once.
pub struct Enrollment {
    pub username: String,
    pub password: String,
    pub otpauth_uri: String,
}

pub struct LocalAuth {
    password_hash: String,
    totp: totp_rs::TOTP,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Names this operator's last accepted TOTP step in the shared guards.
    totp_guard: String,
}

impl LocalAuth {
    /// Loads the operator, enrolling one on first start (then `Some(Enrollment)`).
    pub fn load_or_enroll(state_dir: &Path) -> std::io::Result<(LocalAuth, Option<Enrollment>)> {
        let path = state_dir.join("operator.json");
        let (file, enrollment) = match std::fs::read(&path) {
            Ok(bytes) => (
                serde_json::from_slice::<OperatorFile>(&bytes).map_err(|_| {
                    std::io::Error::other(format!(
                        "{} is not an operator file; delete it to re-enrol",
                        path.display()
                    ))
                })?,
                None,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let password: String = rand::rng()
                    .sample_iter(rand::distr::Alphanumeric)
                    .take(24)
                    .map(char::from)
                    .collect();
                let password_hash = argon2::Argon2::default()
                    .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .to_string();
                let totp_secret_base32 = match totp_rs::Secret::generate_secret().to_encoded() {
                    totp_rs::Secret::Encoded(s) => s,
                    totp_rs::Secret::Raw(_) => unreachable!("to_encoded returns Encoded"),
                };
                let mut key = [0u8; 32];
                rand::rng().fill(&mut key);
                let file = OperatorFile {
                    username: OPERATOR_USERNAME.to_owned(),
                    password_hash,
                    totp_secret_base32,
                    token_signing_key: base64::engine::general_purpose::STANDARD.encode(key),
                };
                let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
                crate::store::write_atomically(&path, &bytes)?;
                let totp = build_totp(&file.totp_secret_base32)?;
                let enrollment = Enrollment {
                    username: file.username.clone(),
                    password,
                    otpauth_uri: totp.get_url(),
                };
                (file, Some(enrollment))
            }
            Err(e) => return Err(e),
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(&file.token_signing_key)
            .map_err(|_| std::io::Error::other("operator.json: token_signing_key is not base64"))?;
        Ok((
            LocalAuth {
                password_hash: file.password_hash,
                totp: build_totp(&file.totp_secret_base32)?,
                encoding: EncodingKey::from_secret(&key),
                decoding: DecodingKey::from_secret(&key),
                totp_guard: totp_guard_name(&file.totp_secret_base32),
            },
            enrollment,
        ))
    }

    pub fn operator_file(state_dir: &Path) -> PathBuf {
        state_dir.join("operator.json")
    }

    async fn check_password(&self, password: &str) -> bool {
        let hash = self.password_hash.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    argon2::Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }

    /// Accepts a code of the current step or one step either side, once
    /// across every replica (the accepted step is claimed in the database).
    async fn check_totp(&self, guards: &AuthGuards, code: &str) -> Result<bool, ApiError> {
        let current = now().max(0) as u64 / TOTP_STEP;
        for step in [current.saturating_sub(1), current, current + 1] {
            if self.totp.check(code, step * TOTP_STEP) {
                return guards
                    .claim_totp_step(&self.totp_guard, step)
                    .await
                    .map_err(guard_unavailable);
            }
        }
        Ok(false)
    }

    fn issue(
        &self,
        subject: &str,
        amr: &[&str],
        auth_time: i64,
    ) -> Result<(String, i64), ApiError> {
        let iat = now();
        let exp = iat + SESSION_SECONDS;
        let claims = LocalClaims {
            sub: subject,
            scope: ADMIN_SCOPE,
            amr,
            auth_time,
            iat,
            exp,
            iss: LOCAL_ISSUER,
            aud: LOCAL_ISSUER,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| {
            ApiError::internal(
                "token_signing_failed",
                "The session token could not be signed.",
            )
        })?;
        Ok((token, exp))
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[LOCAL_ISSUER]);
        validation.set_audience(&[LOCAL_ISSUER]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// One guard per operator (replicas share one; test proxies each have
/// their own): named by a digest of the TOTP secret, never the secret.
fn totp_guard_name(secret_base32: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(secret_base32.as_bytes());
    format!("totp_last_step:{}", hex::encode(&digest[..8]))
}

fn build_totp(secret_base32: &str) -> std::io::Result<totp_rs::TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| std::io::Error::other("operator.json: the TOTP secret is not base32"))?;
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        TOTP_STEP,
        bytes,
        Some("AlphaSwarm".to_owned()),
        OPERATOR_USERNAME.to_owned(),
    )
    .map_err(|e| std::io::Error::other(format!("operator.json: {e}")))
}

/// Production sessions: JWTs from the identity provider, checked against its JWKS.
pub struct OidcAuth {
    config: OidcConfig,
    http: reqwest::Client,
    keys: tokio::sync::RwLock<(jsonwebtoken::jwk::JwkSet, Option<Instant>)>,
}

impl OidcAuth {
    pub fn new(config: OidcConfig) -> Self {
        OidcAuth {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: tokio::sync::RwLock::new((jsonwebtoken::jwk::JwkSet { keys: Vec::new() }, None)),
        }
    }

    /// Fetches the JWKS; at most one attempt every 30 s (key rotation needs a
    /// refetch, but unknown `kid`s must not make us hammer the provider).
    async fn refresh(&self) -> Result<(), ApiError> {
        {
            let mut keys = self.keys.write().await;
            if keys
                .1
                .is_some_and(|t| t.elapsed() < Duration::from_secs(30))
            {
                return Ok(());
            }
            keys.1 = Some(Instant::now());
        }
        let fetched: Option<jsonwebtoken::jwk::JwkSet> = async {
            self.http
                .get(&self.config.jwks_url)
                .send()
                .await
                .ok()?
                .error_for_status()
                .ok()?
                .json()
                .await
                .ok()
        }
        .await;
        let Some(set) = fetched else {
            tracing::warn!("the identity provider's JWKS could not be fetched");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "identity_provider_unreachable",
                "The identity provider's signing keys could not be fetched.",
                "Check ALPHASWARM_ADMIN_OIDC_JWKS_URL and the proxy's network access.",
            )
            .with_field(crate::config::OIDC_JWKS_URL));
        };
        self.keys.write().await.0 = set;
        Ok(())
    }

    async fn verify(&self, token: &str) -> Result<Option<Claims>, ApiError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Ok(None);
        }
        let find = |set: &jsonwebtoken::jwk::JwkSet| match &header.kid {
            Some(kid) => set.find(kid).cloned(),
            None => set.keys.first().cloned(),
        };
        let mut jwk = find(&self.keys.read().await.0);
        if jwk.is_none() {
            self.refresh().await?;
            jwk = find(&self.keys.read().await.0);
        }
        let Some(jwk) = jwk else { return Ok(None) };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            return Ok(None);
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .ok()
            .map(|d| d.claims))
    }
}

pub enum Authenticator {
    Local(LocalAuth),
    Oidc(OidcAuth),
}

/// Counts failed logins/TOTP codes across every replica (in the
/// database); more than `max` in `window` → 429.
pub struct AttemptLimiter {
    guards: AuthGuards,
    max: u64,
    window: Duration,
}

impl AttemptLimiter {
    pub fn new(guards: AuthGuards, max: u64, window: Duration) -> Self {
        AttemptLimiter {
            guards,
            max,
            window,
        }
    }

    async fn check(&self) -> Result<(), ApiError> {
        let window_ms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        let failures = self
            .guards
            .failures_since(now_ms().saturating_sub(window_ms))
            .await
            .map_err(guard_unavailable)?;
        if failures >= self.max {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "Too many failed sign-in attempts.",
                format!("Wait {} seconds and try again.", self.window.as_secs()),
            ));
        }
        Ok(())
    }

    async fn record_failure(&self) {
        if let Err(e) = self.guards.record_failure(now_ms()).await {
            tracing::error!(error = %e, "a failed sign-in attempt was not counted");
        }
    }
}

fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Sign-in is refused while its guards cannot be read: never fail open.
fn guard_unavailable(error: crate::db::DbError) -> ApiError {
    tracing::error!(error = %error, "sign-in guards unavailable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_unavailable",
        "Sign-in is unavailable right now.",
        "Check the database (ALPHASWARM_ADMIN_DATABASE_URL, or disk space under ALPHASWARM_ADMIN_STATE_DIR) and the proxy's log, then retry.",
    )
}

impl Authenticator {
    pub fn mode(&self) -> &'static str {
        match self {
            Authenticator::Local(_) => "local",
            Authenticator::Oidc(_) => "oidc",
        }
    }

    async fn verify(&self, token: &str) -> Result<Session, ApiError> {
        let claims = match self {
            Authenticator::Local(local) => local.verify(token),
            Authenticator::Oidc(oidc) => oidc.verify(token).await?,
        };
        let claims = claims
            .ok_or_else(|| ApiError::unauthenticated("The session token is invalid or expired."))?;
        Ok(Session {
            subject: claims.sub,
            scopes: claims.scope,
            amr: claims.amr,
            auth_time: claims.auth_time,
            expires_at: claims.exp,
        })
    }

    fn local(&self) -> Result<&LocalAuth, ApiError> {
        match self {
            Authenticator::Local(local) => Ok(local),
            Authenticator::Oidc(_) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "local_login_disabled",
                "Local login is off: sessions come from the identity provider.",
                "Sign in through your identity provider and send its token as a Bearer token.",
            )),
        }
    }

    /// Password login: a session without the second factor.
    pub async fn login(
        &self,
        limiter: &AttemptLimiter,
        username: &str,
        password: &str,
    ) -> Result<(String, i64), ApiError> {
        let local = self.local()?;
        limiter.check().await?;
        let ok = username == OPERATOR_USERNAME && local.check_password(password).await;
        if !ok {
            limiter.record_failure().await;
            return Err(ApiError::unauthenticated("Wrong username or password."));
        }
        local.issue(OPERATOR_USERNAME, &["pwd"], now())
    }

    /// TOTP step-up on an existing session: a token with `amr` mfa and a fresh `auth_time`.
    pub async fn step_up(
        &self,
        limiter: &AttemptLimiter,
        session: &Session,
        code: &str,
    ) -> Result<(String, i64, i64), ApiError> {
        let local = self.local()?;
        limiter.check().await?;
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed || !local.check_totp(&limiter.guards, code).await? {
            limiter.record_failure().await;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_totp_code",
                "The one-time code is wrong, expired or already used.",
                "Enter the current 6-digit code from your authenticator app.",
            )
            .with_field("code"));
        }
        let auth_time = now();
        let (token, exp) = local.issue(&session.subject, &["pwd", "otp", "mfa"], auth_time)?;
        Ok((token, exp, auth_time))
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthenticated("No session: the Authorization header is missing.")
        })?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthenticated("The Authorization header is not a Bearer token."))
}

/// Any valid session with scope `admin:cluster`.
pub struct AdminSession(pub Session);

/// `require_admin_step_up("admin:cluster")`: scope plus a fresh second factor.
pub struct StepUp(pub Session);

async fn admin_session(parts: &Parts, state: &AppState) -> Result<Session, ApiError> {
    let token = bearer(parts)?;
    let session = state.auth.verify(token).await?;
    if !session.scopes.iter().any(|s| s == ADMIN_SCOPE) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("The session lacks the {ADMIN_SCOPE} scope."),
            format!("Sign in with an account granted {ADMIN_SCOPE}."),
        ));
    }
    Ok(session)
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        admin_session(parts, state).await.map(AdminSession)
    }
}

impl FromRequestParts<AppState> for StepUp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = admin_session(parts, state).await?;
        let max_age = state.config.step_up_max_age_seconds;
        match session.step_up_until(max_age) {
            Some(until) if now() <= until && session.auth_time.is_some_and(|t| t <= now() + 60) => {
                Ok(StepUp(session))
            }
            Some(_) => Err(step_up_required(
                "The second factor is older than the allowed window.",
            )),
            None => Err(step_up_required(
                "This step needs a second factor (step-up MFA).",
            )),
        }
    }
}

fn step_up_required(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "step_up_required",
        message,
        "Confirm with your one-time code (POST /auth/step-up) and retry.",
    )
}
