//! Settings → Workload identity: the core's Kubernetes wiring and diagnosis,
//! served to the UI so its wasm does not carry the renderers and the YAML
//! parser (the UI's size budget). Pure computation: no cloud call, no state,
//! no audit row; an admin session is enough.
//!
//! - `POST /admin/tools/workload-identity/render` — a `WorkloadIdentityRequest`
//!   (the npm package's `renderWorkloadIdentity` argument) → a `Bundle`;
//! - `POST /admin/tools/workload-identity/diagnose` — a `DiagnoseRequest`
//!   (`diagnoseWorkload`'s argument) → a `Diagnosis`.
//!
//! Pasted manifests may hold anything, so neither body is ever logged.

use crate::app::AppState;
use crate::auth::AdminSession;
use crate::error::{ApiError, JsonBody};
use alphaswarm_core::Bundle;
use alphaswarm_core::k8s::{self, DiagnoseRequest, Diagnosis, WorkloadIdentityRequest};
use axum::routing::post;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tools/workload-identity/render", post(render))
        .route("/admin/tools/workload-identity/diagnose", post(diagnose))
}

async fn render(
    _: AdminSession,
    JsonBody(request): JsonBody<WorkloadIdentityRequest>,
) -> Result<Json<Bundle>, ApiError> {
    Ok(Json(k8s::render(&request)?))
}

async fn diagnose(
    _: AdminSession,
    JsonBody(request): JsonBody<DiagnoseRequest>,
) -> Result<Json<Diagnosis>, ApiError> {
    // Parsing up to the body limit of YAML is milliseconds of CPU: off the
    // async workers, so a large paste does not stall other requests.
    let diagnosis = tokio::task::spawn_blocking(move || k8s::diagnose_workload(&request))
        .await
        .map_err(|_| {
            ApiError::internal(
                "diagnosis_failed",
                "The diagnosis stopped unexpectedly; nothing was kept.",
            )
        })??;
    Ok(Json(diagnosis))
}
