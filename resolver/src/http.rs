//! HTTP plumbing shared by the network stores: one client, token caching,
//! OAuth 2.0 token responses and transport errors that name no secret.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::clock::Clock;
use crate::error::{StoreError, server_text};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Refresh a cached token this long before it expires at most…
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// …and at most a quarter of its lifetime before, for short-lived tokens.
const REFRESH_MARGIN_DIVISOR: u32 = 4;

/// Installs ring as rustls's process-wide provider unless one is installed
/// (reqwest is built without a bundled provider; see the root Cargo.toml).
pub fn ensure_tls_provider() {
    // Err only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client every store shares. Redirects are refused: a redirect would
/// carry a bearer token or a signed request to another place.
pub fn client() -> Result<reqwest::Client, String> {
    ensure_tls_provider();
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("the HTTP client could not be built: {e}"))
}

/// What went wrong on the wire, without the request (URLs here carry no
/// secret, but bodies do).
pub fn transport_error(what: &str, error: &reqwest::Error) -> StoreError {
    let how = match (error.is_timeout(), error.is_connect()) {
        (true, _) => "timed out",
        (false, true) => "could not connect",
        _ if error.is_body() || error.is_decode() => "sent an answer that could not be read",
        _ => "failed",
    };
    StoreError::unreachable(
        format!("{what} {how}"),
        "Check the endpoint address, DNS and network policy between this workload and the store.",
    )
}

/// An answer's status and body text.
pub async fn read(what: &str, response: reqwest::Response) -> Result<(u16, String), StoreError> {
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| transport_error(what, &e))?;
    Ok((status, text))
}

/// Accepts only `https://` URLs, or `http://` to a loopback address (tests,
/// local sidecars): a bearer token is never sent in clear over a network.
pub fn check_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a URL".to_owned())?;
    let host = parsed.host_str().ok_or_else(|| "has no host".to_owned())?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => {
            Err("must use https (plain http is only accepted for loopback addresses)".to_owned())
        }
        _ => Err("must be an https URL".to_owned()),
    }
}

/// A bearer token and when it stops working. `Debug` hides the token.
#[derive(Clone)]
pub struct AccessToken {
    pub secret: String,
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A token-like value cached until shortly before it expires; concurrent
/// callers wait for one refresh instead of each fetching.
pub struct TokenCache<T> {
    slot: tokio::sync::Mutex<Option<Cached<T>>>,
    clock: Arc<dyn Clock>,
}

struct Cached<T> {
    value: T,
    fetched_at: SystemTime,
    expires_at: SystemTime,
}

impl<T: Clone> TokenCache<T> {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        TokenCache {
            slot: tokio::sync::Mutex::new(None),
            clock,
        }
    }

    /// The cached value, or `fetch`'s (value, expiry) stored for next time.
    pub async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<T, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, SystemTime), StoreError>>,
    {
        let mut slot = self.slot.lock().await;
        let now = self.clock.now();
        if let Some(cached) = slot.as_ref()
            && is_fresh(cached.fetched_at, cached.expires_at, now)
        {
            return Ok(cached.value.clone());
        }
        let (value, expires_at) = fetch().await?;
        *slot = Some(Cached {
            value: value.clone(),
            fetched_at: self.clock.now(),
            expires_at,
        });
        Ok(value)
    }

    /// Forgets the value (e.g. the store refused the token).
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

/// Fresh while more than the refresh margin is left: a quarter of the
/// lifetime, at most five minutes (the margin the clouds' SDKs use).
fn is_fresh(fetched_at: SystemTime, expires_at: SystemTime, now: SystemTime) -> bool {
    let lifetime = expires_at
        .duration_since(fetched_at)
        .unwrap_or(Duration::ZERO);
    let margin = (lifetime / REFRESH_MARGIN_DIVISOR).min(MAX_REFRESH_MARGIN);
    expires_at
        .duration_since(now)
        .is_ok_and(|left| left > margin)
}

/// `expires_in` arrives as a number (RFC 6749) or a string (Azure managed identity).
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    fn get(&self) -> Option<u64> {
        match self {
            Seconds::Number(n) => Some(*n),
            Seconds::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// An OAuth 2.0 token answer (RFC 6749 §5.1), with the Azure managed
/// identity variants (`expires_on` epoch seconds, numbers as strings).
#[derive(Deserialize)]
pub struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Seconds>,
    #[serde(default)]
    expires_on: Option<Seconds>,
}

/// Tokens without a stated lifetime are kept this long.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(300);

impl TokenResponse {
    pub fn into_token(self, now: SystemTime) -> AccessToken {
        let expires_at = match (
            self.expires_in.as_ref().and_then(Seconds::get),
            self.expires_on.as_ref().and_then(Seconds::get),
        ) {
            (Some(secs), _) => now + Duration::from_secs(secs),
            (None, Some(epoch)) => SystemTime::UNIX_EPOCH + Duration::from_secs(epoch),
            (None, None) => now + ASSUMED_LIFETIME,
        };
        AccessToken {
            secret: self.access_token,
            expires_at,
        }
    }
}

/// The OAuth error fields of a failed token request (RFC 6749 §5.2), as
/// text for a message; never the request.
pub fn oauth_error_text(body: &str) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_str::<OAuthError>(body) {
        Ok(e) => match e.error_description {
            Some(description) => server_text(&format!("{}: {description}", e.error)),
            None => server_text(&e.error),
        },
        Err(_) => "no OAuth error in the answer".to_owned(),
    }
}

/// POSTs a form to a token endpoint and reads the token. `who` names the
/// identity provider in messages; `basic` is `(client_id, client_secret)`
/// for `client_secret_basic` authentication.
pub async fn post_token_form(
    http: &reqwest::Client,
    who: &str,
    url: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
    now: SystemTime,
) -> Result<AccessToken, StoreError> {
    let body = {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    };
    let mut request = http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some((id, secret)) = basic {
        request = request.basic_auth(form_encode(id), Some(form_encode(secret)));
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(who, &e))?;
    token_from_response(who, response, now).await
}

/// Reads a token answer: 2xx with a token, else the OAuth error.
pub async fn token_from_response(
    who: &str,
    response: reqwest::Response,
    now: SystemTime,
) -> Result<AccessToken, StoreError> {
    let (status, text) = read(who, response).await?;
    if (200..300).contains(&status) {
        return serde_json::from_str::<TokenResponse>(&text)
            .map(|t| t.into_token(now))
            .map_err(|_| {
                StoreError::unexpected(format!("{who} answered {status} without an access token"))
            });
    }
    let detail = format!(
        "{who} refused the token request ({status}): {}",
        oauth_error_text(&text)
    );
    Err(if status >= 500 {
        StoreError::unreachable(detail, "The identity provider failed; try again later.")
    } else {
        StoreError::unauthenticated(
            detail,
            "Check the workload's identity settings (client id, tenant, credential file) against the identity provider.",
        )
    })
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_margin_scales_with_lifetime() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = t0 + Duration::from_secs(3600);
        assert!(is_fresh(t0, hour, t0 + Duration::from_secs(3000)));
        assert!(!is_fresh(t0, hour, t0 + Duration::from_secs(3301)));
        let short = t0 + Duration::from_secs(8);
        assert!(is_fresh(t0, short, t0 + Duration::from_secs(5)));
        assert!(!is_fresh(t0, short, t0 + Duration::from_secs(7)));
        assert!(!is_fresh(t0, t0, t0));
    }

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(check_url("https://vault.example.com").is_ok());
        assert!(check_url("http://127.0.0.1:8200").is_ok());
        assert!(check_url("http://[::1]:8200").is_ok());
        assert!(check_url("http://localhost:1").is_ok());
        assert!(check_url("http://vault.example.com").is_err());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn token_lifetimes_in_every_documented_shape() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let parse = |s: &str| {
            serde_json::from_str::<TokenResponse>(s)
                .unwrap()
                .into_token(now)
        };
        assert_eq!(
            parse(r#"{"access_token":"a","expires_in":60}"#).expires_at,
            now + Duration::from_secs(60)
        );
        assert_eq!(
            parse(r#"{"access_token":"a","expires_in":"60"}"#).expires_at,
            now + Duration::from_secs(60)
        );
        assert_eq!(
            parse(r#"{"access_token":"a","expires_on":"5000"}"#).expires_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(5000)
        );
        assert_eq!(
            parse(r#"{"access_token":"a"}"#).expires_at,
            now + ASSUMED_LIFETIME
        );
        assert!(!format!("{:?}", parse(r#"{"access_token":"CANARY"}"#)).contains("CANARY"));
    }
}
