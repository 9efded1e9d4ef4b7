//! Classification of Cloudflare failures into stable codes with a hint each.
//!
//! Cloudflare answers `{success:false, errors:[{code, message, error_chain?}]}`.
//! The codes (federation-formats.md §4.2) decide the class; the messages
//! are ours, never Cloudflare's text, so nothing it echoes can leak. The
//! token is never part of an error.

use alphaswarm_core::CoreError;

/// The call that failed: it changes what a code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    VerifyUser,
    VerifyAccount,
    TokenDetails,
    Zones,
    Accounts,
    Account,
    Probe,
}

impl Call {
    fn describe(self) -> &'static str {
        match self {
            Call::VerifyUser => "verifying the token as a user token",
            Call::VerifyAccount => "verifying the token as an account token",
            Call::TokenDetails => "reading the token's permissions",
            Call::Zones => "listing zones",
            Call::Accounts => "listing accounts",
            Call::Account => "reading the account",
            Call::Probe => "a read-only permission check",
        }
    }
}

/// Cloudflare's error codes the wizard distinguishes.
pub mod codes {
    /// "Invalid API Token": unknown, deleted or rolled; also an account token at the user endpoint.
    pub const INVALID_TOKEN: u32 = 1000;
    /// "Missing Authorization header", or "List accounts endpoint does not support account owned tokens".
    pub const BAD_REQUEST_FOR_TOKEN: u32 = 1001;
    /// "Invalid request headers", with the header at fault in `error_chain`.
    pub const INVALID_HEADERS: u32 = 6003;
    /// "Invalid format for X-Auth-Key header" (a token sent as a Global key).
    pub const INVALID_X_AUTH_KEY: u32 = 6103;
    /// "Invalid format for Authorization header" (a Global key sent as a token).
    pub const INVALID_AUTHORIZATION: u32 = 6111;
    /// "Could not route to …": no such account, zone or token id.
    pub const NO_ROUTE: u32 = 7003;
    /// "Unknown X-Auth-Key or X-Auth-Email".
    pub const UNKNOWN_GLOBAL_KEY: u32 = 9103;
    /// "Missing X-Auth-Key, X-Auth-Email or Authorization headers".
    pub const MISSING_CREDENTIALS: u32 = 9106;
    /// "Unauthorized to access requested resource".
    pub const UNAUTHORIZED_RESOURCE: u32 = 9109;
    /// "Authentication error": a valid token lacking the permission.
    pub const AUTHENTICATION_ERROR: u32 = 10000;
    /// Rate limited ("Please wait and consider throttling your request speed").
    pub const RATE_LIMITED: u32 = 971;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudflareError {
    #[error("Cloudflare does not recognise the token ({}: code 1000)", .call.describe())]
    InvalidToken { call: Call },
    #[error(
        "Cloudflare refused the format of the {header} header (codes {codes:?}): the value is not an API token"
    )]
    HeaderFormat {
        header: &'static str,
        codes: Vec<u32>,
    },
    #[error("the token may not make this call ({}: codes {codes:?})", .call.describe())]
    PermissionDenied { call: Call, codes: Vec<u32> },
    #[error("account-owned tokens cannot list accounts (code 1001)")]
    AccountTokenCannotListAccounts,
    #[error("Cloudflare has no such object ({}: HTTP {status}, codes {codes:?})", .call.describe())]
    NotFound {
        call: Call,
        status: u16,
        codes: Vec<u32>,
    },
    #[error("Cloudflare received no credentials ({}: codes {codes:?})", .call.describe())]
    CredentialsNotReceived { call: Call, codes: Vec<u32> },
    #[error("Cloudflare is rate-limiting requests ({})", .call.describe())]
    RateLimited { call: Call },
    #[error("Cloudflare could not be reached ({}): {detail}", .call.describe())]
    Unreachable { call: Call, detail: String },
    #[error("Cloudflare is unavailable ({}: HTTP {status})", .call.describe())]
    Unavailable { call: Call, status: u16 },
    #[error("Cloudflare answered unexpectedly ({}: HTTP {status}, codes {codes:?})", .call.describe())]
    Unexpected {
        call: Call,
        status: u16,
        codes: Vec<u32>,
    },
}

impl CloudflareError {
    /// Classifies an answer that was not a success, from its HTTP status and
    /// every error code (including `error_chain`); `messages` only tell the
    /// two meanings of 1001 apart.
    pub fn classify(call: Call, status: u16, codes: Vec<u32>, messages: &[String]) -> Self {
        use codes::*;
        let has = |c: u32| codes.contains(&c);
        if status == 429 || has(RATE_LIMITED) {
            return CloudflareError::RateLimited { call };
        }
        if has(INVALID_HEADERS) || has(INVALID_AUTHORIZATION) || has(INVALID_X_AUTH_KEY) {
            let header = if has(INVALID_X_AUTH_KEY) {
                "X-Auth-Key"
            } else {
                "Authorization"
            };
            return CloudflareError::HeaderFormat { header, codes };
        }
        if has(INVALID_TOKEN) {
            return CloudflareError::InvalidToken { call };
        }
        if has(BAD_REQUEST_FOR_TOKEN)
            && messages
                .iter()
                .any(|m| m.to_ascii_lowercase().contains("account owned tokens"))
        {
            return CloudflareError::AccountTokenCannotListAccounts;
        }
        if has(BAD_REQUEST_FOR_TOKEN) || has(MISSING_CREDENTIALS) || has(UNKNOWN_GLOBAL_KEY) {
            return CloudflareError::CredentialsNotReceived { call, codes };
        }
        if has(UNAUTHORIZED_RESOURCE) || has(AUTHENTICATION_ERROR) || status == 403 {
            return CloudflareError::PermissionDenied { call, codes };
        }
        if status >= 500 {
            return CloudflareError::Unavailable { call, status };
        }
        if has(NO_ROUTE) || status == 404 {
            return CloudflareError::NotFound {
                call,
                status,
                codes,
            };
        }
        CloudflareError::Unexpected {
            call,
            status,
            codes,
        }
    }

    /// The HTTP status the proxy answers with: 422 when Cloudflare refused
    /// the customer's token, 502 when Cloudflare itself is the problem.
    pub fn http_status(&self) -> u16 {
        match self {
            CloudflareError::InvalidToken { .. }
            | CloudflareError::HeaderFormat { .. }
            | CloudflareError::PermissionDenied { .. }
            | CloudflareError::AccountTokenCannotListAccounts
            | CloudflareError::NotFound { .. } => 422,
            CloudflareError::CredentialsNotReceived { .. }
            | CloudflareError::RateLimited { .. }
            | CloudflareError::Unreachable { .. }
            | CloudflareError::Unavailable { .. }
            | CloudflareError::Unexpected { .. } => 502,
        }
    }
}

impl CoreError for CloudflareError {
    fn code(&self) -> &'static str {
        match self {
            CloudflareError::InvalidToken { .. } => "cloudflare_invalid_token",
            CloudflareError::HeaderFormat { .. } => "cloudflare_token_format",
            CloudflareError::PermissionDenied { .. } => "cloudflare_permission_denied",
            CloudflareError::AccountTokenCannotListAccounts => "cloudflare_account_token",
            CloudflareError::NotFound { .. } => "cloudflare_not_found",
            CloudflareError::CredentialsNotReceived { .. } => "cloudflare_credentials_not_received",
            CloudflareError::RateLimited { .. } => "cloudflare_throttled",
            CloudflareError::Unreachable { .. } => "cloudflare_unreachable",
            CloudflareError::Unavailable { .. } => "cloudflare_unavailable",
            CloudflareError::Unexpected { .. } => "cloudflare_unexpected",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            CloudflareError::InvalidToken { .. }
            | CloudflareError::HeaderFormat { .. }
            | CloudflareError::PermissionDenied { .. } => Some("token"),
            CloudflareError::AccountTokenCannotListAccounts | CloudflareError::NotFound { .. } => {
                Some("account_id")
            }
            _ => None,
        }
    }

    fn hint(&self) -> String {
        match self {
            CloudflareError::InvalidToken { call: Call::VerifyAccount } => {
                "Check the account id, and that the token was created under that account's Manage Account > Account API Tokens; a user token is verified without an account id."
            }
            CloudflareError::InvalidToken { .. } => {
                "The token was deleted, rolled or mistyped: paste it again, or create a new one from the template link. A token created under Manage Account > Account API Tokens is verified per account: give the account id."
            }
            CloudflareError::HeaderFormat { .. } => {
                "Paste the API token itself (40 characters, or starting with cfut_ or cfat_), not the Global API key, an Origin CA key or the token's id."
            }
            CloudflareError::PermissionDenied { .. } => {
                "The token lacks a permission this call needs: step 4 lists the template's permission groups and what to add in the dashboard."
            }
            CloudflareError::AccountTokenCannotListAccounts => {
                "Account-owned tokens only reach their own account: give its account id."
            }
            CloudflareError::NotFound { .. } => {
                "Check the account id: 32 hexadecimal characters, shown in the dashboard's URL and on the account's Overview page."
            }
            CloudflareError::CredentialsNotReceived { .. } => {
                "Cloudflare did not see the Authorization header: something between the proxy and Cloudflare strips it. Check the egress path and ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL."
            }
            CloudflareError::RateLimited { .. } => {
                "Wait a minute and retry: Cloudflare limits each user to 1,200 API requests per five minutes."
            }
            CloudflareError::Unreachable { .. } => {
                "Check the proxy's network egress to api.cloudflare.com (or ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL), then retry."
            }
            CloudflareError::Unavailable { .. } => {
                "Retry in a few minutes; Cloudflare may be having an incident (cloudflarestatus.com)."
            }
            CloudflareError::Unexpected { .. } => {
                "Retry in a moment; if it persists, report the HTTP status and codes shown here."
            }
        }
        .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, codes: &[u32], message: &str) -> CloudflareError {
        CloudflareError::classify(
            Call::VerifyUser,
            status,
            codes.to_vec(),
            &[message.to_owned()],
        )
    }

    #[test]
    fn every_documented_code_has_a_class() {
        let cases: [(u16, &[u32], &str, &str); 13] = [
            (
                401,
                &[1000],
                "Invalid API Token",
                "cloudflare_invalid_token",
            ),
            (
                400,
                &[6003, 6111],
                "Invalid request headers",
                "cloudflare_token_format",
            ),
            (
                400,
                &[6003, 6103],
                "Invalid request headers",
                "cloudflare_token_format",
            ),
            (
                400,
                &[1001],
                "Missing \"Authorization\" header",
                "cloudflare_credentials_not_received",
            ),
            (
                400,
                &[1001],
                "List accounts endpoint does not support account owned tokens.",
                "cloudflare_account_token",
            ),
            (
                400,
                &[9106],
                "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
                "cloudflare_credentials_not_received",
            ),
            (
                403,
                &[9103],
                "Unknown X-Auth-Key or X-Auth-Email",
                "cloudflare_credentials_not_received",
            ),
            (
                403,
                &[9109],
                "Unauthorized to access requested resource",
                "cloudflare_permission_denied",
            ),
            (
                403,
                &[10000],
                "Authentication error",
                "cloudflare_permission_denied",
            ),
            (404, &[7003], "Could not route", "cloudflare_not_found"),
            (429, &[971], "Please wait", "cloudflare_throttled"),
            (503, &[], "", "cloudflare_unavailable"),
            (418, &[], "", "cloudflare_unexpected"),
        ];
        for (status, codes, message, want) in cases {
            let e = classify(status, codes, message);
            assert_eq!(e.code(), want, "{status} {codes:?}");
            assert!(!e.hint().is_empty());
            assert!(
                !e.to_string().contains(message) || message.is_empty(),
                "our words only: {e}"
            );
        }
        let e = classify(400, &[6003, 6103], "");
        assert!(e.to_string().contains("X-Auth-Key"));
        assert_eq!(classify(401, &[1000], "").http_status(), 422);
        assert_eq!(classify(502, &[], "").http_status(), 502);
        assert_eq!(classify(502, &[], "").code(), "cloudflare_unavailable");
    }
}
