//! Azure Key Vault and the Entra ID / managed-identity token endpoints its
//! clients use.
//!
//! One router, as several hosts (tests point each at this fake):
//! - `GET /secrets/{name}?api-version=…` (the vault): no or a bad token →
//!   `401` with the `WWW-Authenticate: Bearer authorization="…", resource="…"`
//!   challenge; a token for another tenant or resource → `401`; a caller
//!   without the Key Vault Secrets User role → `403 Forbidden/ForbiddenByRbac`;
//!   `404 SecretNotFound`; a disabled secret → `403 Forbidden/SecretDisabled`;
//! - `POST /{tenant}/oauth2/v2.0/token` (login.microsoftonline.com): the
//!   client-credentials grant with a client secret or a federated client
//!   assertion (workload identity), checked as Entra does (AADSTS700016,
//!   7000215, 700211/700212/700213, 7002138, 700024, 70011, 90002);
//! - `GET /metadata/identity/oauth2/token` (IMDS, `Metadata: true`) and
//!   `GET /msi/token` (App Service, `X-IDENTITY-HEADER`): managed identity.
//!
//! Tokens are opaque entries of the [`TokenLedger`] bound to an object id, a
//! tenant and a resource. Texts follow federation-formats.md §2 and the
//! Key Vault REST reference.

// Handler helpers return a finished error `Response` early; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

// Entra error bodies (federation-formats.md §2.1), shared with the wizard's Entra fake.
use crate::azure::entra::entra_error;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::DecodingKey;
use serde_json::{Value, json};

use crate::oauth2::{
    AssertionError, Grant, JwtIssuer, TokenLedger, bearer, form, lock, random_hex, unix_now,
    unverified_claims, verify_assertion,
};

pub const VAULT_RESOURCE: &str = "https://vault.azure.net";
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
const TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct FederatedCredential {
    issuer: String,
    subject: String,
    audience: String,
    key: DecodingKey,
}

struct App {
    object_id: String,
    secret: Option<String>,
    federated: Vec<FederatedCredential>,
}

struct KvSecret {
    value: String,
    enabled: bool,
    exp: Option<u64>,
    version: String,
}

struct AzureState {
    base_url: String,
    tenant: String,
    apps: BTreeMap<String, App>,
    /// Managed identities: client id → object id (`""` key: system-assigned).
    managed: BTreeMap<String, String>,
    identity_header: String,
    secrets: BTreeMap<String, KvSecret>,
    /// Object ids holding Key Vault Secrets User on the vault.
    readers: BTreeSet<String>,
}

/// The fake. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct KeyVaultFake {
    state: Arc<Mutex<AzureState>>,
    pub ledger: TokenLedger,
}

impl KeyVaultFake {
    pub fn new(tenant: &str) -> Self {
        KeyVaultFake {
            state: Arc::new(Mutex::new(AzureState {
                base_url: String::new(),
                tenant: tenant.to_owned(),
                apps: BTreeMap::new(),
                managed: BTreeMap::new(),
                identity_header: random_hex(16),
                secrets: BTreeMap::new(),
                readers: BTreeSet::new(),
            })),
            ledger: TokenLedger::default(),
        }
    }

    /// Where the fake is served: the authority its challenges name.
    pub fn set_base_url(&self, url: &str) {
        lock(&self.state).base_url = url.trim_end_matches('/').to_owned();
    }

    /// Registers an app (service principal) with a client secret; returns its object id.
    pub fn add_app_with_secret(&self, client_id: &str, secret: &str) -> String {
        self.with_app(client_id, |app| app.secret = Some(secret.to_owned()))
    }

    /// Adds a federated identity credential to app `client_id` (created if
    /// new); returns the app's object id.
    pub fn add_federated_credential(
        &self,
        client_id: &str,
        issuer: &JwtIssuer,
        subject: &str,
    ) -> String {
        self.with_app(client_id, |app| {
            app.federated.push(FederatedCredential {
                issuer: issuer.issuer.clone(),
                subject: subject.to_owned(),
                audience: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
                key: issuer.decoding_key(),
            })
        })
    }

    /// Changes app `client_id` (created if new); returns its object id.
    fn with_app(&self, client_id: &str, change: impl FnOnce(&mut App)) -> String {
        let mut state = lock(&self.state);
        let app = state
            .apps
            .entry(client_id.to_owned())
            .or_insert_with(|| App {
                object_id: random_guid(),
                secret: None,
                federated: Vec::new(),
            });
        change(app);
        app.object_id.clone()
    }

    /// A managed identity (`client_id` `None`: system-assigned); returns its object id.
    pub fn add_managed_identity(&self, client_id: Option<&str>) -> String {
        let object_id = random_guid();
        lock(&self.state)
            .managed
            .insert(client_id.unwrap_or_default().to_owned(), object_id.clone());
        object_id
    }

    /// The value App Service puts in `IDENTITY_HEADER`.
    pub fn identity_header(&self) -> String {
        lock(&self.state).identity_header.clone()
    }

    pub fn set_secret(&self, name: &str, value: &str, enabled: bool, exp: Option<u64>) {
        lock(&self.state).secrets.insert(
            name.to_owned(),
            KvSecret {
                value: value.to_owned(),
                enabled,
                exp,
                version: random_hex(16),
            },
        );
    }

    /// Assigns Key Vault Secrets User on the vault to `object_id`.
    pub fn grant_reader(&self, object_id: &str) {
        lock(&self.state).readers.insert(object_id.to_owned());
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/secrets/{name}", get(get_secret))
            .route("/{tenant}/oauth2/v2.0/token", post(entra_token))
            .route("/metadata/identity/oauth2/token", get(imds_token))
            .route("/msi/token", get(app_service_token))
            .with_state(self.clone())
    }

    fn issue(&self, object_id: String, resource: &str, tenant: &str) -> String {
        self.ledger.issue(
            "eyJ0eXAi.",
            Grant {
                principal: object_id,
                audience: resource.trim_end_matches('/').to_owned(),
                tenant: Some(tenant.to_owned()),
                expires_at: SystemTime::now() + TOKEN_LIFETIME,
            },
        )
    }
}

fn random_guid() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn vault_error(status: StatusCode, code: &str, inner: Option<&str>, message: &str) -> Response {
    let mut error = json!({ "code": code, "message": message });
    if let Some(inner) = inner {
        error["innererror"] = json!({ "code": inner });
    }
    (status, Json(json!({ "error": error }))).into_response()
}

async fn get_secret(
    State(fake): State<KeyVaultFake>,
    Path(name): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !query
        .get("api-version")
        .is_some_and(|v| v.starts_with('7') || v.starts_with("20"))
    {
        return vault_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            None,
            "The request URI contains an invalid API version.",
        );
    }
    let state = lock(&fake.state);
    let unauthorized = |message: &str| {
        let mut response = vault_error(StatusCode::UNAUTHORIZED, "Unauthorized", None, message);
        let challenge = format!(
            "Bearer authorization=\"{}/{}\", resource=\"{VAULT_RESOURCE}\"",
            state.base_url, state.tenant
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    };
    let Some(token) = bearer(&headers) else {
        return unauthorized("AKV10000: Request is missing a Bearer or PoP token.");
    };
    let Some(grant) = fake.ledger.check(token) else {
        return unauthorized("AKV10013: Invalid token: the token is unknown or has expired.");
    };
    if grant.tenant.as_deref() != Some(state.tenant.as_str()) {
        return unauthorized(&format!(
            "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{}/, found https://sts.windows.net/{}/.",
            state.tenant,
            grant.tenant.unwrap_or_default()
        ));
    }
    if grant.audience != VAULT_RESOURCE {
        return unauthorized(&format!(
            "AKV10022: Invalid audience. Expected {VAULT_RESOURCE}, found: {}.",
            grant.audience
        ));
    }
    if !state.readers.contains(&grant.principal) {
        return vault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            Some("ForbiddenByRbac"),
            &format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: oid={};iss=https://sts.windows.net/{}/\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/secrets/{name}'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\n",
                grant.principal, state.tenant
            ),
        );
    }
    let Some(secret) = state.secrets.get(&name) else {
        return vault_error(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            None,
            &format!(
                "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
            ),
        );
    };
    if !secret.enabled {
        return vault_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            Some("SecretDisabled"),
            "Operation get is not allowed on a disabled secret.",
        );
    }
    let mut attributes = json!({ "enabled": true, "created": unix_now(), "updated": unix_now(), "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90 });
    if let Some(exp) = secret.exp {
        attributes["exp"] = json!(exp);
    }
    Json(json!({
        "value": secret.value,
        "id": format!("{}/secrets/{name}/{}", state.base_url, secret.version),
        "attributes": attributes,
        "tags": {},
    }))
    .into_response()
}

async fn entra_token(
    State(fake): State<KeyVaultFake>,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let (expected_tenant, object_id) = {
        let state = lock(&fake.state);
        if tenant != state.tenant {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                &format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            );
        }
        if field("grant_type") != "client_credentials" {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            );
        }
        let client_id = field("client_id");
        let Some(app) = state.apps.get(client_id) else {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            );
        };
        if let Err(response) = authenticate_app(app, client_id, &fields) {
            return response;
        }
        (state.tenant.clone(), app.object_id.clone())
    };
    let Some(resource) = field("scope").strip_suffix("/.default") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
                field("scope")
            ),
        );
    };
    let token = fake.issue(object_id, resource, &expected_tenant);
    Json(json!({ "token_type": "Bearer", "expires_in": TOKEN_LIFETIME.as_secs(), "ext_expires_in": TOKEN_LIFETIME.as_secs(), "access_token": token })).into_response()
}

/// A client secret, or a federated assertion matching one of the app's FICs.
fn authenticate_app(
    app: &App,
    client_id: &str,
    fields: &BTreeMap<String, String>,
) -> Result<(), Response> {
    let invalid_client = |code: u32, description: &str| {
        Err(entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        ))
    };
    if let Some(secret) = fields.get("client_secret") {
        return if app.secret.as_ref() == Some(secret) {
            Ok(())
        } else {
            invalid_client(
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            )
        };
    }
    if fields.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
        return Err(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    let assertion = fields
        .get("client_assertion")
        .map(String::as_str)
        .unwrap_or_default();
    let claims = unverified_claims(assertion).unwrap_or(Value::Null);
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (iss, sub, aud) = (claim("iss"), claim("sub"), claim("aud"));
    let by_issuer: Vec<&FederatedCredential> =
        app.federated.iter().filter(|f| f.issuer == iss).collect();
    if by_issuer.is_empty() {
        return invalid_client(
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        );
    }
    let Some(fic) = by_issuer.iter().find(|f| f.audience == aud) else {
        return invalid_client(
            700212,
            &format!(
                "No matching federated identity record found for presented assertion audience '{aud}'."
            ),
        );
    };
    if !by_issuer.iter().any(|f| f.subject == sub) {
        if by_issuer
            .iter()
            .any(|f| f.subject.eq_ignore_ascii_case(&sub))
        {
            return invalid_client(
                7002138,
                &format!(
                    "No matching federated identity record found for presented assertion subject '{sub}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison."
                ),
            );
        }
        return invalid_client(
            700213,
            &format!(
                "No matching federated identity record found for presented assertion subject '{sub}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
            ),
        );
    }
    match verify_assertion(
        assertion,
        &fic.key,
        &fic.issuer,
        std::slice::from_ref(&fic.audience),
        &["exp", "iss", "aud", "sub"],
    ) {
        Ok(_) => Ok(()),
        Err(AssertionError::Expired | AssertionError::NotYetValid) => invalid_client(
            700024,
            "Client assertion is not within its valid time range.",
        ),
        Err(_) => invalid_client(700027, "Client assertion failed signature validation."),
    }
}

fn managed_token(
    fake: &KeyVaultFake,
    query: &BTreeMap<String, String>,
) -> Result<(String, String, String), Response> {
    let state = lock(&fake.state);
    let client_id = query.get("client_id").cloned().unwrap_or_default();
    let Some(object_id) = state.managed.get(&client_id).cloned() else {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": "Identity not found"})),
        )
            .into_response());
    };
    let Some(resource) = query.get("resource").cloned() else {
        return Err((StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}))).into_response());
    };
    let tenant = state.tenant.clone();
    drop(state);
    Ok((
        fake.issue(object_id, &resource, &tenant),
        resource,
        client_id,
    ))
}

async fn imds_token(
    State(fake): State<KeyVaultFake>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}))).into_response();
    }
    if query.get("api-version").map(String::as_str) != Some("2018-02-01") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": "Invalid or missing api-version"}))).into_response();
    }
    match managed_token(&fake, &query) {
        Ok((token, resource, client_id)) => {
            let expires_on = unix_now() + TOKEN_LIFETIME.as_secs();
            Json(json!({
                "access_token": token, "client_id": client_id,
                "expires_in": TOKEN_LIFETIME.as_secs().to_string(), "expires_on": expires_on.to_string(),
                "ext_expires_in": TOKEN_LIFETIME.as_secs().to_string(), "not_before": unix_now().to_string(),
                "resource": resource, "token_type": "Bearer",
            }))
            .into_response()
        }
        Err(response) => response,
    }
}

async fn app_service_token(
    State(fake): State<KeyVaultFake>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let expected = fake.identity_header();
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"statusCode": 401, "message": "Unauthorized"})),
        )
            .into_response();
    }
    if query.get("api-version").map(String::as_str) != Some("2019-08-01") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"statusCode": 400, "message": "Invalid api-version"})),
        )
            .into_response();
    }
    match managed_token(&fake, &query) {
        Ok((token, resource, client_id)) => Json(json!({
            "access_token": token,
            "expires_on": (unix_now() + TOKEN_LIFETIME.as_secs()).to_string(),
            "resource": resource, "token_type": "Bearer", "client_id": client_id,
        }))
        .into_response(),
        Err(response) => response,
    }
}
