//! The HTTP surface of proxy/API.md. Handlers are thin: authenticate
//! (extractors), validate the path, write the pending audit row, hand the
//! body to the cloud's provider, write the result row, answer.

use crate::app::AppState;
use crate::audit::{AuditEvent, Phase};
use crate::auth::{AdminSession, Session, StepUp};
use crate::edge::ClientAddr;
use crate::error::{ApiError, JsonBody, path_rejection};
use crate::providers::{CloudProvider, Step};
use crate::store::StoredIntegration;
use alphaswarm_core::OrgId;
use alphaswarm_core::keys::CredentialKey;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use tower_http::services::{ServeDir, ServeFile};

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/auth/login", post(login))
        .route("/auth/step-up", post(step_up))
        .route("/auth/session", get(session))
        .route(
            "/admin/accounts/{org_id}/cloud/{cloud}/bootstrap",
            post(bootstrap),
        )
        .route(
            "/admin/accounts/{org_id}/cloud/{cloud}/{step}",
            post(wizard_step),
        )
        .route(
            "/admin/accounts/{org_id}/cloud/{cloud}",
            axum::routing::delete(disconnect),
        )
        .route(
            "/admin/accounts/{org_id}/integrations",
            get(list_integrations),
        )
        .route("/admin/audit/verify", get(verify_audit))
        .route("/admin/clouds", get(list_clouds))
        .merge(crate::integration_routes::router())
        .merge(crate::sandbox::apply::router())
        .merge(crate::credentials::routes::router())
        .merge(crate::overview::router())
        .merge(crate::tools::router())
        .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
        .route(
            "/admin/{*rest}",
            axum::routing::any(|| async { api_not_found() }),
        )
        .route(
            "/auth/{*rest}",
            axum::routing::any(|| async { api_not_found() }),
        );
    let web_dir = state.config.web_dir.clone();
    let edge = crate::edge::Edge::new(&state.config.http, &state.config.federation);
    let api = api
        .merge(crate::federation::router(&state.config.federation))
        .with_state(state);
    if web_dir.join("index.html").is_file() {
        api.fallback_service(web_ui(&web_dir))
    } else {
        api.fallback(|| async {
            ApiError::not_found(
                "web_ui_not_built",
                "The web UI is not built, so there is nothing to serve here.",
            )
        })
    }
    .method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This route does not accept that method.",
            "Check the method against proxy/API.md.",
        )
    })
    .layer(axum::middleware::from_fn_with_state(
        edge,
        crate::edge::guard,
    ))
    .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The built UI: each file as `scripts/build-web.sh` left it, or its
/// precompressed `.gz` twin (gzip -9, written by the build) to a browser
/// that accepts gzip, so what travels is the figure the size budget counts;
/// `index.html` for client-side routes. `Vary` tells caches the answer
/// depends on `Accept-Encoding`.
fn web_ui(web_dir: &std::path::Path) -> tower::util::MapResponse<WebFiles, fn(WebFile) -> WebFile> {
    let index = ServeFile::new(web_dir.join("index.html")).precompressed_gzip();
    tower::util::MapResponse::new(
        ServeDir::new(web_dir).precompressed_gzip().fallback(index),
        vary_on_encoding as fn(WebFile) -> WebFile,
    )
}

type WebFiles = ServeDir<ServeFile>;
type WebFile = axum::http::Response<tower_http::services::fs::ServeFileSystemResponseBody>;

fn vary_on_encoding(mut response: WebFile) -> WebFile {
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("accept-encoding"),
    );
    response
}

/// Readiness, and whether the clouds are simulated (the UI's banner shows
/// before anyone logs in).
async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "ok": true, "sandbox": state.sandbox.is_some() }))
}

fn api_not_found() -> ApiError {
    ApiError::not_found("not_found", "No such route.")
}

pub(crate) fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn rfc3339(seconds: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

// ------------------------------------------------------------ session

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let outcome = state
        .auth
        .login(&state.limiter, client, &body.username, &body.password)
        .await;
    // The typed name is recorded only when it is the operator's: anything
    // else may be a password typed into the wrong box.
    let actor = if body.username == crate::auth::OPERATOR_USERNAME {
        crate::auth::OPERATOR_USERNAME
    } else {
        "unknown_user"
    };
    audit_session_event(&state, actor, "", "login", outcome.as_ref().err()).await;
    let (token, exp) = outcome?;
    tracing::info!(user = %crate::auth::OPERATOR_USERNAME, "operator logged in");
    Ok(Json(
        json!({ "token": token, "expires_at": rfc3339(exp), "step_up_until": null }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepUpBody {
    code: String,
}

async fn step_up(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AdminSession(session): AdminSession,
    JsonBody(body): JsonBody<StepUpBody>,
) -> Result<Json<Value>, ApiError> {
    let outcome = state
        .auth
        .step_up(&state.limiter, client, &session, body.code.trim())
        .await;
    audit_session_event(
        &state,
        &session.subject,
        "",
        "step_up",
        outcome.as_ref().err(),
    )
    .await;
    let (token, exp, auth_time) = outcome?;
    tracing::info!(user = %session.subject, "operator stepped up");
    let until = auth_time + state.config.step_up_max_age_seconds as i64;
    Ok(Json(
        json!({ "token": token, "expires_at": rfc3339(exp), "step_up_until": rfc3339(until) }),
    ))
}

async fn session(
    State(state): State<AppState>,
    AdminSession(session): AdminSession,
) -> Json<Value> {
    let until = session
        .step_up_until(state.config.step_up_max_age_seconds)
        .filter(|u| *u >= crate::auth::now())
        .and_then(rfc3339);
    Json(json!({
        "subject": session.subject,
        "scopes": session.scopes,
        "mode": state.auth.mode(),
        "step_up_until": until,
        "expires_at": rfc3339(session.expires_at),
    }))
}

// ------------------------------------------------------------ wizard

pub(crate) fn org_and_provider(
    state: &AppState,
    org_id: &str,
    cloud: &str,
) -> Result<(OrgId, Arc<dyn CloudProvider>), ApiError> {
    let org = OrgId::parse(org_id)?;
    let provider = state.providers.get(cloud).cloned().ok_or_else(|| {
        ApiError::not_found(
            "cloud_not_supported",
            format!(
                "This proxy has no wizard for that cloud; it supports: {}.",
                state
                    .providers
                    .keys()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_field("cloud_kind")
    })?;
    Ok((org, provider))
}

async fn bootstrap(
    State(state): State<AppState>,
    AdminSession(session): AdminSession,
    path: Result<Path<(String, String)>, PathRejection>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let Path((org_id, cloud)) = path.map_err(path_rejection)?;
    let (org, provider) = org_and_provider(&state, &org_id, &cloud)?;
    // Every bootstrap field is optional, so an empty body is allowed.
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::bad_request(
                "invalid_json",
                "The body is not valid JSON.",
                "Send a JSON object.",
            )
        })?
    };
    let outcome = provider.bootstrap(&org, body).await;
    audit_session_event(
        &state,
        &session.subject,
        org.as_str(),
        &format!("{}:bootstrap", provider.cloud()),
        outcome.as_ref().err(),
    )
    .await;
    Ok(Json(outcome?))
}

/// One result row for an action that is not a wizard step run (a login, a
/// step-up, a bootstrap): `succeeded`, or `failed` with the error's code.
/// Never a secret: the actor, the org, what was done and the code only.
/// A refusal by the attempt budget is not recorded (see below).
/// A row that cannot be written is logged; the action's answer stands.
async fn audit_session_event(
    state: &AppState,
    actor: &str,
    org_id: &str,
    action: &str,
    error: Option<&ApiError>,
) {
    // Refused by the attempt budget (429): nothing was checked. Not audited,
    // so a flood cannot grow the trail (or queue on its fsync) beyond the
    // attempts the budget lets through.
    if error.is_some_and(|e| e.status == StatusCode::TOO_MANY_REQUESTS) {
        return;
    }
    let (cloud, step) = action.split_once(':').unwrap_or(("auth", action));
    let now = timestamp();
    let event = AuditEvent {
        audit_run_id: uuid::Uuid::new_v4().to_string(),
        phase: if error.is_some() {
            Phase::Failed
        } else {
            Phase::Succeeded
        },
        actor: actor.to_owned(),
        org_id: org_id.to_owned(),
        cloud: cloud.to_owned(),
        step: step.to_owned(),
        error_code: error.map(|e| e.code.clone()),
        started_at: now.clone(),
        finished_at: Some(now),
    };
    if let Err(e) = state.audit.append(event).await {
        tracing::error!(error = %e, action, "audit row not written");
    }
}

/// An audit run: its pending row is written; [`AuditRun::finish`] writes
/// the result row.
pub(crate) struct AuditRun {
    event: AuditEvent,
}

impl AuditRun {
    /// Writes the pending row; if it cannot be written the step must not run.
    pub(crate) async fn begin(
        state: &AppState,
        actor: &str,
        org: &OrgId,
        cloud: &str,
        step: &str,
    ) -> Result<AuditRun, ApiError> {
        let event = AuditEvent {
            audit_run_id: uuid::Uuid::new_v4().to_string(),
            phase: Phase::Pending,
            actor: actor.to_owned(),
            org_id: org.to_string(),
            cloud: cloud.to_owned(),
            step: step.to_owned(),
            error_code: None,
            started_at: timestamp(),
            finished_at: None,
        };
        if let Err(e) = state.audit.append(event.clone()).await {
            tracing::error!(error = %e, step, "audit row not written; step refused");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "The audit log cannot be written, so the step was not run.",
                format!("{} Then retry.", crate::db::CHECK_THE_DATABASE),
            ));
        }
        Ok(AuditRun { event })
    }

    pub(crate) fn id(&self) -> &str {
        &self.event.audit_run_id
    }

    /// Writes the result row: `succeeded`, or `failed` with `error_code`.
    /// An answer is only given once its row is written: when it cannot be,
    /// the caller answers with this error instead of the step's result.
    pub(crate) async fn finish(
        mut self,
        state: &AppState,
        error_code: Option<&str>,
    ) -> Result<(), ApiError> {
        self.event.finished_at = Some(timestamp());
        self.event.phase = if error_code.is_some() {
            Phase::Failed
        } else {
            Phase::Succeeded
        };
        self.event.error_code = error_code.map(str::to_owned);
        let audit_run_id = self.event.audit_run_id.clone();
        if let Err(e) = state.audit.append(self.event).await {
            // The step already ran; the pending row without a result shows that.
            tracing::error!(error = %e, audit_run_id, "result audit row not written");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "The step ran, but its result could not be written to the audit log, so it is not shown. Check the log's storage, then run the step again.",
                "The pending row of this audit_run_id records the start; check the database (ALPHASWARM_ADMIN_DATABASE_URL, or disk space under ALPHASWARM_ADMIN_STATE_DIR) and the proxy's log.",
            )
            .with_audit_run_id(audit_run_id));
        }
        Ok(())
    }
}

/// Runs `action` between a pending and a result audit row. If the pending
/// row cannot be written the action does not run.
pub(crate) async fn audited<F, Fut>(
    state: &AppState,
    session: &Session,
    org: &OrgId,
    cloud: &str,
    step: &str,
    action: F,
) -> Result<Json<Value>, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Value, ApiError>>,
{
    let run = AuditRun::begin(state, &session.subject, org, cloud, step).await?;
    let audit_run_id = run.id().to_owned();
    let outcome = action().await;
    run.finish(state, outcome.as_ref().err().map(|e| e.code.as_str()))
        .await?;
    tracing::info!(audit_run_id, step, org = %org, ok = outcome.is_ok(), "wizard step");
    match outcome {
        Ok(Value::Object(mut map)) => {
            map.insert("audit_run_id".to_owned(), audit_run_id.into());
            Ok(Json(Value::Object(map)))
        }
        Ok(other) => Ok(Json(
            json!({ "audit_run_id": audit_run_id, "result": other }),
        )),
        Err(e) => Err(e.with_audit_run_id(audit_run_id)),
    }
}

async fn wizard_step(
    State(state): State<AppState>,
    StepUp(session): StepUp,
    path: Result<Path<(String, String, String)>, PathRejection>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let Path((org_id, cloud, step)) = path.map_err(path_rejection)?;
    let (org, provider) = org_and_provider(&state, &org_id, &cloud)?;
    let step = Step::from_path(&step).ok_or_else(|| {
        ApiError::not_found(
            "unknown_step",
            "No such wizard step; use bootstrap, validate-identity, validate-permissions, enumerate-resources or connect.",
        )
    })?;
    let cloud = provider.cloud();
    audited(&state, &session, &org, cloud, step.audit_name(), || async {
        match step {
            Step::ValidateIdentity => provider.validate_identity(&org, body).await,
            Step::ValidatePermissions => provider.validate_permissions(&org, body).await,
            Step::EnumerateResources => provider.enumerate_resources(&org, body).await,
            Step::Connect => {
                let body =
                    refuse_overwrite(&state, &org, provider.integration_kind(), body).await?;
                let connection = provider.connect(&org, body).await?;
                let kind = provider.integration_kind();
                let record = StoredIntegration {
                    metadata: connection.metadata,
                    sensitive: connection.sensitive,
                    secrets: connection.secrets,
                    ..new_connection(&org, kind)?
                };
                match &connection.exclusive {
                    None => state.store.put(record.clone()).await.map_err(store_error)?,
                    Some(exclusive) => {
                        let claimed = state
                            .store
                            .put_unless_claimed(record.clone(), &exclusive.same)
                            .await
                            .map_err(store_error)?;
                        if let Some(other) = claimed {
                            return Err((exclusive.taken)(&other, &record.metadata));
                        }
                    }
                }
                Ok(json!({ "integration": record.masked() }))
            }
            Step::Disconnect => Err(api_not_found()),
        }
    })
    .await
}

/// Takes `replace` out of a connect body; when `org` already has a
/// connection of `kind` and the body did not say `replace: true`, refuses
/// with 409 `already_connected` carrying that connection, masked (nothing
/// is overwritten silently). Answers the body the provider parses.
pub(crate) async fn refuse_overwrite(
    state: &AppState,
    org: &OrgId,
    kind: &str,
    mut body: Value,
) -> Result<Value, ApiError> {
    let replace = match body.as_object_mut().and_then(|b| b.remove("replace")) {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "replace must be true or false.",
                "Send replace: true to replace the existing connection.",
            )
            .with_field("replace"));
        }
    };
    if replace {
        return Ok(body);
    }
    let key = CredentialKey::for_integration(kind, org)?.to_string();
    match state.store.get(&key).await.map_err(store_error)? {
        None => Ok(body),
        Some(existing) => {
            let mut refusal = ApiError::new(
                StatusCode::CONFLICT,
                "already_connected",
                "This organisation is already connected to this service; connecting again would replace that connection.",
                "Confirm that the existing connection should be replaced, or disconnect it first.",
            );
            refusal.existing = Some(existing.masked());
            Err(refusal)
        }
    }
}

/// The status of a record connected now, until a health check has run.
pub const NEVER_CHECKED: &str = "never_checked";

/// A record connected now: `never_checked` until a health check runs (the
/// connect proved it once, but nothing has re-checked it), under
/// `CredentialKey(kind, "org:<org_id>")`.
pub(crate) fn new_connection(org: &OrgId, kind: &str) -> Result<StoredIntegration, ApiError> {
    Ok(StoredIntegration {
        org_id: org.to_string(),
        kind: kind.to_owned(),
        credential_key: CredentialKey::for_integration(kind, org)?.to_string(),
        status: NEVER_CHECKED.to_owned(),
        connected_at: timestamp(),
        ..StoredIntegration::default()
    })
}

pub(crate) fn store_error(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "integrations store failed");
    use crate::db::DbError;
    use crate::store::StoreError;
    // A failed query or a lost connection is the store being unavailable,
    // whichever backend holds it; the database's own codes are start-up's.
    let code = match &e {
        StoreError::Database(DbError::Query { .. } | DbError::Unreachable { .. }) => {
            "store_unavailable"
        }
        other => other.code(),
    };
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        code,
        "The integrations store could not be read or written.",
        crate::db::CHECK_THE_DATABASE,
    )
}

async fn disconnect(
    State(state): State<AppState>,
    StepUp(session): StepUp,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((org_id, cloud)) = path.map_err(path_rejection)?;
    let (org, provider) = org_and_provider(&state, &org_id, &cloud)?;
    remove_integration(
        &state,
        &session,
        &org,
        provider.cloud(),
        provider.integration_kind(),
        |record| provider.disconnect_cleanup(&org, record),
    )
    .await
}

/// Drops the record of `kind` for `org` (audited as `disconnect`) and says
/// what is left to clean up on the vendor's side.
pub(crate) async fn remove_integration(
    state: &AppState,
    session: &Session,
    org: &OrgId,
    audit_label: &str,
    kind: &str,
    cleanup: impl FnOnce(Option<&StoredIntegration>) -> Vec<String>,
) -> Result<Json<Value>, ApiError> {
    let key = CredentialKey::for_integration(kind, org)?.to_string();
    audited(
        state,
        session,
        org,
        audit_label,
        Step::Disconnect.audit_name(),
        || async {
            let record = state.store.get(&key).await.map_err(store_error)?;
            let removed = state.store.remove(&key).await.map_err(store_error)?;
            Ok(json!({
                "removed": removed,
                "vendor_cleanup": cleanup(record.as_ref()),
            }))
        },
    )
    .await
}

async fn list_integrations(
    State(state): State<AppState>,
    AdminSession(_session): AdminSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(org_id) = path.map_err(path_rejection)?;
    let org = OrgId::parse(&org_id)?;
    let records = state
        .store
        .list_org(org.as_str())
        .await
        .map_err(store_error)?;
    // Minted credentials are not connections (their answer is the mint's).
    let integrations: Vec<Value> = records
        .iter()
        .filter(|r| r.kind != crate::credentials::routes::MINTED_KIND)
        .map(StoredIntegration::masked)
        .collect();
    Ok(Json(json!({ "integrations": integrations })))
}

/// The clouds this proxy has a provider for, so the wizard offers no
/// cloud that would dead-end at step 2; in sandbox mode also the simulated
/// customer's ids (`sandbox`, null otherwise).
async fn list_clouds(
    State(state): State<AppState>,
    AdminSession(_session): AdminSession,
) -> Json<Value> {
    let clouds: Vec<&str> = state.providers.keys().copied().collect();
    let sandbox = state.sandbox.as_ref().map(|s| s.describe());
    Json(json!({ "clouds": clouds, "sandbox": sandbox }))
}

async fn verify_audit(
    State(state): State<AppState>,
    _session: AdminSession,
) -> Result<Response, ApiError> {
    let report = state.audit.verify().await.map_err(|e| {
        tracing::error!(error = %e, "audit verification could not read the log");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "The audit log cannot be read.",
            crate::db::CHECK_THE_DATABASE,
        )
    })?;
    Ok(Json(report).into_response())
}
