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
//! reject before any audit row is written or any cloud is called. Password
//! and TOTP attempts go through the budgets of [`limiter`]; accepted TOTP
//! steps through the durable [`replay`] guard.

pub mod limiter;
mod local;
mod oidc;
pub mod replay;

pub use limiter::AttemptGuard;
pub use local::{Enrollment, LocalAuth};
pub use oidc::OidcAuth;

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use limiter::{AttemptKind, ClientKey, Refusal};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub const ADMIN_SCOPE: &str = "admin:cluster";
pub const OPERATOR_USERNAME: &str = "admin";
/// The one budget every unknown username shares (they are not accounts).
const UNKNOWN_ACCOUNT: &str = "<unknown user>";

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

pub enum Authenticator {
    Local(LocalAuth),
    Oidc(OidcAuth),
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

    /// Password login: a session without the second factor. The hash
    /// waits for no one: when the gate is full the answer is 429 at once;
    /// otherwise the attempt is counted before the hash runs.
    pub async fn login(
        &self,
        guard: &AttemptGuard,
        client: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<(String, i64), ApiError> {
        let local = self.local()?;
        let known = username == OPERATOR_USERNAME;
        let account = if known { username } else { UNKNOWN_ACCOUNT };
        // The gate first: a login it cannot take now is refused at once,
        // unchecked and uncounted, without a write to the shared budgets
        // (which would let a burst trickle through to the hashes).
        let Some(permit) = guard.hashes.try_enter() else {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "sign_in_busy",
                "The proxy is checking other sign-ins right now. Try again in a moment.",
                "Retry after a second; password checks run a few at a time.",
            )
            .with_retry_after(1));
        };
        let ticket = guard
            .budget
            .reserve(AttemptKind::Login, ClientKey::of(client), account)
            .await
            .map_err(too_many_attempts)?;
        let ok = known && local.check_password(password).await;
        drop(permit);
        if !ok {
            return Err(ApiError::unauthenticated("Wrong username or password."));
        }
        guard.budget.succeeded(ticket).await;
        local.issue(OPERATOR_USERNAME, &["pwd"], now())
    }

    /// TOTP step-up on an existing session: a token with `amr` mfa and a
    /// fresh `auth_time`. Codes have their own budgets (per client and per
    /// subject) and each is accepted once, even across restarts.
    pub async fn step_up(
        &self,
        guard: &AttemptGuard,
        client: IpAddr,
        session: &Session,
        code: &str,
    ) -> Result<(String, i64, i64), ApiError> {
        let local = self.local()?;
        let ticket = guard
            .budget
            .reserve(AttemptKind::Totp, ClientKey::of(client), &session.subject)
            .await
            .map_err(too_many_attempts)?;
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let accepted = well_formed
            && local
                .accept_totp(&session.subject, code)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "the TOTP replay guard could not be written");
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "replay_guard_unavailable",
                        "The one-time code could not be recorded as used, so it was not accepted.",
                        "Check the proxy's state directory (ALPHASWARM_ADMIN_STATE_DIR: permissions, disk space).",
                    )
                })?;
        if !accepted {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_totp_code",
                "The one-time code is wrong, expired or already used.",
                "Enter the current 6-digit code from your authenticator app.",
            )
            .with_field("code"));
        }
        guard.budget.succeeded(ticket).await;
        let auth_time = now();
        let (token, exp) = local.issue(&session.subject, &["pwd", "otp", "mfa"], auth_time)?;
        Ok((token, exp, auth_time))
    }
}

fn too_many_attempts(refusal: Refusal) -> ApiError {
    let blocked = match refusal {
        Refusal::Blocked(blocked) => blocked,
        Refusal::Unavailable => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "attempt_budget_unavailable",
                "Sign-in attempts cannot be counted right now, so none are checked. Try again shortly.",
                "The proxy could not read or write its attempt counters: check its database (ALPHASWARM_ADMIN_DATABASE_URL, or disk space in ALPHASWARM_ADMIN_STATE_DIR).",
            )
            .with_retry_after(1);
        }
    };
    let seconds = blocked.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("Too many failed attempts from this address. Try again in {seconds} seconds."),
        format!("Wait {seconds} seconds; each further failure doubles the wait."),
    )
    .with_retry_after(seconds)
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

#[cfg(test)]
mod tests {
    use super::*;
    use limiter::{BackoffPolicy, HashGate, MemoryAttemptBudget};
    use std::sync::Arc;
    use std::time::Duration;

    /// Finding 1 of issue 8: an attempt is counted before its hash runs, so
    /// a client whose budget is spent is refused without a hash (each costs
    /// ~19 MiB; counted after the hash, a burst hashed them all).
    #[tokio::test]
    async fn a_login_past_the_budget_is_refused_without_hashing_it() {
        let dir = std::env::temp_dir().join(format!("alphaswarm-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let (local, enrollment) = LocalAuth::load_or_enroll(&dir).unwrap();
        let password = enrollment.unwrap().password;
        let auth = Authenticator::Local(local);
        let Authenticator::Local(local) = &auth else {
            unreachable!()
        };
        let guard = AttemptGuard {
            budget: Arc::new(MemoryAttemptBudget::new(BackoffPolicy {
                client_free_failures: 1,
                base: Duration::from_secs(600),
                ..BackoffPolicy::default()
            })),
            hashes: HashGate::new(1),
        };
        let client = IpAddr::from([192, 0, 2, 7]);
        let wrong = auth.login(&guard, client, "admin", "wrong").await;
        assert_eq!(wrong.unwrap_err().code, "unauthenticated");
        assert_eq!(local.password_checks(), 1, "the free failure is checked");
        for password in ["wrong", password.as_str()] {
            let refused = auth.login(&guard, client, "admin", password).await;
            assert_eq!(refused.unwrap_err().code, "too_many_attempts");
        }
        assert_eq!(
            local.password_checks(),
            1,
            "refused by the budget before any hash ran"
        );
        // Another client is checked (and served) as before.
        let other = IpAddr::from([192, 0, 2, 8]);
        assert!(auth.login(&guard, other, "admin", &password).await.is_ok());
        assert_eq!(local.password_checks(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
