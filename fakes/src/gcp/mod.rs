//! A loopback Google Cloud for the GCP wizard: STS, IAM Credentials,
//! Resource Manager and Compute on one listener (their paths do not
//! collide, so every endpoint override can name the same URL).
//!
//! - **STS** ([`sts`]) `POST /v1/token`: the token exchange of a workload
//!   identity pool provider, checked as Google checks it: no Authorization
//!   header, form fields, `audience` naming an existing enabled provider,
//!   RS256/ES256 by `kid` against the issuer's JWKS fetched over HTTP
//!   (discovery document, then `jwks_uri`) or the provider's uploaded
//!   JWKS, `iss` = `issuerUri`, `aud` ∈ allowed audiences (or the
//!   provider's own name), `iat`/`exp` (≤ 24 h, not stale), the attribute
//!   mapping and condition.
//! - **IAM Credentials** ([`apis`]) `generateAccessToken`: impersonation
//!   decided from the account's IAM policy as IAM decides it
//!   (`principal://…/subject/S` names one subject, `principalSet://…/*` the
//!   whole pool), with propagation delay.
//! - **Resource Manager** `projects.get` and `testIamPermissions`;
//!   **Compute** `regions.list`, with `SERVICE_DISABLED` when the API is off.
//!
//! State ([`GcpWorld`]) is built by applying the bundle's own
//! `workload_identity_federation.json` ([`GcpFake::apply_bundle`]); the
//! handle then changes it as an operator or an outage would (grant and
//! revoke roles, disable the provider, delete the pool, turn Compute off,
//! move the clock).

mod apis;
pub mod cel;
pub mod state;
mod sts;

use crate::server::{Running, serve};
use crate::shared::Shared;
use crate::traffic::{QuotaState, Style, Traffic};
use alphaswarm_core::Bundle;
use alphaswarm_core::gcp::CONFIG_FILE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
pub use state::{ApplyError, Caller, GcpWorld, POOL_ID_RESERVATION_SECONDS};
use std::time::Duration;

/// STS refuses assertions older than this unless told otherwise (Google's
/// threshold is undocumented; the proxy mints a fresh one per exchange).
pub const DEFAULT_MAX_ASSERTION_AGE_SECONDS: i64 = 3600;
/// Access tokens live an hour, as Google's do.
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// The fake. Cheap to clone; every clone shares one world.
#[derive(Clone)]
pub struct GcpFake {
    shared: Shared<GcpWorld>,
    http: reqwest::Client,
}

impl Default for GcpFake {
    fn default() -> Self {
        Self::new()
    }
}

impl GcpFake {
    pub fn new() -> Self {
        // reqwest is built without a default TLS provider (see the workspace).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let fake = GcpFake {
            shared: Shared::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        };
        fake.world().max_assertion_age_seconds = DEFAULT_MAX_ASSERTION_AGE_SECONDS;
        fake
    }

    /// The world, locked (tests and the sandbox read and change it).
    pub fn world(&self) -> std::sync::MutexGuard<'_, GcpWorld> {
        self.shared.state()
    }

    pub fn traffic(&self) -> &Traffic {
        self.shared.traffic()
    }

    /// Accepts providers whose issuer is plain http on loopback (the test
    /// or sandbox issuer); Google itself requires https.
    pub fn allow_loopback_issuers(&self) {
        self.world().allow_http_issuers = true;
    }

    /// A project the customer already has, with Compute enabled.
    pub fn add_project(&self, id: &str, number: &str) {
        self.world().projects.insert(
            id.to_owned(),
            state::Project {
                id: id.to_owned(),
                number: number.to_owned(),
                compute_enabled: true,
                policy: state::Policy::default(),
            },
        );
    }

    /// An existing service account (for bundles that name one).
    pub fn add_service_account(&self, email: &str, project_id: &str) {
        self.world().service_accounts.insert(
            email.to_owned(),
            state::ServiceAccount {
                project_id: project_id.to_owned(),
                display_name: String::new(),
                policy: state::Policy::default(),
            },
        );
    }

    /// Applies the bundle's `workload_identity_federation.json`, as running
    /// its commands would.
    pub fn apply_bundle(&self, bundle: &Bundle) -> Result<(), ApplyError> {
        let file = bundle
            .files
            .iter()
            .find(|f| f.name == CONFIG_FILE)
            .ok_or_else(|| ApplyError::NotFound(format!("{CONFIG_FILE} in the bundle")))?;
        let config: Value = serde_json::from_str(&file.contents)
            .map_err(|e| ApplyError::Invalid(format!("{CONFIG_FILE}: {e}")))?;
        self.world().apply_config(&config)
    }

    /// `gcloud projects add-iam-policy-binding` (subject to propagation).
    pub fn grant_project_role(&self, project_id: &str, role: &str, member: &str) {
        let mut world = self.world();
        let at = world.now() + world.propagation_seconds;
        if let Some(p) = world.projects.get_mut(project_id) {
            p.policy.add(role, member, at);
        }
    }

    pub fn revoke_project_role(&self, project_id: &str, role: &str, member: &str) -> bool {
        self.world()
            .projects
            .get_mut(project_id)
            .is_some_and(|p| p.policy.remove(role, member))
    }

    /// `gcloud iam service-accounts add-iam-policy-binding`.
    pub fn bind_service_account(&self, email: &str, role: &str, member: &str) {
        let mut world = self.world();
        let at = world.now() + world.propagation_seconds;
        if let Some(sa) = world.service_accounts.get_mut(email) {
            sa.policy.add(role, member, at);
        }
    }

    pub fn unbind_service_account(&self, email: &str, role: &str, member: &str) -> bool {
        self.world()
            .service_accounts
            .get_mut(email)
            .is_some_and(|sa| sa.policy.remove(role, member))
    }

    /// The members bound to `role` on the account (what the IAM policy shows).
    pub fn service_account_members(&self, email: &str, role: &str) -> Vec<String> {
        self.world()
            .service_accounts
            .get(email)
            .and_then(|sa| sa.policy.bindings.get(role))
            .map(|ms| ms.iter().map(|m| m.member.clone()).collect())
            .unwrap_or_default()
    }

    /// Disables (or re-enables) a provider by its resource name
    /// (`projects/<n>/locations/global/workloadIdentityPools/<p>/providers/<r>`).
    pub fn set_provider_disabled(&self, provider: &str, disabled: bool) -> bool {
        let Some((pool, id)) = provider.split_once("/providers/") else {
            return false;
        };
        self.world()
            .pools
            .get_mut(pool)
            .and_then(|p| p.providers.get_mut(id))
            .map(|p| p.disabled = disabled)
            .is_some()
    }

    /// Deletes a pool: STS refuses it at once, its id stays taken for 30 days.
    pub fn delete_pool(&self, pool: &str) -> bool {
        let mut world = self.world();
        let now = world.now();
        world
            .pools
            .get_mut(pool)
            .map(|p| p.deleted_at = Some(now))
            .is_some()
    }

    pub fn set_compute_enabled(&self, project_id: &str, enabled: bool) {
        if let Some(p) = self.world().projects.get_mut(project_id) {
            p.compute_enabled = enabled;
        }
    }

    /// Moves the fake's clock (positive: the future). Deleted pools older
    /// than 30 days are purged, freeing their ids.
    pub fn advance_clock(&self, seconds: i64) {
        let mut world = self.world();
        world.clock_offset += seconds;
        let now = world.now();
        world.pools.retain(|_, p| {
            p.deleted_at
                .is_none_or(|at| now - at < POOL_ID_RESERVATION_SECONDS)
        });
    }

    /// New bindings take effect `seconds` after they are made.
    pub fn set_propagation_delay(&self, seconds: i64) {
        self.world().propagation_seconds = seconds;
    }

    pub fn set_max_assertion_age(&self, seconds: i64) {
        self.world().max_assertion_age_seconds = seconds;
    }

    /// Every access token issued so far (canary tests look for them).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.world().issued.clone()
    }

    pub fn router(&self) -> Router {
        let router = Router::new()
            .route("/v1/token", post(sts::token))
            .route(
                "/v1/projects/{project}/serviceAccounts/{account}",
                post(apis::generate_access_token),
            )
            .route(
                "/v1/projects/{project}",
                get(apis::get_project).post(apis::project_method),
            )
            .route(
                "/compute/v1/projects/{project}/regions",
                get(apis::list_regions),
            )
            .fallback(|| async { not_found() })
            .with_state(self.clone());
        self.traffic().layer(
            router,
            Style {
                rate_limited,
                unavailable,
                quota_headers,
            },
        )
    }

    /// Serves the fake on an ephemeral loopback port.
    pub async fn serve(&self) -> std::io::Result<Running> {
        serve(self.router(), 0).await
    }
}

fn rate_limited(retry_after: Duration, _quota: Option<&QuotaState>) -> Response {
    let mut response = google_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
    );
    if let Ok(v) = retry_after.as_secs().max(1).to_string().parse() {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v);
    }
    response
}

fn unavailable(status: u16) -> Response {
    google_error(
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        "UNAVAILABLE",
        "The service is currently unavailable.",
    )
}

fn quota_headers(_quota: &QuotaState, _headers: &mut HeaderMap) {}

/// Google's API error body (`google.rpc.Status` as JSON).
pub fn google_error(status: StatusCode, google_status: &str, message: &str) -> Response {
    google_error_with(status, google_status, message, Vec::new())
}

pub fn google_error_with(
    status: StatusCode,
    google_status: &str,
    message: &str,
    details: Vec<Value>,
) -> Response {
    let mut error = json!({ "code": status.as_u16(), "message": message, "status": google_status });
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    (status, Json(json!({ "error": error }))).into_response()
}

/// An unknown URL, in Google's words.
pub fn not_found() -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested URL was not found on this server.",
    )
}

/// A missing, unknown or expired bearer token.
pub fn unauthenticated() -> Response {
    google_error(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ`, whole seconds (google-auth parses exactly that).
pub fn rfc3339_seconds(unix: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}
