//! What the HuggingFace and Docker Hub clients share: the HTTP client, the
//! classification of an answer's status ([`UpstreamError`]), the retry time
//! a rate-limited answer names, and the one place an upstream failure
//! becomes an HTTP error. Messages are ours: no upstream body, URL query or
//! header value is ever copied into an error or a log line.

use crate::error::ApiError;
use alphaswarm_core::accounts::AccountKind;
use axum::http::StatusCode;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest wait a rate-limited answer may ask of us.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Why an upstream call did not give an answer we could use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// 401: the credential was refused.
    Refused,
    /// 401 with `login_2fa_token` (Docker Hub password logins with 2FA on).
    TwoFactorRequired,
    /// 403 on the namespace probe.
    Forbidden,
    /// 404 on the namespace probe.
    NotFound,
    /// 429, with the wait the answer named.
    RateLimited { retry_after: Option<Duration> },
    /// 5xx.
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer (connection, timeout).
    Unreachable { timed_out: bool },
    /// An answer we do not understand (another status, or a body of the wrong shape).
    Unexpected { status: u16 },
}

impl UpstreamError {
    /// From a non-success status (401 bodies are the caller's to read first).
    pub fn from_status(status: u16, headers: &HeaderMap) -> UpstreamError {
        match status {
            401 => UpstreamError::Refused,
            403 => UpstreamError::Forbidden,
            404 => UpstreamError::NotFound,
            429 => UpstreamError::RateLimited {
                retry_after: retry_after(headers, SystemTime::now()),
            },
            500..=599 => UpstreamError::Unavailable {
                status,
                retry_after: retry_after(headers, SystemTime::now()),
            },
            _ => UpstreamError::Unexpected { status },
        }
    }

    pub fn from_transport(error: &reqwest::Error) -> UpstreamError {
        if error.is_decode() || error.is_body() {
            UpstreamError::Unexpected { status: 200 }
        } else {
            UpstreamError::Unreachable {
                timed_out: error.is_timeout(),
            }
        }
    }

    /// When the upstream asked to be left alone for a while.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::RateLimited { retry_after }
            | UpstreamError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The generic HTTP error for the failures every product shares (the
    /// products map `Refused`, `Forbidden`, `NotFound` and
    /// `TwoFactorRequired` themselves, with their own hints).
    pub fn into_api_error(self, account: AccountKind) -> ApiError {
        let name = account.display_name();
        let bad_gateway = |code: &str, message: String, hint: String| {
            ApiError::new(StatusCode::BAD_GATEWAY, code, message, hint)
        };
        match self {
            UpstreamError::RateLimited { retry_after } => bad_gateway(
                "upstream_rate_limited",
                format!("{name} is rate-limiting AlphaSwarm's requests (HTTP 429)."),
                match retry_after {
                    Some(wait) => format!("Try again in {} s.", wait.as_secs().max(1)),
                    None => "Try again in a few minutes.".to_owned(),
                },
            ),
            UpstreamError::Unavailable { status, .. } => bad_gateway(
                "upstream_unavailable",
                format!("{name} answered HTTP {status}: it is having trouble."),
                "Try again later; nothing is wrong with the token.".to_owned(),
            ),
            UpstreamError::Unreachable { timed_out } => bad_gateway(
                "upstream_unreachable",
                format!(
                    "{name} could not be reached ({}).",
                    if timed_out {
                        "the request timed out"
                    } else {
                        "the connection failed"
                    }
                ),
                "Check the proxy's outbound network access and try again.".to_owned(),
            ),
            UpstreamError::Unexpected { status } => bad_gateway(
                "upstream_unexpected",
                format!("{name} gave an answer AlphaSwarm does not understand (HTTP {status})."),
                "Try again later; if it persists, report it with the proxy's log.".to_owned(),
            ),
            UpstreamError::Refused
            | UpstreamError::TwoFactorRequired
            | UpstreamError::Forbidden
            | UpstreamError::NotFound => bad_gateway(
                "upstream_unexpected",
                format!("{name} refused a call AlphaSwarm did not expect it to refuse."),
                "Try again later; if it persists, report it with the proxy's log.".to_owned(),
            ),
        }
    }
}

/// The wait a rate-limited (or unavailable) answer names, from whichever of
/// these it carries: `Retry-After` (seconds), HuggingFace's `RateLimit`
/// (`…;t=<seconds>`), Docker Hub's `X-Retry-After` (a Unix timestamp) or
/// `X-RateLimit-Reset` (a Unix timestamp).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let seconds = |v: &str| v.trim().parse::<u64>().ok();
    let until = |v: &str| {
        let at = seconds(v)?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(at.saturating_sub(now))
    };
    let wait = text("retry-after")
        .and_then(seconds)
        .or_else(|| {
            text("ratelimit")?
                .split(';')
                .find_map(|part| part.trim().strip_prefix("t="))
                .and_then(seconds)
        })
        .or_else(|| text("x-retry-after").and_then(until))
        .or_else(|| text("x-ratelimit-reset").and_then(until))?;
    Some(Duration::from_secs(wait).min(MAX_RETRY_AFTER))
}

/// The HTTP client both products share: short timeouts, no redirects (a
/// redirect would carry the Authorization header elsewhere).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    crate::aws::ensure_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("alphaswarm-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_wait_comes_from_whichever_header_the_product_sends() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let secs = |pairs| retry_after(&headers(pairs), now).map(|d| d.as_secs());
        assert_eq!(secs(&[("retry-after", "7")]), Some(7));
        assert_eq!(secs(&[("ratelimit", "\"api\";r=0;t=42")]), Some(42));
        assert_eq!(secs(&[("x-retry-after", "1000030")]), Some(30));
        assert_eq!(secs(&[("x-ratelimit-reset", "1000005")]), Some(5));
        assert_eq!(secs(&[("x-retry-after", "999999")]), Some(0));
        assert_eq!(secs(&[("retry-after", "99999999")]), Some(3600));
        assert_eq!(secs(&[("retry-after", "soon")]), None);
        assert_eq!(secs(&[]), None);
    }

    #[test]
    fn statuses_are_classified() {
        let none = HeaderMap::new();
        assert_eq!(
            UpstreamError::from_status(401, &none),
            UpstreamError::Refused
        );
        assert_eq!(
            UpstreamError::from_status(404, &none),
            UpstreamError::NotFound
        );
        assert!(matches!(
            UpstreamError::from_status(503, &none),
            UpstreamError::Unavailable { status: 503, .. }
        ));
        assert_eq!(
            UpstreamError::from_status(418, &none),
            UpstreamError::Unexpected { status: 418 }
        );
        let limited = UpstreamError::from_status(429, &headers(&[("retry-after", "3")]));
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        let api = limited.into_api_error(AccountKind::HuggingFace);
        assert_eq!(
            (api.status.as_u16(), api.code.as_str()),
            (502, "upstream_rate_limited")
        );
        assert!(api.hint.contains("3 s"));
    }
}
