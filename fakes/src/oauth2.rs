//! OAuth 2.0 pieces the cloud fakes share, and a generic client-credentials
//! token endpoint (RFC 6749 §4.4) standing in for a platform identity
//! provider (the resolver's M2M store).
//!
//! - [`TokenLedger`]: every access token a fake issued, with its principal,
//!   audience, tenant and expiry. Resource fakes (Secret Manager, Key Vault)
//!   accept a bearer token only if the ledger has it, unexpired, for them —
//!   the fakes' equivalent of checking the issuer's signature.
//! - [`JwtIssuer`]: an RSA key that mints RS256 JWTs, e.g. a Kubernetes
//!   projected service-account token for workload identity tests; identity
//!   fakes verify such assertions with [`verify_assertion`].
//! - [`ClientCredentialsFake`]: `POST /oauth2/token` with `client_secret_basic`
//!   or `client_secret_post`, scopes checked, errors as RFC 6749 §5.2.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

/// What an issued access token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who it was issued to (client id, service account, object id, principal URI).
    pub principal: String,
    /// What it is for: a resource (`https://vault.azure.net`) or a scope.
    pub audience: String,
    /// Entra tenant, for the Azure fakes.
    pub tenant: Option<String>,
    pub expires_at: SystemTime,
}

/// Issued tokens, shared by a fake's token endpoints and its resource API.
#[derive(Clone, Default)]
pub struct TokenLedger {
    tokens: Arc<Mutex<BTreeMap<String, Grant>>>,
    issued: Arc<AtomicU64>,
}

impl TokenLedger {
    /// Issues a new opaque token (`prefix` + 32 random hex characters).
    pub fn issue(&self, prefix: &str, grant: Grant) -> String {
        let token = format!("{prefix}{}", random_hex(16));
        lock(&self.tokens).insert(token.clone(), grant);
        self.issued.fetch_add(1, Ordering::Relaxed);
        token
    }

    /// The grant of a known, unexpired token.
    pub fn check(&self, token: &str) -> Option<Grant> {
        lock(&self.tokens)
            .get(token)
            .filter(|grant| grant.expires_at > SystemTime::now())
            .cloned()
    }

    /// Revokes every token (a test of "the store refused a token it believed valid").
    pub fn revoke_all(&self) {
        lock(&self.tokens).clear();
    }

    /// How many tokens were issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Parses an `application/x-www-form-urlencoded` body.
pub fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// An RSA key pair that mints RS256 JWTs (an OIDC issuer's signing key).
pub struct JwtIssuer {
    pub issuer: String,
    pub key_id: String,
    encoding: EncodingKey,
    /// The public key, PEM (SPKI), for registering with a relying fake.
    pub public_pem: String,
    /// The private key, PEM (PKCS#8), for a credential file.
    pub private_pem: String,
}

impl JwtIssuer {
    /// A fresh 2048-bit key for `issuer`.
    pub fn new(issuer: &str) -> JwtIssuer {
        let private =
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key generation");
        let private_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding")
            .to_string();
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding");
        JwtIssuer {
            issuer: issuer.to_owned(),
            key_id: random_hex(8),
            encoding: EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("RSA PEM"),
            public_pem,
            private_pem,
        }
    }

    /// A JWT with `iss`, `sub`, `aud`, `iat`, `nbf` and `exp = iat + lifetime`.
    pub fn mint(&self, subject: &str, audience: &str, lifetime: Duration) -> String {
        let now = unix_now();
        self.mint_claims(json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime.as_secs(),
        }))
    }

    /// A JWT with exactly `claims`.
    pub fn mint_claims(&self, claims: Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("JWT signing")
    }

    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_rsa_pem(self.public_pem.as_bytes()).expect("RSA public PEM")
    }
}

/// Why an assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionError {
    Malformed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
}

/// Verifies an RS256 assertion: signature, `exp`/`nbf` (no leeway), `iss`,
/// one of `audiences` and the presence of `required` claims. Returns the claims.
pub fn verify_assertion(
    token: &str,
    key: &DecodingKey,
    issuer: &str,
    audiences: &[String],
    required: &[&str],
) -> Result<Value, AssertionError> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(required);
    validation.set_issuer(&[issuer]);
    validation.set_audience(audiences);
    jsonwebtoken::decode::<Value>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => AssertionError::BadSignature,
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AssertionError::Expired,
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => AssertionError::NotYetValid,
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => AssertionError::WrongIssuer,
            jsonwebtoken::errors::ErrorKind::InvalidAudience => AssertionError::WrongAudience,
            _ => AssertionError::Malformed,
        })
}

/// The unverified payload of a JWT (to pick the key by `iss` before verifying).
pub fn unverified_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2).
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

// ---------------------------------------------------------------- client credentials

struct ClientState {
    clients: BTreeMap<String, String>,
    allowed_scopes: BTreeSet<String>,
    lifetime: Duration,
}

/// A platform identity provider's token endpoint, `POST /oauth2/token`.
#[derive(Clone)]
pub struct ClientCredentialsFake {
    state: Arc<Mutex<ClientState>>,
    pub ledger: TokenLedger,
}

impl ClientCredentialsFake {
    /// Issues tokens of `lifetime` for the scopes in `allowed_scopes`.
    pub fn new(allowed_scopes: &[&str], lifetime: Duration) -> Self {
        ClientCredentialsFake {
            state: Arc::new(Mutex::new(ClientState {
                clients: BTreeMap::new(),
                allowed_scopes: allowed_scopes.iter().map(|s| (*s).to_owned()).collect(),
                lifetime,
            })),
            ledger: TokenLedger::default(),
        }
    }

    pub fn add_client(&self, id: &str, secret: &str) {
        lock(&self.state)
            .clients
            .insert(id.to_owned(), secret.to_owned());
    }

    pub fn set_lifetime(&self, lifetime: Duration) {
        lock(&self.state).lifetime = lifetime;
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth2/token", post(client_credentials_token))
            .with_state(self.clone())
    }
}

/// `client_secret_basic`: `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

async fn client_credentials_token(
    State(fake): State<ClientCredentialsFake>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let credentials = basic_credentials(&headers).or_else(|| {
        Some((
            fields.get("client_id")?.clone(),
            fields.get("client_secret")?.clone(),
        ))
    });
    let (lifetime, client) = {
        let state = lock(&fake.state);
        let client = credentials.filter(|(id, secret)| state.clients.get(id) == Some(secret));
        if let (Some(_), Some(scope)) = (&client, fields.get("scope"))
            && let Some(bad) = scope
                .split(' ')
                .find(|s| !state.allowed_scopes.contains(*s))
        {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                &format!("scope {bad} is not allowed for this client"),
            );
        }
        (state.lifetime, client)
    };
    let Some((client_id, _)) = client else {
        let mut response = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"token\""),
        );
        return response;
    };
    if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let scope = fields.get("scope").cloned().unwrap_or_default();
    let token = fake.ledger.issue(
        "m2m-",
        Grant {
            principal: client_id,
            audience: fields.get("audience").cloned().unwrap_or(scope.clone()),
            tenant: None,
            expires_at: SystemTime::now() + lifetime,
        },
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "scope": scope,
        })),
    )
        .into_response()
}
