//! Seed 003's routes for every integration kind, thin like the wizard's:
//! authenticate (a fresh step-up), resolve the kind's provider, audit before
//! and after, store.
//!
//! - `POST /admin/accounts/{org_id}/integrations/{kind}` connects an account
//!   integration (`huggingface`, `dockerhub` or `docker_hub`);
//! - `DELETE …/integrations/{kind}` disconnects any kind and says what to
//!   revoke or delete on the vendor's side;
//! - `POST …/integrations/{kind}/health` re-checks a stored connection of
//!   any kind that has a health check.
//!
//! `{kind}` is a stored kind (`cloud_aws`, `huggingface`, `docker_hub`) or a
//! URL spelling (`aws`, `dockerhub`); Docker Hub is stored and reported as
//! `docker_hub`.

use crate::accounts::AccountProvider;
use crate::app::AppState;
use crate::auth::StepUp;
use crate::error::{ApiError, JsonBody, path_rejection};
use crate::health::{KindProvider, log_change, previous_status};
use crate::providers::Step;
use crate::routes::{
    AuditRun, audited, new_connection, refuse_overwrite, remove_integration, store_error, timestamp,
};
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use alphaswarm_core::keys::CredentialKey;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

/// The audit step of a health check.
pub const HEALTH_STEP: &str = "health";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/accounts/{org_id}/integrations/{kind}",
            post(connect).delete(disconnect),
        )
        .route(
            "/admin/accounts/{org_id}/integrations/{kind}/health",
            post(check_health),
        )
}

type OrgAndKind = Result<Path<(String, String)>, PathRejection>;

/// The kinds this proxy has a provider for, for error hints.
fn known_kinds(state: &AppState) -> String {
    state
        .accounts
        .keys()
        .copied()
        .chain(state.providers.values().map(|p| p.integration_kind()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn org_and_kind(state: &AppState, path: OrgAndKind) -> Result<(OrgId, KindProvider), ApiError> {
    let Path((org_id, kind)) = path.map_err(path_rejection)?;
    let org = OrgId::parse(&org_id)?;
    let provider = KindProvider::for_kind(state, &kind).ok_or_else(|| {
        ApiError::not_found(
            "integration_kind_not_supported",
            format!(
                "This proxy has no integration of that kind; it supports: {}.",
                known_kinds(state)
            ),
        )
        .with_field("kind")
    })?;
    Ok((org, provider))
}

fn account_provider(provider: KindProvider) -> Result<Arc<dyn AccountProvider>, ApiError> {
    match provider {
        KindProvider::Account(account) => Ok(account),
        KindProvider::Cloud(cloud) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "integration_kind_not_supported",
            format!(
                "{} connects through the cloud wizard, not with a token.",
                cloud.integration_kind()
            ),
            format!(
                "Walk the wizard: POST /admin/accounts/{{org_id}}/cloud/{}/bootstrap, then validate-identity, validate-permissions and connect.",
                cloud.cloud()
            ),
        )
        .with_field("kind")),
    }
}

async fn connect(
    State(state): State<AppState>,
    StepUp(session): StepUp,
    path: OrgAndKind,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let (org, provider) = org_and_kind(&state, path)?;
    let provider = account_provider(provider)?;
    let kind = provider.kind().integration_kind();
    audited(
        &state,
        &session,
        &org,
        kind,
        Step::Connect.audit_name(),
        || async {
            let body = refuse_overwrite(&state, &org, kind, body).await?;
            let connection = provider.connect(&org, body).await?;
            // Re-connecting (with replace: true) replaces the record, token and health included.
            let record = StoredIntegration {
                namespace: Some(connection.namespace),
                metadata: connection.metadata,
                lists: connection.lists,
                secrets: connection.secrets,
                ..new_connection(&org, kind)?
            };
            state.store.put(record.clone()).await.map_err(store_error)?;
            Ok(json!({ "integration": record.masked() }))
        },
    )
    .await
}

async fn disconnect(
    State(state): State<AppState>,
    StepUp(session): StepUp,
    path: OrgAndKind,
) -> Result<Json<Value>, ApiError> {
    let (org, provider) = org_and_kind(&state, path)?;
    let (label, kind) = (provider.audit_label(), provider.integration_kind());
    remove_integration(
        &state,
        &session,
        &org,
        label,
        kind,
        |record| match &provider {
            KindProvider::Account(account) => account.revocation_guidance(record),
            KindProvider::Cloud(cloud) => cloud.disconnect_cleanup(&org, record),
        },
    )
    .await
}

fn not_connected(kind: &str) -> ApiError {
    ApiError::not_found(
        "integration_not_found",
        format!("This organisation has no {kind} connection to check."),
    )
    .with_field("kind")
}

async fn check_health(
    State(state): State<AppState>,
    StepUp(session): StepUp,
    path: OrgAndKind,
) -> Result<Json<Value>, ApiError> {
    let (org, provider) = org_and_kind(&state, path)?;
    let kind = provider.integration_kind();
    let key = CredentialKey::for_integration(kind, &org)?.to_string();
    let record = state
        .store
        .get(&key)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_connected(kind))?;
    let run = AuditRun::begin(
        &state,
        &session.subject,
        &org,
        provider.audit_label(),
        HEALTH_STEP,
    )
    .await?;
    let audit_run_id = run.id().to_owned();
    let outcome = async {
        let verdict = provider.check(&org, &record).await.ok_or_else(|| {
            ApiError::not_found(
                "health_check_not_supported",
                format!("{kind} connections have no health check yet."),
            )
            .with_field("kind")
        })?;
        let checked_at = timestamp();
        let update = verdict.update_for(&record, &checked_at);
        let written = state
            .store
            .record_health(std::slice::from_ref(&update))
            .await
            .map_err(store_error)?;
        if written == 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "integration_changed",
                "The connection was replaced or removed while it was being checked.",
                "Reload the list and check again.",
            ));
        }
        log_change(&record, &verdict, &session.subject);
        let mut updated = record.clone();
        update.apply(&mut updated);
        Ok((verdict, updated, checked_at))
    }
    .await;
    match outcome {
        Ok((verdict, updated, checked_at)) => {
            run.finish(&state, verdict.error_code()).await?;
            Ok(Json(json!({
                "audit_run_id": audit_run_id,
                "integration": updated.masked(),
                "health": verdict.to_json(&checked_at, previous_status(&record)),
            })))
        }
        Err(e) => {
            run.finish(&state, Some(&e.code)).await?;
            Err(e.with_audit_run_id(audit_run_id))
        }
    }
}
