//! `GET /admin/credentials/describe` (the chain, never a value) and
//! `POST /admin/accounts/{org_id}/cloud/{cloud}/mint` (seed 000's
//! short-lived credentials): thin like the wizard's routes.
//!
//! Minting is step-up gated and audit-first (the pending row is written
//! before any cloud call; the step is `mint`). The cloud's provider mints
//! from the stored connection (AWS: AssumeRole with the org's external id
//! for `duration_seconds`); the credential is kept encrypted in the
//! integrations store under the operator's `credential_key` with its
//! expiry, and from then on resolves through the chain as
//! `integration_store` until it expires. The answer and the audit rows
//! carry metadata and expiry only.

use crate::app::AppState;
use crate::auth::{AdminSession, StepUp};
use crate::credentials::SERVICE;
use crate::credentials::integration::EXPIRES_AT;
use crate::error::{ApiError, JsonBody, path_rejection};
use crate::routes::{audited, org_and_provider, store_error, timestamp};
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use alphaswarm_core::keys::CredentialKey;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The kind of a minted credential's record in the integrations store.
pub const MINTED_KIND: &str = "minted_credential";
/// The audit step of a mint.
pub const MINT_STEP: &str = "mint";
/// AWS STS's bounds on `DurationSeconds` (15 min to 12 h); a role's own
/// maximum (1 h by default) may be lower, and STS says so.
pub const MIN_DURATION_SECONDS: u32 = 900;
pub const MAX_DURATION_SECONDS: u32 = 43_200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/credentials/describe", get(describe))
        .route("/admin/accounts/{org_id}/cloud/{cloud}/mint", post(mint))
}

/// The chain in resolution order with each store's settings, and which
/// store answered each of the proxy's own secrets. No value, ever.
async fn describe(State(state): State<AppState>, _session: AdminSession) -> Json<Value> {
    Json(json!({
        "chain": state.credentials.describe().stores,
        "proxy_secrets": state.own_secrets,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    credential_key: String,
    duration_seconds: i64,
}

async fn mint(
    State(state): State<AppState>,
    StepUp(session): StepUp,
    path: Result<Path<(String, String)>, PathRejection>,
    JsonBody(body): JsonBody<MintBody>,
) -> Result<Json<Value>, ApiError> {
    let Path((org_id, cloud)) = path.map_err(path_rejection)?;
    let (org, provider) = org_and_provider(&state, &org_id, &cloud)?;
    let key: CredentialKey = body
        .credential_key
        .trim()
        .parse()
        .map_err(|e| ApiError::from_core(&e).with_field("credential_key"))?;
    let duration = u32::try_from(body.duration_seconds)
        .ok()
        .filter(|d| (MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(d))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_duration",
                format!(
                    "A minted credential lives from {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds."
                ),
                "Send duration_seconds between 900 (15 minutes) and 43200 (12 hours); the role's maximum session duration may be lower.",
            )
            .with_field("duration_seconds")
        })?;
    refuse_reserved(&state, &key, &org).await?;
    let connection_key = CredentialKey::for_integration(provider.integration_kind(), &org)?;
    let cloud = provider.cloud();
    audited(&state, &session, &org, cloud, MINT_STEP, || async {
        let connection = state
            .store
            .get(&connection_key.to_string())
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "not_connected",
                    format!("The org {org} has no {cloud} connection to mint from."),
                    "Connect the cloud with the wizard first.",
                )
                .with_field("cloud_kind")
            })?;
        let minted = provider.mint(&org, &connection, duration).await?;
        let mut metadata = minted.metadata;
        metadata.insert("cloud".to_owned(), cloud.to_owned());
        metadata.insert("connection".to_owned(), connection_key.to_string());
        metadata.insert(EXPIRES_AT.to_owned(), minted.expires_at.clone());
        metadata.insert("duration_seconds".to_owned(), duration.to_string());
        metadata.insert("minted_by".to_owned(), session.subject.clone());
        let fields: Vec<String> = minted.secrets.keys().cloned().collect();
        let record = StoredIntegration {
            org_id: org.to_string(),
            kind: MINTED_KIND.to_owned(),
            credential_key: key.to_string(),
            status: "active".to_owned(),
            connected_at: timestamp(),
            metadata: metadata.clone(),
            secrets: minted.secrets,
            ..StoredIntegration::default()
        };
        state.store.put(record).await.map_err(store_error)?;
        tracing::info!(%key, org = %org, cloud, expires_at = %minted.expires_at, "credential minted");
        Ok(json!({
            "credential_key": key.to_string(),
            "source": "integration_store",
            "expires_at": minted.expires_at,
            "fields": fields,
            "metadata": metadata,
        }))
    })
    .await
}

/// A minted credential must not shadow a connection (its record holds the
/// role or the token), one of the proxy's own secrets, or another org's
/// minted credential.
async fn refuse_reserved(
    state: &AppState,
    key: &CredentialKey,
    org: &OrgId,
) -> Result<(), ApiError> {
    let reserved = key.service() == SERVICE
        || state.accounts.contains_key(key.service())
        || state
            .providers
            .values()
            .any(|p| p.integration_kind() == key.service());
    let existing = state
        .store
        .get(&key.to_string())
        .await
        .map_err(store_error)?;
    if reserved || existing.is_some_and(|r| r.kind != MINTED_KIND || r.org_id != org.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "credential_key_reserved",
            format!("The key {key} belongs to a connection, to the proxy itself or to another organisation."),
            "Pick a key of your own, e.g. deploy_aws:org-acme (a minted credential replaces only an earlier minted one).",
        )
        .with_field("credential_key"));
    }
    Ok(())
}

/// What a provider minted: the secret fields (kept encrypted, never shown),
/// when they expire (RFC 3339) and metadata to show.
pub struct Minted {
    pub secrets: BTreeMap<String, String>,
    pub expires_at: String,
    pub metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("expires_at", &self.expires_at)
            .field("metadata", &self.metadata)
            .finish()
    }
}
