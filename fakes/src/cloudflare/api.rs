//! The fake's HTTP surface: Cloudflare's envelope, authentication and the
//! handful of endpoints the proxy calls.

use super::policy::{self, Target};
use super::{CloudflareFake, Owner, Token};
use crate::traffic::{QuotaState, Style};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn router(fake: CloudflareFake) -> Router {
    let api = Router::new()
        .route("/user/tokens/verify", get(verify_user))
        .route("/user/tokens/permission_groups", get(permission_groups))
        .route("/user/tokens/{token_id}", get(user_token_details))
        .route("/accounts", get(list_accounts))
        .route("/accounts/{account_id}", get(account_details))
        .route("/accounts/{account_id}/tokens/verify", get(verify_account))
        .route(
            "/accounts/{account_id}/tokens/{token_id}",
            get(account_token_details),
        )
        .route(
            "/accounts/{account_id}/cfd_tunnel",
            account_list(&[policy::TUNNEL_READ, policy::TUNNEL_WRITE], || json!([])),
        )
        .route(
            "/accounts/{account_id}/access/apps",
            account_list(
                &[policy::ACCESS_APPS_READ, policy::ACCESS_APPS_WRITE],
                || json!([]),
            ),
        )
        .route(
            "/accounts/{account_id}/workers/scripts",
            account_list(
                &[policy::WORKERS_SCRIPTS_READ, policy::WORKERS_SCRIPTS_WRITE],
                || json!([]),
            ),
        )
        // R2 lists buckets as `{"buckets": [...]}`.
        .route(
            "/accounts/{account_id}/r2/buckets",
            account_list(
                &[policy::R2_READ, policy::R2_WRITE],
                || json!({"buckets": []}),
            ),
        )
        .route("/zones", get(list_zones))
        .route("/zones/{zone_id}/dns_records", get(dns_records))
        .method_not_allowed_fallback(|method: Method| async move {
            failure(
                StatusCode::METHOD_NOT_ALLOWED,
                7001,
                &format!("Method {method} not available for that URI."),
            )
        });
    let router = Router::new()
        .nest("/client/v4", api)
        .fallback(|request: Request| async move {
            failure(
                StatusCode::NOT_FOUND,
                7003,
                &format!(
                    "Could not route to {}, perhaps your object identifier is invalid?",
                    request.uri().path()
                ),
            )
        })
        .layer(axum::middleware::from_fn_with_state(fake.clone(), record))
        .with_state(fake.clone());
    fake.traffic().layer(
        router,
        Style {
            rate_limited,
            unavailable,
            quota_headers,
        },
    )
}

/// Cloudflare's API rate limit: 429 with code 971 and `Retry-After`.
fn rate_limited(retry_after: Duration, _quota: Option<&QuotaState>) -> Response {
    let mut response = failure(
        StatusCode::TOO_MANY_REQUESTS,
        971,
        "Please wait and consider throttling your request speed",
    );
    let seconds = retry_after.as_secs_f64().ceil() as u64;
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(seconds));
    response
}

/// An outage answers the edge's HTML error page, not the API envelope.
fn unavailable(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html><head><title>api.cloudflare.com | {0}</title></head><body>error code: {0}</body></html>",
            status.as_u16()
        )),
    )
        .into_response()
}

/// The API documents no quota headers on ordinary answers.
fn quota_headers(_: &QuotaState, _: &mut HeaderMap) {}

/// Keeps every request's method and path (never a header).
async fn record(State(fake): State<CloudflareFake>, request: Request, next: Next) -> Response {
    fake.record(request.method().as_str(), request.uri().path());
    next.run(request).await
}

// ---------------------------------------------------------------- envelope

fn success(result: Value) -> Response {
    axum::Json(json!({"success": true, "errors": [], "messages": [], "result": result}))
        .into_response()
}

fn paged(items: Vec<Value>, page: &Paging) -> Response {
    let total = items.len();
    let per_page = page.per_page();
    let number = page.page.unwrap_or(1).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((number - 1) * per_page)
        .take(per_page)
        .collect();
    axum::Json(json!({
        "success": true, "errors": [], "messages": [], "result": slice,
        "result_info": {
            "page": number, "per_page": per_page, "count": slice.len(),
            "total_count": total, "total_pages": total.div_ceil(per_page),
        }
    }))
    .into_response()
}

fn failure(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "success": false, "errors": [{"code": code, "message": message}],
            "messages": [], "result": null
        })),
    )
        .into_response()
}

/// 6003 "Invalid request headers" with the header at fault in `error_chain`.
fn header_failure(chain_code: u32, chain_message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "success": false,
            "errors": [{"code": 6003, "message": "Invalid request headers",
                        "error_chain": [{"code": chain_code, "message": chain_message}]}],
            "messages": [], "result": null
        })),
    )
        .into_response()
}

fn invalid_token() -> Response {
    failure(StatusCode::UNAUTHORIZED, 1000, "Invalid API Token")
}

fn forbidden() -> Response {
    failure(StatusCode::FORBIDDEN, 10000, "Authentication error")
}

fn unauthorized_resource() -> Response {
    failure(
        StatusCode::FORBIDDEN,
        9109,
        "Unauthorized to access requested resource",
    )
}

#[derive(Deserialize, Default)]
struct Paging {
    page: Option<usize>,
    per_page: Option<usize>,
    #[serde(rename = "account.id")]
    account_id: Option<String>,
    name: Option<String>,
}

impl Paging {
    /// Cloudflare's list endpoints take 5-50 per page (default 20).
    fn per_page(&self) -> usize {
        self.per_page.unwrap_or(20).clamp(5, 50)
    }
}

fn timestamp(t: OffsetDateTime) -> Value {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp())
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

// ---------------------------------------------------------------- authentication

/// A refused request's answer (boxed: a `Response` is large).
struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(response: Response) -> Self {
        Refusal(Box::new(response))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// A scoped token's shape: 40 characters, or the scannable `cfut_`/`cfat_`
/// prefix with at least 40 more. Anything else is a header format error.
fn token_shaped(value: &str) -> bool {
    let token_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match value
        .strip_prefix("cfut_")
        .or_else(|| value.strip_prefix("cfat_"))
    {
        Some(rest) => rest.len() >= 40 && token_chars(rest),
        None => value.len() == 40 && token_chars(value),
    }
}

fn global_key_shaped(value: &str) -> bool {
    value.starts_with("cfk_")
        || ((37..=45).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The token the request authenticates with, usable or not. `verify` is
/// true on the verify endpoints, which answer a missing header with 1001.
fn authenticate(
    fake: &CloudflareFake,
    headers: &HeaderMap,
    verify: bool,
) -> Result<Token, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let refusal = match (header("authorization"), header("x-auth-key")) {
        (Some(authorization), _) => {
            let value = authorization.strip_prefix("Bearer ").map(str::trim);
            match value {
                Some(value) if token_shaped(value) => {
                    return fake
                        .state()
                        .tokens
                        .iter()
                        .find(|t| t.value == value)
                        .cloned()
                        .ok_or_else(|| invalid_token().into());
                }
                _ => header_failure(6111, "Invalid format for Authorization header"),
            }
        }
        (None, Some(key)) if !global_key_shaped(key.trim()) => {
            header_failure(6103, "Invalid format for X-Auth-Key header")
        }
        (None, _) if verify => failure(
            StatusCode::BAD_REQUEST,
            1001,
            "Missing \"Authorization\" header",
        ),
        // The fake holds no Global API keys.
        (None, Some(_)) => failure(
            StatusCode::FORBIDDEN,
            9103,
            "Unknown X-Auth-Key or X-Auth-Email",
        ),
        (None, None) => failure(
            StatusCode::BAD_REQUEST,
            9106,
            "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
        ),
    };
    Err(refusal.into())
}

/// A token that may be used now (every endpoint but verify).
fn usable(fake: &CloudflareFake, headers: &HeaderMap) -> Result<Token, Refusal> {
    let token = authenticate(fake, headers, false)?;
    if token.usable(OffsetDateTime::now_utc()) {
        Ok(token)
    } else {
        Err(invalid_token().into())
    }
}

/// The caller of a list or read endpoint: a token usable now, else
/// Cloudflare's refusal.
struct Caller(Token);

impl axum::extract::FromRequestParts<CloudflareFake> for Caller {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        fake: &CloudflareFake,
    ) -> Result<Self, Refusal> {
        usable(fake, &parts.headers).map(Caller)
    }
}

/// Whether `token` may use one of `groups` on `target`. An account-owned
/// token reaches nothing outside its account.
fn may(token: &Token, groups: &[&str], target: Target<'_>) -> bool {
    let inside_own_account = match (&token.owner, target) {
        (Owner::Account(own), Target::Account(a) | Target::Zone { account: a, .. }) => own == a,
        (Owner::Account(_), Target::User(_)) => false,
        (Owner::User, _) => true,
    };
    inside_own_account && policy::allows(&token.policies, groups, target)
}

// ---------------------------------------------------------------- tokens

fn verify_result(token: &Token) -> Response {
    let mut result = json!({"id": token.id, "status": token.status.as_str()});
    if let Some(n) = token.not_before {
        result["not_before"] = timestamp(n);
    }
    if let Some(e) = token.expires_on {
        result["expires_on"] = timestamp(e);
    }
    axum::Json(json!({
        "success": true, "errors": [], "result": result,
        "messages": [{"code": 10000, "message": "This API Token is valid and active", "type": null}]
    }))
    .into_response()
}

async fn verify_user(State(fake): State<CloudflareFake>, headers: HeaderMap) -> Response {
    match authenticate(&fake, &headers, true) {
        Ok(token) if token.owner == Owner::User => verify_result(&token),
        // An account token is not a user token: "Invalid API Token".
        Ok(_) => invalid_token(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn verify_account(
    State(fake): State<CloudflareFake>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match authenticate(&fake, &headers, true) {
        Ok(token) if token.owner == Owner::Account(account_id) => verify_result(&token),
        Ok(_) => invalid_token(),
        Err(refusal) => refusal.into_response(),
    }
}

fn token_details(fake: &CloudflareFake, token: &Token) -> Response {
    let former = fake.state().former_names;
    let policies: Vec<Value> = token
        .policies
        .iter()
        .map(|p| {
            let groups: Vec<Value> = p
                .group_ids
                .iter()
                .map(|id| json!({"id": id, "name": fake.group_name(id, former)}))
                .collect();
            json!({"id": p.id, "effect": p.effect, "resources": p.resources, "permission_groups": groups})
        })
        .collect();
    let mut result = json!({
        "id": token.id, "name": token.name, "status": token.status.as_str(),
        "issued_on": timestamp(token.issued_on), "modified_on": timestamp(token.issued_on),
        "last_used_on": null, "condition": {}, "policies": policies,
    });
    if let Some(n) = token.not_before {
        result["not_before"] = timestamp(n);
    }
    if let Some(e) = token.expires_on {
        result["expires_on"] = timestamp(e);
    }
    success(result)
}

fn token_not_found() -> Response {
    failure(
        StatusCode::NOT_FOUND,
        7003,
        "Could not route to the token, perhaps your object identifier is invalid?",
    )
}

/// The caller, if it is usable and may use one of `groups` on `target`;
/// otherwise `refusal`'s answer.
fn caller_allowed(
    fake: &CloudflareFake,
    headers: &HeaderMap,
    groups: &[&str],
    target: Target<'_>,
    refusal: fn() -> Response,
) -> Result<Token, Refusal> {
    let caller = usable(fake, headers)?;
    if may(&caller, groups, target) {
        Ok(caller)
    } else {
        Err(refusal().into())
    }
}

/// Another token's details, when it has `owner`.
fn details_of(fake: &CloudflareFake, token_id: &str, owner: Owner) -> Response {
    let wanted = fake
        .state()
        .tokens
        .iter()
        .find(|t| t.id == token_id)
        .cloned();
    match wanted {
        Some(t) if t.owner == owner => token_details(fake, &t),
        _ => token_not_found(),
    }
}

const USER_TOKEN_READERS: [&str; 2] = [policy::API_TOKENS_READ, policy::API_TOKENS_WRITE];
const ACCOUNT_TOKEN_READERS: [&str; 2] = [
    policy::ACCOUNT_API_TOKENS_READ,
    policy::ACCOUNT_API_TOKENS_WRITE,
];

async fn user_token_details(
    State(fake): State<CloudflareFake>,
    Path(token_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tag = fake.user_tag();
    let target = Target::User(&tag);
    match caller_allowed(
        &fake,
        &headers,
        &USER_TOKEN_READERS,
        target,
        unauthorized_resource,
    ) {
        Ok(_) => details_of(&fake, &token_id, Owner::User),
        Err(refusal) => refusal.into_response(),
    }
}

async fn account_token_details(
    State(fake): State<CloudflareFake>,
    Path((account_id, token_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let target = Target::Account(&account_id);
    match caller_allowed(
        &fake,
        &headers,
        &ACCOUNT_TOKEN_READERS,
        target,
        unauthorized_resource,
    ) {
        Ok(_) => details_of(&fake, &token_id, Owner::Account(account_id.clone())),
        Err(refusal) => refusal.into_response(),
    }
}

async fn permission_groups(State(fake): State<CloudflareFake>, headers: HeaderMap) -> Response {
    let tag = fake.user_tag();
    let target = Target::User(&tag);
    if let Err(refusal) = caller_allowed(
        &fake,
        &headers,
        &USER_TOKEN_READERS,
        target,
        unauthorized_resource,
    ) {
        return refusal.into_response();
    }
    let former = fake.state().former_names;
    let groups: Vec<Value> = policy::CATALOG
        .iter()
        .map(|g| json!({"id": g.id, "name": fake.group_name(g.id, former), "scopes": [g.scope.api()]}))
        .collect();
    success(Value::Array(groups))
}

// ---------------------------------------------------------------- accounts and zones

async fn list_accounts(
    State(fake): State<CloudflareFake>,
    Query(paging): Query<Paging>,
    Caller(caller): Caller,
) -> Response {
    if caller.owner != Owner::User {
        return failure(
            StatusCode::BAD_REQUEST,
            1001,
            "List accounts endpoint does not support account owned tokens.",
        );
    }
    let zones = fake.zones();
    let items = fake
        .accounts()
        .into_iter()
        .filter(|a| {
            let own: Vec<&str> = zones
                .iter()
                .filter(|z| z.account_id == a.id)
                .map(|z| z.id.as_str())
                .collect();
            policy::touches_account(&caller.policies, &a.id, &own)
        })
        .map(|a| json!({"id": a.id, "name": a.name, "type": "standard", "settings": {}}))
        .collect();
    paged(items, &paging)
}

async fn account_details(
    State(fake): State<CloudflareFake>,
    Path(account_id): Path<String>,
    Caller(caller): Caller,
) -> Response {
    let account = fake.accounts().into_iter().find(|a| a.id == account_id);
    match account {
        Some(a)
            if may(
                &caller,
                &[policy::ACCOUNT_SETTINGS_READ],
                Target::Account(&a.id),
            ) =>
        {
            success(json!({"id": a.id, "name": a.name, "type": "standard", "settings": {}}))
        }
        _ => forbidden(),
    }
}

async fn list_zones(
    State(fake): State<CloudflareFake>,
    Query(paging): Query<Paging>,
    Caller(caller): Caller,
) -> Response {
    let accounts = fake.accounts();
    let items = fake
        .zones()
        .into_iter()
        .filter(|z| {
            paging
                .account_id
                .as_ref()
                .is_none_or(|a| &z.account_id == a)
        })
        .filter(|z| paging.name.as_ref().is_none_or(|n| &z.name == n))
        // Listing zones needs Zone Read on them; other zone groups list nothing.
        .filter(|z| {
            may(
                &caller,
                &[policy::ZONE_READ, policy::ZONE_WRITE],
                Target::Zone {
                    zone: &z.id,
                    account: &z.account_id,
                },
            )
        })
        .map(|z| {
            let account_name = accounts
                .iter()
                .find(|a| a.id == z.account_id)
                .map_or("", |a| a.name.as_str());
            json!({"id": z.id, "name": z.name, "status": "active", "paused": false,
                   "account": {"id": z.account_id, "name": account_name}})
        })
        .collect();
    paged(items, &paging)
}

async fn dns_records(
    State(fake): State<CloudflareFake>,
    Path(zone_id): Path<String>,
    Query(paging): Query<Paging>,
    Caller(caller): Caller,
) -> Response {
    let Some(zone) = fake.zones().into_iter().find(|z| z.id == zone_id) else {
        return forbidden();
    };
    let target = Target::Zone {
        zone: &zone.id,
        account: &zone.account_id,
    };
    if !may(&caller, &[policy::DNS_READ, policy::DNS_WRITE], target) {
        return forbidden();
    }
    let records = vec![
        json!({"id": format!("{}a", &zone.id[..31]), "type": "A", "name": zone.name, "content": "192.0.2.10", "ttl": 1, "proxied": true}),
        json!({"id": format!("{}b", &zone.id[..31]), "type": "TXT", "name": zone.name, "content": "\"v=spf1 -all\"", "ttl": 1, "proxied": false}),
    ];
    paged(records, &paging)
}

/// An account-level list endpoint: allowed with one of `groups` on the
/// account, answering `result`.
fn account_list(
    groups: &'static [&'static str],
    result: fn() -> Value,
) -> MethodRouter<CloudflareFake> {
    get(
        move |State(fake): State<CloudflareFake>,
              Path(account_id): Path<String>,
              headers: HeaderMap| async move {
            if !fake.accounts().iter().any(|a| a.id == account_id) {
                return forbidden();
            }
            let target = Target::Account(&account_id);
            match caller_allowed(&fake, &headers, groups, target, forbidden) {
                Ok(_) => success(result()),
                Err(refusal) => refusal.into_response(),
            }
        },
    )
}
