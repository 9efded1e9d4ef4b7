//! Connection health: one check's verdict ([`HealthCheck`]), which provider
//! checks a stored record ([`KindProvider`], by the record's kind), how a verdict
//! lands on the record ([`HealthUpdate`]) and is reported when it changes,
//! and the background re-check ([`sweep`]).
//!
//! Verdicts:
//! - `healthy`: the stored credential works for what it was connected for;
//! - `failed`: the upstream refused it (a revoked token, a deleted role, a
//!   namespace that is gone) — the operator must act;
//! - `degraded`: it works but needs attention (a token about to expire), or
//!   the check could not be completed (the upstream throttled or failed,
//!   the proxy lacks configuration) — the previous verdict is not confirmed.
//!
//! A record is "never checked" (`last_health_at: null`) until a check has run.

mod schedule;
pub mod sweep;

use crate::accounts::AccountProvider;
use crate::app::AppState;
use crate::error::ApiError;
use crate::providers::CloudProvider;
use crate::store::{HealthUpdate, StoredIntegration};
use alphaswarm_core::OrgId;
use alphaswarm_core::accounts::AccountKind;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A check that takes longer than this is inconclusive.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Failed,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Failed => "failed",
        }
    }
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub status: HealthStatus,
    /// What is wrong (code, message, hint) unless healthy.
    pub problem: Option<ApiError>,
    /// The upstream throttled or failed: worth retrying after a pause.
    pub retryable: bool,
    /// The pause the upstream asked for.
    pub retry_after: Option<Duration>,
}

impl HealthCheck {
    pub fn healthy() -> Self {
        HealthCheck {
            status: HealthStatus::Healthy,
            problem: None,
            retryable: false,
            retry_after: None,
        }
    }

    /// It works, but `problem` needs the operator's attention.
    pub fn attention(problem: ApiError) -> Self {
        HealthCheck {
            status: HealthStatus::Degraded,
            problem: Some(problem),
            retryable: false,
            retry_after: None,
        }
    }

    /// A failed call, judged by the status the proxy would answer with:
    /// 502/504/429 (the upstream throttled, failed or was unreachable) is an
    /// inconclusive, retryable check; 503 (the proxy lacks configuration or
    /// its own credentials) is inconclusive too, but retrying will not help;
    /// anything else (422, 401, 403, 404, 409, 400) is the upstream refusing.
    pub fn from_error(problem: ApiError) -> Self {
        let (status, retryable) = match problem.status {
            StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT
            | StatusCode::TOO_MANY_REQUESTS => (HealthStatus::Degraded, true),
            StatusCode::SERVICE_UNAVAILABLE => (HealthStatus::Degraded, false),
            _ => (HealthStatus::Failed, false),
        };
        HealthCheck {
            status,
            problem: Some(problem),
            retryable,
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn error_code(&self) -> Option<&str> {
        self.problem.as_ref().map(|p| p.code.as_str())
    }

    /// The record's health fields after this verdict.
    pub fn update_for(&self, record: &StoredIntegration, checked_at: &str) -> HealthUpdate {
        HealthUpdate {
            credential_key: record.credential_key.clone(),
            connected_at: record.connected_at.clone(),
            checked_at: checked_at.to_owned(),
            status: self.status.as_str().to_owned(),
            error: self.problem.as_ref().map(|p| p.code.clone()),
            error_message: self.problem.as_ref().map(|p| p.message.clone()),
            error_hint: self.problem.as_ref().map(|p| p.hint.clone()),
        }
    }

    /// The route's `health` object.
    pub fn to_json(&self, checked_at: &str, previous: &str) -> Value {
        json!({
            "status": self.status.as_str(),
            "checked_at": checked_at,
            "previous_status": previous,
            "changed": previous != self.status.as_str(),
            "error": self.problem.as_ref().map(|p| json!({
                "code": p.code, "message": p.message, "field": p.field, "hint": p.hint,
            })),
        })
    }
}

/// The record's standing before a check: its last verdict, or, when it
/// was never checked, what connect proved (connect makes the same proof as
/// a check, so a first healthy check is no change).
pub fn previous_status(record: &StoredIntegration) -> &str {
    match record.last_health_status.as_deref() {
        Some(last) => last,
        None if record.status == crate::routes::NEVER_CHECKED => HealthStatus::Healthy.as_str(),
        None => record.status.as_str(),
    }
}

/// The provider of one stored kind: a cloud's (the wizard) or an
/// account's (a token). Health checks, disconnect and the routes dispatch
/// through it.
#[derive(Clone)]
pub enum KindProvider {
    Cloud(Arc<dyn CloudProvider>),
    Account(Arc<dyn AccountProvider>),
}

impl KindProvider {
    /// By a stored kind (`cloud_aws`, `huggingface`, `docker_hub`) or a URL
    /// segment (`aws`, `dockerhub`).
    pub fn for_kind(state: &AppState, kind: &str) -> Option<KindProvider> {
        if let Some(account) = AccountKind::from_segment(kind) {
            return state
                .accounts
                .get(account.integration_kind())
                .cloned()
                .map(KindProvider::Account);
        }
        state
            .providers
            .values()
            .find(|p| p.integration_kind() == kind || p.cloud() == kind)
            .cloned()
            .map(KindProvider::Cloud)
    }

    /// The stored kind, e.g. `cloud_aws` or `docker_hub`.
    pub fn integration_kind(&self) -> &'static str {
        match self {
            KindProvider::Cloud(p) => p.integration_kind(),
            KindProvider::Account(p) => p.kind().integration_kind(),
        }
    }

    /// The audit rows' `cloud` column: `aws` as the wizard writes it, or the kind.
    pub fn audit_label(&self) -> &'static str {
        match self {
            KindProvider::Cloud(p) => p.cloud(),
            KindProvider::Account(p) => p.kind().integration_kind(),
        }
    }

    /// Checks `record`; `None` when this kind has no health check yet.
    /// A check that outlives [`CHECK_TIMEOUT`] is an inconclusive verdict.
    pub async fn check(&self, org: &OrgId, record: &StoredIntegration) -> Option<HealthCheck> {
        let run = async {
            match self {
                KindProvider::Cloud(p) => p.health(org, record).await,
                KindProvider::Account(p) => Some(p.health(record).await),
            }
        };
        match tokio::time::timeout(CHECK_TIMEOUT, run).await {
            Ok(verdict) => verdict,
            Err(_) => Some(HealthCheck::from_error(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "health_check_timeout",
                format!(
                    "The check did not finish within {} s.",
                    CHECK_TIMEOUT.as_secs()
                ),
                "The upstream is slow or unreachable; the next check retries.",
            ))),
        }
    }
}

/// Logs a verdict that differs from the record's previous standing.
pub fn log_change(record: &StoredIntegration, check: &HealthCheck, by: &str) -> bool {
    let previous = previous_status(record);
    let changed = previous != check.status.as_str();
    if changed {
        tracing::warn!(
            org = %record.org_id,
            kind = %record.kind,
            from = previous,
            to = check.status.as_str(),
            code = check.error_code().unwrap_or("-"),
            by,
            "connection health changed"
        );
    }
    changed
}
