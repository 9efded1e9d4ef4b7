//! The Cloudflare API client behind [`CloudflareApi`], so the provider can
//! be driven by any implementation; [`HttpCloudflare`] is the real one
//! (reqwest, `Authorization: Bearer`, Cloudflare's JSON envelope).
//!
//! Secrets: the token travels only in the `Authorization` header, marked
//! sensitive; it is an [`ApiToken`] (redacted `Debug`, no `Display`), and no
//! error or log line carries it.

mod client;
mod error;

pub use client::HttpCloudflare;
pub use error::{Call, CloudflareError, codes};

use alphaswarm_core::cloudflare::permissions::TokenPolicy;
use alphaswarm_core::cloudflare::token::TokenStatus;
use alphaswarm_core::cloudflare::{ApiToken, CloudflareAccountId, TokenOwner};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// `result` of a verify endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VerifiedToken {
    pub id: String,
    pub status: TokenStatus,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub expires_on: Option<String>,
}

/// `result` of the token details endpoint (what the wizard reads of it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenDetails {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub policies: Vec<TokenPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub account: Option<AccountRef>,
}

/// Some pages of a list, and whether more were left unread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub truncated: bool,
}

/// The calls the wizard makes with a customer's token; all read-only.
#[async_trait]
pub trait CloudflareApi: Send + Sync {
    /// `GET /user/tokens/verify`, or `GET /accounts/{account}/tokens/verify`
    /// for an account-owned token.
    async fn verify(
        &self,
        token: &ApiToken,
        owner: TokenOwner,
        account: Option<&CloudflareAccountId>,
    ) -> Result<VerifiedToken, CloudflareError>;

    /// `GET /user/tokens/{id}` or `GET /accounts/{account}/tokens/{id}`:
    /// the token's own policies, when it may read them.
    async fn token_details(
        &self,
        token: &ApiToken,
        owner: TokenOwner,
        account: Option<&CloudflareAccountId>,
        token_id: &CloudflareAccountId,
    ) -> Result<TokenDetails, CloudflareError>;

    /// `GET /zones` (of one account when given), at most `max` zones.
    async fn zones(
        &self,
        token: &ApiToken,
        account: Option<&CloudflareAccountId>,
        max: usize,
    ) -> Result<Listing<Zone>, CloudflareError>;

    /// `GET /accounts` (user tokens only), at most `max` accounts.
    async fn accounts(
        &self,
        token: &ApiToken,
        max: usize,
    ) -> Result<Listing<AccountRef>, CloudflareError>;

    /// `GET /accounts/{account}`.
    async fn account(
        &self,
        token: &ApiToken,
        account: &CloudflareAccountId,
    ) -> Result<AccountRef, CloudflareError>;

    /// A read-only list call (`path` relative to the API base): how many
    /// entries came back on the first page.
    async fn probe(&self, token: &ApiToken, path: &str) -> Result<usize, CloudflareError>;
}
