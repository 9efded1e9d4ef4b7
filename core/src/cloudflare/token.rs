//! What a pasted Cloudflare credential is, before it is sent anywhere, and
//! whether a verified token is usable now.
//!
//! Formats (federation-formats.md §4.5, Cloudflare's token-formats page):
//!
//! | kind | scannable format | pre-2026 format |
//! |---|---|---|
//! | Global API key | `cfk_` + 40 chars + checksum | 37-45 hex characters |
//! | user API token | `cfut_` + 40 chars + checksum | 40 characters |
//! | account API token | `cfat_` + 40 chars + checksum | 40 characters |
//!
//! A Global API key is refused outright: it grants everything and cannot be
//! scoped. A pre-2026 token made only of hex characters would look like a
//! Global key; at 40 random characters from 64 that is vanishingly rare,
//! and refusing it errs on the safe side.

use super::TokenOwner;
use crate::error::CoreError;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// The legacy Global API key's length range (hex characters).
pub const GLOBAL_API_KEY_LENGTHS: std::ops::RangeInclusive<usize> = 37..=45;
/// Prefixes of the scannable formats.
pub const GLOBAL_API_KEY_PREFIX: &str = "cfk_";
pub const USER_TOKEN_PREFIX: &str = "cfut_";
pub const ACCOUNT_TOKEN_PREFIX: &str = "cfat_";
/// Upper bound on a pasted token; real tokens are far shorter.
pub const MAX_TOKEN_LEN: usize = 1024;

/// Whether `token` is a Global API key, in either format. Surrounding
/// whitespace, a paste artefact, is ignored.
pub fn is_global_api_key(token: &str) -> bool {
    let token = token.trim();
    token.starts_with(GLOBAL_API_KEY_PREFIX)
        || (GLOBAL_API_KEY_LENGTHS.contains(&token.len())
            && token.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Who owns a token, as far as its format tells.
pub fn owner_from_format(token: &str) -> Option<TokenOwner> {
    let token = token.trim();
    if token.starts_with(USER_TOKEN_PREFIX) {
        Some(TokenOwner::User)
    } else if token.starts_with(ACCOUNT_TOKEN_PREFIX) {
        Some(TokenOwner::Account)
    } else {
        None
    }
}

/// Why a pasted token is refused before any call to Cloudflare. Messages
/// never contain the token, nor any part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudflareTokenError {
    #[error("no token was given")]
    MissingToken,
    #[error("this is a Global API key, which AlphaSwarm never accepts")]
    GlobalApiKey,
    #[error("the token contains spaces or characters no API token has")]
    InvalidTokenShape,
    #[error("the token is {len} characters long; API tokens are far shorter")]
    TokenTooLong { len: usize },
}

impl CoreError for CloudflareTokenError {
    fn code(&self) -> &'static str {
        match self {
            CloudflareTokenError::MissingToken => "missing_token",
            CloudflareTokenError::GlobalApiKey => "global_api_key_refused",
            CloudflareTokenError::InvalidTokenShape | CloudflareTokenError::TokenTooLong { .. } => {
                "invalid_token_shape"
            }
        }
    }
    fn field(&self) -> Option<&str> {
        Some("token")
    }
    fn hint(&self) -> String {
        match self {
            CloudflareTokenError::GlobalApiKey => {
                "The Global API key grants everything on every account and cannot be scoped or set to expire. Create a scoped API token from the template link instead (My Profile > API Tokens, or Manage Account > Account API Tokens) and paste that."
            }
            CloudflareTokenError::MissingToken => {
                "Paste the API token Cloudflare showed once when you created it."
            }
            _ => "Paste the API token exactly as Cloudflare showed it when you created it.",
        }
        .to_owned()
    }
}

/// Refuses what cannot be a scoped API token, before it is sent anywhere.
/// Surrounding whitespace is ignored (a paste artefact); inside the token
/// only printable ASCII without spaces is allowed.
pub fn check_token_shape(token: &str) -> Result<(), CloudflareTokenError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(CloudflareTokenError::MissingToken);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(CloudflareTokenError::TokenTooLong { len: token.len() });
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(CloudflareTokenError::InvalidTokenShape);
    }
    if is_global_api_key(token) {
        return Err(CloudflareTokenError::GlobalApiKey);
    }
    Ok(())
}

/// A scoped API token that passed [`check_token_shape`]. Its value is only
/// reachable through [`ApiToken::expose`]: `Debug` shows nothing of it, and
/// it has no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    pub fn parse(token: &str) -> Result<ApiToken, CloudflareTokenError> {
        check_token_shape(token)?;
        Ok(ApiToken(token.trim().to_owned()))
    }

    /// The value, for the `Authorization` header and the encrypted store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn owner_from_format(&self) -> Option<TokenOwner> {
        owner_from_format(&self.0)
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

// ---------------------------------------------------------------- validity

/// `status` of a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Disabled,
    Expired,
    #[serde(untagged)]
    Other(String),
}

/// Why a token Cloudflare recognised cannot be used now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenValidityError {
    #[error("the token is disabled in Cloudflare")]
    Disabled,
    #[error("the token expired on {expires_on}")]
    Expired { expires_on: Timestamp },
    #[error("the token is not valid before {not_before}")]
    NotYetValid { not_before: Timestamp },
    #[error("Cloudflare reports the token's status as {status:?}, not active")]
    NotActive { status: String },
}

impl CoreError for TokenValidityError {
    fn code(&self) -> &'static str {
        match self {
            TokenValidityError::Disabled => "token_disabled",
            TokenValidityError::Expired { .. } => "token_expired",
            TokenValidityError::NotYetValid { .. } => "token_not_yet_valid",
            TokenValidityError::NotActive { .. } => "token_not_active",
        }
    }
    fn field(&self) -> Option<&str> {
        Some("token")
    }
    fn hint(&self) -> String {
        match self {
            TokenValidityError::Disabled | TokenValidityError::NotActive { .. } => {
                "Enable the token in the Cloudflare dashboard, or create a new one from the template link."
            }
            TokenValidityError::Expired { .. } => {
                "Create a new token from the template link (or roll this one) and paste it; the wizard replaces the stored token."
            }
            TokenValidityError::NotYetValid { .. } => {
                "Wait until the token's start date, or edit its TTL in the dashboard so it starts now."
            }
        }
        .to_owned()
    }
}

/// The token must be `active`, past its `not_before` and before its
/// `expires_on`, at `now`.
pub fn check_validity(
    status: &TokenStatus,
    not_before: Option<Timestamp>,
    expires_on: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), TokenValidityError> {
    match status {
        TokenStatus::Active => {}
        TokenStatus::Disabled => return Err(TokenValidityError::Disabled),
        TokenStatus::Expired => {
            return Err(TokenValidityError::Expired {
                expires_on: expires_on.unwrap_or(now),
            });
        }
        TokenStatus::Other(status) => {
            return Err(TokenValidityError::NotActive {
                status: status.chars().take(32).collect(),
            });
        }
    }
    if let Some(expires_on) = expires_on.filter(|e| now >= *e) {
        return Err(TokenValidityError::Expired { expires_on });
    }
    if let Some(not_before) = not_before.filter(|n| now < *n) {
        return Err(TokenValidityError::NotYetValid { not_before });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_keys_in_both_formats_are_refused_without_echo() {
        let legacy = "0123456789abcdef0123456789abcdef01234";
        let scannable = "cfk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd1a2b3c4d";
        for key in [
            legacy,
            scannable,
            &"a".repeat(45),
            "c2547eb745079dac9320b638f5e225cf483cc",
        ] {
            let e = check_token_shape(&format!(" {key}\n")).unwrap_err();
            assert_eq!(e.code(), "global_api_key_refused", "{key}");
            let body = e.to_body();
            assert!(!body.message.contains(&key[..8]) && !body.hint.contains(&key[..8]));
        }
        assert!(!is_global_api_key(&"a".repeat(36)));
        assert!(!is_global_api_key(&"a".repeat(46)));
        // Scoped tokens, legacy and scannable, pass.
        for ok in [
            "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-Ab",
            "cfut_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd1a2b3c4d",
            "cfat_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd1a2b3c4d",
        ] {
            assert!(check_token_shape(ok).is_ok(), "{ok}");
        }
        assert_eq!(owner_from_format("cfat_x"), Some(TokenOwner::Account));
        assert_eq!(owner_from_format(" cfut_x"), Some(TokenOwner::User));
        assert_eq!(owner_from_format("abc"), None);
    }

    #[test]
    fn shapes_and_redaction() {
        assert_eq!(check_token_shape("  ").unwrap_err().code(), "missing_token");
        assert_eq!(
            check_token_shape("a b").unwrap_err().code(),
            "invalid_token_shape"
        );
        assert_eq!(
            check_token_shape(&"a".repeat(5000)).unwrap_err().code(),
            "invalid_token_shape"
        );
        let token = ApiToken::parse(" secret-token-value-0123456789-abcdefghij\n").unwrap();
        assert_eq!(token.expose(), "secret-token-value-0123456789-abcdefghij");
        assert_eq!(format!("{token:?}"), "ApiToken(***)");
    }

    #[test]
    fn validity_window() {
        let now = Timestamp::from_unix(1_000_000);
        let later = Timestamp::from_unix(2_000_000);
        let earlier = Timestamp::from_unix(10);
        assert!(check_validity(&TokenStatus::Active, Some(earlier), Some(later), now).is_ok());
        assert!(check_validity(&TokenStatus::Active, None, None, now).is_ok());
        let code = |r: Result<(), TokenValidityError>| r.unwrap_err().code();
        assert_eq!(
            code(check_validity(
                &TokenStatus::Active,
                None,
                Some(earlier),
                now
            )),
            "token_expired"
        );
        assert_eq!(
            code(check_validity(&TokenStatus::Active, None, Some(now), now)),
            "token_expired"
        );
        assert_eq!(
            code(check_validity(&TokenStatus::Active, Some(later), None, now)),
            "token_not_yet_valid"
        );
        assert_eq!(
            code(check_validity(&TokenStatus::Expired, None, None, now)),
            "token_expired"
        );
        assert_eq!(
            code(check_validity(&TokenStatus::Disabled, None, None, now)),
            "token_disabled"
        );
        let status: TokenStatus = serde_json::from_str("\"suspended\"").unwrap();
        assert_eq!(
            code(check_validity(&status, None, None, now)),
            "token_not_active"
        );
        assert_eq!(
            serde_json::from_str::<TokenStatus>("\"active\"").unwrap(),
            TokenStatus::Active
        );
        let e = check_validity(&TokenStatus::Active, Some(later), None, now).unwrap_err();
        assert!(e.to_string().contains("1970-01-24"), "{e}");
    }
}
