//! `POST /v1/token` (sts.googleapis.com): the workload identity token
//! exchange, refused with STS's OAuth-style errors (federation-formats §3.1;
//! texts marked there as unconfirmed are worded plainly).

// Handler helpers return a finished error `Response` early; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use super::state::{Caller, Provider};
use super::{GcpFake, TOKEN_LIFETIME_SECONDS, cel};
use crate::oauth2::{form, oauth_error};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PROVIDER_PREFIX: &str = "//iam.googleapis.com/";
const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;

fn refuse(error: &str, description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

fn invalid_grant(description: &str) -> Response {
    refuse("invalid_grant", description)
}

/// `projects/<n>/locations/global/workloadIdentityPools/<p>/providers/<r>`
/// split into (pool resource, provider id), or `None` when the audience is
/// not a provider's full name.
fn provider_name(audience: &str) -> Option<(&str, &str)> {
    let name = audience.strip_prefix(PROVIDER_PREFIX)?;
    let (pool, provider) = name.split_once("/providers/")?;
    let parts: Vec<&str> = pool.split('/').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "projects"
        && !parts[1].is_empty()
        && parts[2] == "locations"
        && parts[4] == "workloadIdentityPools"
        && !parts[5].is_empty()
        && !provider.is_empty()
        && !provider.contains('/');
    well_formed.then_some((pool, provider))
}

pub async fn token(
    State(fake): State<GcpFake>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return refuse(
            "invalid_request",
            "The request must not carry an Authorization header.",
        );
    }
    let fields = form(&body);
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
        return refuse(
            "unsupported_grant_type",
            "Invalid value for \"grant_type\".",
        );
    }
    if !matches!(
        field("subject_token_type"),
        "urn:ietf:params:oauth:token-type:jwt" | "urn:ietf:params:oauth:token-type:id_token"
    ) {
        return refuse(
            "invalid_request",
            "Invalid value for \"subject_token_type\".",
        );
    }
    if !matches!(
        field("requested_token_type"),
        "" | "urn:ietf:params:oauth:token-type:access_token"
    ) {
        return refuse(
            "invalid_request",
            "Invalid value for \"requested_token_type\".",
        );
    }
    if field("subject_token").is_empty() {
        return refuse(
            "invalid_request",
            "Missing required parameter: \"subject_token\".",
        );
    }
    let audience = field("audience");
    let Some((pool_name, provider_id)) = provider_name(audience) else {
        return refuse(
            "invalid_request",
            "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.",
        );
    };
    let (provider, now, max_age) = {
        let world = fake.world();
        let provider = world
            .pools
            .get(pool_name)
            .filter(|p| p.deleted_at.is_none() && !p.disabled)
            .and_then(|p| p.providers.get(provider_id))
            .filter(|p| !p.disabled)
            .cloned();
        (provider, world.now(), world.max_assertion_age_seconds)
    };
    let Some(provider) = provider else {
        return refuse(
            "invalid_target",
            "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.",
        );
    };
    let claims = match verify(&fake, &provider, field("subject_token")).await {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    if let Err(response) = check_claims(&provider, &claims, audience, now, max_age) {
        return response;
    }
    let mut attributes = BTreeMap::new();
    for (key, expr) in &provider.attribute_mapping {
        let scope = cel::Scope {
            assertion: &claims,
            attributes: &BTreeMap::new(),
        };
        if let cel::Val::Str(value) = cel::eval(expr, &scope) {
            attributes.insert(key.clone(), value);
        }
    }
    let Some(subject) = attributes.get("google.subject").cloned() else {
        return invalid_grant("The mapped attribute google.subject is missing from the ID Token.");
    };
    if subject.len() > 127 {
        return invalid_grant("The mapped attribute google.subject exceeds 127 bytes.");
    }
    if let Some(condition) = &provider.attribute_condition {
        let scope = cel::Scope {
            assertion: &claims,
            attributes: &attributes,
        };
        if !cel::truthy(cel::eval(condition, &scope)) {
            return refuse(
                "unauthorized_client",
                "The given credential is rejected by the attribute condition.",
            );
        }
    }
    let caller = Caller::Federated {
        principal: format!("principal://iam.googleapis.com/{pool_name}/subject/{subject}"),
        pool: pool_name.to_owned(),
    };
    let token = fake
        .world()
        .issue("ya29.d.sts-", caller, now + TOKEN_LIFETIME_SECONDS);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": token,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        })),
    )
        .into_response()
}

/// The issuer's keys: uploaded with the provider, else its discovery
/// document's `jwks_uri`, fetched as Google fetches them.
async fn issuer_keys(fake: &GcpFake, provider: &Provider) -> Result<JwkSet, Response> {
    let unreachable = || {
        invalid_grant("Unable to retrieve the OIDC discovery document or the JWKS from the issuer.")
    };
    if let Some(uploaded) = &provider.jwks_json {
        return serde_json::from_str(uploaded).map_err(|_| unreachable());
    }
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        provider.issuer_uri.trim_end_matches('/')
    );
    let discovery: Value = get_json(fake, &discovery_url)
        .await
        .ok_or_else(unreachable)?;
    if discovery["issuer"].as_str() != Some(provider.issuer_uri.as_str()) {
        return Err(invalid_grant(
            "The issuer in the OIDC discovery document does not match the provider's issuer URI.",
        ));
    }
    let jwks_uri = discovery["jwks_uri"].as_str().ok_or_else(unreachable)?;
    let jwks: Value = get_json(fake, jwks_uri).await.ok_or_else(unreachable)?;
    serde_json::from_value(jwks).map_err(|_| unreachable())
}

async fn get_json(fake: &GcpFake, url: &str) -> Option<Value> {
    let response = fake.http.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// Signature by `kid` (RS256 or ES256); the claims, unchecked otherwise.
async fn verify(fake: &GcpFake, provider: &Provider, token: &str) -> Result<Value, Response> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid_grant("The ID Token is not a valid JWT."))?;
    let Some(kid) = header
        .kid
        .clone()
        .filter(|_| matches!(header.alg, Algorithm::RS256 | Algorithm::ES256))
    else {
        return Err(invalid_grant(
            "The ID Token header must carry a kid and alg RS256 or ES256.",
        ));
    };
    let keys = issuer_keys(fake, provider).await?;
    let jwk: &Jwk = keys.find(&kid).ok_or_else(|| {
        invalid_grant(&format!(
            "The kid in the ID Token header [{kid}] does not match any key of the issuer."
        ))
    })?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| invalid_grant("The issuer's key for this kid cannot be used."))?;
    let mut validation = Validation::new(header.alg);
    // Time and audience are checked below, against the fake's clock and
    // the provider's audiences, in Google's order and words.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| invalid_grant("The ID Token signature is invalid."))
}

fn check_claims(
    provider: &Provider,
    claims: &Value,
    audience: &str,
    now: i64,
    max_age: i64,
) -> Result<(), Response> {
    let iss = claims["iss"].as_str().unwrap_or_default();
    if iss != provider.issuer_uri {
        return Err(invalid_grant(&format!(
            "The issuer in ID Token [{iss}] does not match the expected issuer [{}].",
            provider.issuer_uri
        )));
    }
    let accepted: Vec<String> = if provider.allowed_audiences.is_empty() {
        let name = audience.trim_start_matches(PROVIDER_PREFIX);
        vec![
            format!("{PROVIDER_PREFIX}{name}"),
            format!("https://iam.googleapis.com/{name}"),
        ]
    } else {
        provider.allowed_audiences.clone()
    };
    let auds: Vec<&str> = match &claims["aud"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !auds.iter().any(|a| accepted.iter().any(|x| x == a)) {
        return Err(invalid_grant(&format!(
            "The audience in ID Token [{}] does not match the expected audience.",
            auds.join(", ")
        )));
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(invalid_grant("The ID Token must carry iat and exp."));
    };
    if iat > now {
        return Err(invalid_grant(&format!(
            "ID Token issued at {iat} is in the future."
        )));
    }
    if exp <= now {
        return Err(invalid_grant(&format!("ID Token expired at {exp}.")));
    }
    if exp - iat > MAX_LIFETIME_SECONDS {
        return Err(invalid_grant(
            "The ID Token's exp must be at most 24 hours after its iat.",
        ));
    }
    if now - iat > max_age {
        return Err(invalid_grant(&format!(
            "ID Token issued at {iat} is stale to sign-in."
        )));
    }
    Ok(())
}
