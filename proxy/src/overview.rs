//! `GET /admin/accounts`: every organisation that has connections, with
//! each connection's kind, status and last check, for the UI's
//! organisations page. Masked or secret values never appear here: only
//! what a list of organisations needs.

use crate::app::AppState;
use crate::auth::AdminSession;
use crate::error::ApiError;
use crate::routes::store_error;
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/accounts", get(list_organisations))
}

async fn list_organisations(
    State(state): State<AppState>,
    AdminSession(_session): AdminSession,
) -> Result<Json<Value>, ApiError> {
    let records = state.store.list_all().await.map_err(store_error)?;
    Ok(Json(organisations(&records)))
}

/// The overview of `records`, organisations sorted by id and connections
/// by kind. AlphaSwarm's own accounts (`__platform__`) are Settings', not
/// an organisation's, so they are left out.
pub fn organisations(records: &[StoredIntegration]) -> Value {
    let platform = OrgId::platform();
    let mut by_org: BTreeMap<&str, Vec<&StoredIntegration>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.org_id != platform.as_str()) {
        by_org.entry(&record.org_id).or_default().push(record);
    }
    let organisations: Vec<Value> = by_org
        .into_iter()
        .map(|(org_id, mut connections)| {
            connections.sort_by(|a, b| a.kind.cmp(&b.kind));
            // RFC 3339 in UTC sorts as text.
            let last_check = connections
                .iter()
                .filter_map(|c| c.last_health_at.as_deref())
                .max();
            json!({
                "org_id": org_id,
                "last_health_at": last_check,
                "connections": connections.iter().map(|c| json!({
                    "kind": c.kind,
                    "status": c.status,
                    "connected_at": c.connected_at,
                    "last_health_at": c.last_health_at,
                    "last_health_status": c.last_health_status,
                    "error": c.error,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "organisations": organisations })
}
