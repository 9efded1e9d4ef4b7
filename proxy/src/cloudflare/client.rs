//! [`HttpCloudflare`]: the real [`CloudflareApi`] over HTTPS.

use super::error::{Call, CloudflareError};
use super::{AccountRef, CloudflareApi, Listing, TokenDetails, VerifiedToken, Zone};
use crate::aws::{describe_transport, ensure_tls_provider};
use alphaswarm_core::cloudflare::{ApiToken, CloudflareAccountId, TokenOwner};
use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Cloudflare's list endpoints take at most 50 per page.
const PAGE_SIZE: usize = 50;
/// Answers larger than this are not Cloudflare's (a list page is far smaller).
const MAX_BODY_BYTES: usize = 4 << 20;

/// The envelope every Cloudflare answer has.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_chain: Vec<ApiMessage>,
}

#[derive(Deserialize)]
struct ResultInfo {
    #[serde(default)]
    total_pages: Option<usize>,
}

/// Talks to the Cloudflare API at `base` (normally
/// `https://api.cloudflare.com/client/v4`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpCloudflare {
    http: reqwest::Client,
    base: String,
}

impl HttpCloudflare {
    /// `base` is the API root without a trailing slash (config checks it).
    pub fn new(base: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        ensure_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would carry the bearer token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("alphaswarm-proxy/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpCloudflare {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// One authenticated GET; the envelope on success, a classified error
    /// otherwise. `path` is built from validated ids only.
    async fn get(
        &self,
        call: Call,
        token: &ApiToken,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Envelope, CloudflareError> {
        let unreachable = |detail: String| CloudflareError::Unreachable { call, detail };
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| unreachable("the endpoint URL is not valid".to_owned()))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let response = self
            .http
            .get(url)
            // bearer_auth marks the header sensitive: it is never logged.
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unreachable(describe_transport(&e)))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unreachable(describe_transport(&e)))?;
        let unexpected = || CloudflareError::Unexpected {
            call,
            status,
            codes: Vec::new(),
        };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(unexpected());
        }
        let envelope: Envelope = match serde_json::from_slice(&bytes) {
            Ok(e) => e,
            // No envelope: the edge's own page for a 429 or an outage.
            Err(_) => {
                return Err(CloudflareError::classify(call, status, Vec::new(), &[]));
            }
        };
        if envelope.success && (200..300).contains(&status) {
            return Ok(envelope);
        }
        let mut codes = Vec::new();
        let mut messages = Vec::new();
        for e in &envelope.errors {
            codes.push(e.code);
            messages.push(e.message.clone());
            for c in &e.error_chain {
                codes.push(c.code);
                messages.push(c.message.clone());
            }
        }
        Err(CloudflareError::classify(call, status, codes, &messages))
    }

    fn result<T: DeserializeOwned>(call: Call, envelope: Envelope) -> Result<T, CloudflareError> {
        serde_json::from_value(envelope.result).map_err(|_| CloudflareError::Unexpected {
            call,
            status: 200,
            codes: Vec::new(),
        })
    }

    /// Reads pages of a list until `max` items or the last page.
    async fn list<T: DeserializeOwned>(
        &self,
        call: Call,
        token: &ApiToken,
        path: &str,
        filter: &[(&str, String)],
        max: usize,
    ) -> Result<Listing<T>, CloudflareError> {
        let mut items: Vec<T> = Vec::new();
        let mut page = 1;
        loop {
            let mut query = filter.to_vec();
            query.push(("page", page.to_string()));
            query.push(("per_page", PAGE_SIZE.to_string()));
            let envelope = self.get(call, token, path, &query).await?;
            let pages = envelope
                .result_info
                .as_ref()
                .and_then(|i| i.total_pages)
                .unwrap_or(1);
            let batch: Vec<T> = Self::result(call, envelope)?;
            let empty = batch.is_empty();
            items.extend(batch);
            if items.len() >= max {
                let truncated = items.len() > max || page < pages;
                items.truncate(max);
                return Ok(Listing { items, truncated });
            }
            if empty || page >= pages {
                return Ok(Listing {
                    items,
                    truncated: false,
                });
            }
            page += 1;
        }
    }
}

#[async_trait]
impl CloudflareApi for HttpCloudflare {
    async fn verify(
        &self,
        token: &ApiToken,
        owner: TokenOwner,
        account: Option<&CloudflareAccountId>,
    ) -> Result<VerifiedToken, CloudflareError> {
        let (call, path) = match (owner, account) {
            (TokenOwner::Account, Some(a)) => {
                (Call::VerifyAccount, format!("/accounts/{a}/tokens/verify"))
            }
            _ => (Call::VerifyUser, "/user/tokens/verify".to_owned()),
        };
        let envelope = self.get(call, token, &path, &[]).await?;
        Self::result(call, envelope)
    }

    async fn token_details(
        &self,
        token: &ApiToken,
        owner: TokenOwner,
        account: Option<&CloudflareAccountId>,
        token_id: &CloudflareAccountId,
    ) -> Result<TokenDetails, CloudflareError> {
        let path = match (owner, account) {
            (TokenOwner::Account, Some(a)) => format!("/accounts/{a}/tokens/{token_id}"),
            _ => format!("/user/tokens/{token_id}"),
        };
        let envelope = self.get(Call::TokenDetails, token, &path, &[]).await?;
        Self::result(Call::TokenDetails, envelope)
    }

    async fn zones(
        &self,
        token: &ApiToken,
        account: Option<&CloudflareAccountId>,
        max: usize,
    ) -> Result<Listing<Zone>, CloudflareError> {
        let filter: Vec<(&str, String)> = account
            .map(|a| vec![("account.id", a.to_string())])
            .unwrap_or_default();
        self.list(Call::Zones, token, "/zones", &filter, max).await
    }

    async fn accounts(
        &self,
        token: &ApiToken,
        max: usize,
    ) -> Result<Listing<AccountRef>, CloudflareError> {
        self.list(Call::Accounts, token, "/accounts", &[], max)
            .await
    }

    async fn account(
        &self,
        token: &ApiToken,
        account: &CloudflareAccountId,
    ) -> Result<AccountRef, CloudflareError> {
        let envelope = self
            .get(Call::Account, token, &format!("/accounts/{account}"), &[])
            .await?;
        Self::result(Call::Account, envelope)
    }

    async fn probe(&self, token: &ApiToken, path: &str) -> Result<usize, CloudflareError> {
        let envelope = self
            .get(Call::Probe, token, path, &[("per_page", "5".to_owned())])
            .await?;
        // Lists are arrays; R2's bucket list is `{"buckets": [...]}`.
        Ok(match &envelope.result {
            Value::Array(items) => items.len(),
            Value::Object(map) => map.values().find_map(Value::as_array).map_or(0, Vec::len),
            _ => 0,
        })
    }
}
