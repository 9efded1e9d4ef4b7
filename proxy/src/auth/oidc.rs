//! Production sessions: bearer JWTs from the configured identity provider,
//! checked against its JWKS (RS256/ES256), issuer, audience, expiry,
//! not-before and issue time, with a small configurable clock-skew leeway.

use super::{Claims, now};
use crate::config::OidcConfig;
use crate::error::ApiError;
use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::time::{Duration, Instant};

/// Production sessions: JWTs from the identity provider, checked against its JWKS.
pub struct OidcAuth {
    config: OidcConfig,
    http: reqwest::Client,
    keys: tokio::sync::RwLock<(jsonwebtoken::jwk::JwkSet, Option<Instant>)>,
}

impl OidcAuth {
    pub fn new(config: OidcConfig) -> Self {
        OidcAuth {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: tokio::sync::RwLock::new((jsonwebtoken::jwk::JwkSet { keys: Vec::new() }, None)),
        }
    }

    /// Fetches the JWKS; at most one attempt every 30 s (key rotation needs a
    /// refetch, but unknown `kid`s must not make us hammer the provider).
    async fn refresh(&self) -> Result<(), ApiError> {
        {
            let mut keys = self.keys.write().await;
            if keys
                .1
                .is_some_and(|t| t.elapsed() < Duration::from_secs(30))
            {
                return Ok(());
            }
            keys.1 = Some(Instant::now());
        }
        let fetched: Option<jsonwebtoken::jwk::JwkSet> = async {
            self.http
                .get(&self.config.jwks_url)
                .send()
                .await
                .ok()?
                .error_for_status()
                .ok()?
                .json()
                .await
                .ok()
        }
        .await;
        let Some(set) = fetched else {
            tracing::warn!("the identity provider's JWKS could not be fetched");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "identity_provider_unreachable",
                "The identity provider's signing keys could not be fetched.",
                "Check ALPHASWARM_ADMIN_OIDC_JWKS_URL and the proxy's network access.",
            )
            .with_field(crate::config::OIDC_JWKS_URL));
        };
        self.keys.write().await.0 = set;
        Ok(())
    }

    pub(super) async fn verify(&self, token: &str) -> Result<Option<Claims>, ApiError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Ok(None);
        }
        let find = |set: &jsonwebtoken::jwk::JwkSet| match &header.kid {
            Some(kid) => set.find(kid).cloned(),
            None => set.keys.first().cloned(),
        };
        let mut jwk = find(&self.keys.read().await.0);
        if jwk.is_none() {
            self.refresh().await?;
            jwk = find(&self.keys.read().await.0);
        }
        let Some(jwk) = jwk else { return Ok(None) };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            return Ok(None);
        };
        let leeway = self.config.leeway_seconds;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = leeway;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .ok()
            .map(|d| d.claims);
        // A token issued in the future was minted by a clock (or a forger)
        // this proxy should not trust; jsonwebtoken checks exp and nbf only.
        Ok(claims.filter(|c| c.iat <= now() + leeway as i64))
    }
}
