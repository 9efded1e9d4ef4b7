//! The background re-check: every stored connection is checked again on an
//! interval, so the list shows drift (a revoked token, a deleted role)
//! without anyone clicking.
//!
//! - Schedule: the first sweep starts after a short random delay, each next
//!   one an interval later, jittered by ±10% so replicas and restarts do not
//!   line up. A sweep checks the records not checked within the last half
//!   interval (a restart or a manual re-check does not cause a second check).
//! - Bounded concurrency: `concurrency` workers pull from per-kind queues.
//! - Back-off: a circuit breaker per kind ([`super::schedule`]): a throttled
//!   or failing upstream (429, 5xx, unreachable) pauses that kind — for the
//!   time the upstream named, else 1 s doubling up to 5 min — while the
//!   other kinds go on; then one probe at a time until it answers; after
//!   three pauses in a row (or a pause past half the interval) the kind's
//!   remaining records are recorded `degraded` with that error, uncalled.
//! - Results are written in batches ([`IntegrationStore::record_health`]);
//!   a status change is logged and audited (`step: health_status_change`,
//!   `actor: system:health-sweep`).
//!
//! [`IntegrationStore::record_health`]: crate::store::IntegrationStore::record_health

use super::schedule::{JITTER, Next, Scheduler, jittered};
use super::{HealthCheck, HealthStatus, KindProvider, log_change};
use crate::app::AppState;
use crate::audit::{AuditEvent, Phase};
use crate::routes::timestamp;
use crate::store::{StoreError, StoredIntegration};
use alphaswarm_core::OrgId;
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The actor of the rows the sweep writes.
pub const SWEEP_ACTOR: &str = "system:health-sweep";
/// The audit step of a status change found by the sweep.
pub const STATUS_CHANGE_STEP: &str = "health_status_change";
/// The first sweep waits at most this long after start.
const MAX_FIRST_DELAY: Duration = Duration::from_secs(30);
/// Results are written when this many are waiting, or this long after the
/// last write, whichever comes first.
const FLUSH_EVERY: usize = 256;
/// Records read from the store at a time.
const SWEEP_PAGE: usize = 500;
const FLUSH_AFTER: Duration = Duration::from_secs(1);

/// From `ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS` and `…_CONCURRENCY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSettings {
    /// `None`: no background checks (interval 0).
    pub interval: Option<Duration>,
    pub concurrency: usize,
}

impl HealthSettings {
    pub fn new(interval_seconds: u64, concurrency: u64) -> Self {
        HealthSettings {
            interval: (interval_seconds > 0).then(|| Duration::from_secs(interval_seconds)),
            concurrency: usize::try_from(concurrency).unwrap_or(1).max(1),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub started_at: String,
    pub duration_ms: u64,
    /// Records in the store.
    pub records: usize,
    /// Records not checked within the last half interval.
    pub due: usize,
    pub checked: usize,
    pub healthy: usize,
    pub degraded: usize,
    pub failed: usize,
    /// Verdicts that differ from the record's previous standing.
    pub changed: usize,
    /// Records whose kind has no health check.
    pub unsupported: usize,
    /// Checks repeated after a throttled or failing upstream.
    pub retries: usize,
    /// Kinds whose upstream kept failing: their remaining records got the
    /// last inconclusive verdict without a call.
    pub given_up_kinds: usize,
    /// The most checks that ran at once.
    pub peak_in_flight: usize,
    /// Results written to the store.
    pub written: usize,
}

/// The running background task; stops when dropped.
pub struct Sweeper {
    reports: watch::Receiver<Option<SweepReport>>,
    task: JoinHandle<()>,
}

impl Sweeper {
    /// The last finished sweep's report (`None` before the first).
    pub fn reports(&self) -> watch::Receiver<Option<SweepReport>> {
        self.reports.clone()
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the background re-check, unless the interval is 0.
pub fn spawn(state: AppState) -> Option<Sweeper> {
    let settings = state.config.health;
    let interval = settings.interval?;
    let (tx, reports) = watch::channel(None);
    let task = tokio::spawn(async move {
        let first = MAX_FIRST_DELAY.min(interval.mul_f64(JITTER));
        let first = first.mul_f64(rand::rng().random_range(0.0..=1.0));
        tokio::time::sleep(first).await;
        loop {
            let started = Instant::now();
            match sweep_once(&state, settings.concurrency, interval).await {
                Ok(report) => {
                    tracing::info!(
                        records = report.records,
                        checked = report.checked,
                        healthy = report.healthy,
                        degraded = report.degraded,
                        failed = report.failed,
                        changed = report.changed,
                        retries = report.retries,
                        peak_in_flight = report.peak_in_flight,
                        duration_ms = report.duration_ms,
                        "health sweep finished"
                    );
                    tx.send_replace(Some(report));
                }
                Err(e) => tracing::error!(error = %e, "health sweep could not read the store"),
            }
            let next = jittered(interval);
            let elapsed = started.elapsed();
            if elapsed > next {
                tracing::warn!(
                    elapsed_s = elapsed.as_secs(),
                    interval_s = interval.as_secs(),
                    "the health sweep took longer than its interval; raise ALPHASWARM_ADMIN_HEALTH_CONCURRENCY or the interval"
                );
            }
            tokio::time::sleep(next.saturating_sub(elapsed)).await;
        }
    });
    Some(Sweeper { reports, task })
}

/// Not checked within the last half interval (or never).
fn is_due(record: &StoredIntegration, now: OffsetDateTime, interval: Duration) -> bool {
    let Some(last) = record.last_health_at.as_deref() else {
        return true;
    };
    let Ok(last) = OffsetDateTime::parse(last, &Rfc3339) else {
        return true;
    };
    now - last >= interval / 2
}

/// What a worker needs to check one record.
struct Payload {
    record: StoredIntegration,
    org: OrgId,
    checker: KindProvider,
}

/// A checked record on its way to the store.
struct Outcome {
    record: StoredIntegration,
    checker: KindProvider,
    verdict: HealthCheck,
    checked_at: String,
}

/// One pass over the store: checks every due record and writes the results.
pub async fn sweep_once(
    state: &AppState,
    concurrency: usize,
    interval: Duration,
) -> Result<SweepReport, StoreError> {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let mut report = SweepReport {
        started_at: timestamp(),
        ..SweepReport::default()
    };
    // A failing upstream may hold its kind for at most half an interval.
    let scheduler = Arc::new(Scheduler::new(started + interval / 2));
    let (tx, rx) = mpsc::channel::<Outcome>(FLUSH_EVERY * 2);
    let writer = tokio::spawn(write_results(state.clone(), rx));
    // Page by page: memory holds one page of records, whatever the store's size.
    let mut after: Option<String> = None;
    loop {
        let page = state.store.list_page(after.as_deref(), SWEEP_PAGE).await?;
        let last_page = page.len() < SWEEP_PAGE;
        after = page.last().map(|r| r.credential_key.clone());
        report.records += page.len();
        for record in page {
            if !is_due(&record, now, interval) {
                continue;
            }
            report.due += 1;
            let (Some(checker), Ok(org)) = (
                KindProvider::for_kind(state, &record.kind),
                OrgId::parse(&record.org_id),
            ) else {
                report.unsupported += 1;
                continue;
            };
            let kind = checker.integration_kind();
            scheduler.push(
                kind,
                Payload {
                    record,
                    org,
                    checker,
                },
            );
        }
        let workers: Vec<JoinHandle<usize>> = (0..concurrency.max(1))
            .map(|_| tokio::spawn(work(scheduler.clone(), tx.clone())))
            .collect();
        for worker in workers {
            report.unsupported += worker.await.unwrap_or_default();
        }
        if last_page {
            break;
        }
    }
    drop(tx);
    let written = writer.await.unwrap_or_default();
    let counts = scheduler.counts();
    report.retries = counts.retries;
    report.peak_in_flight = counts.peak;
    report.given_up_kinds = counts.given_up;
    report.checked = written.checked;
    report.healthy = written.healthy;
    report.degraded = written.degraded;
    report.failed = written.failed;
    report.changed = written.changed;
    report.written = written.written;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// A worker: runs jobs until none are left; returns how many it found
/// without a health check.
async fn work(scheduler: Arc<Scheduler<Payload>>, results: mpsc::Sender<Outcome>) -> usize {
    let mut unsupported = 0;
    loop {
        // Registered before looking, so a wake-up in between is not lost.
        let woken = scheduler.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let (payload, verdict) = match scheduler.next() {
            Next::Done => return unsupported,
            Next::Wait(until) => {
                let until = until.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
                tokio::select! {
                    () = woken => {}
                    () = tokio::time::sleep_until(until.into()) => {}
                }
                continue;
            }
            Next::GiveUp(job, verdict) => (job.payload, verdict),
            Next::Run(job) => {
                let Some(verdict) = job
                    .payload
                    .checker
                    .check(&job.payload.org, &job.payload.record)
                    .await
                else {
                    unsupported += 1;
                    scheduler.finished(job, &HealthCheck::healthy());
                    continue;
                };
                match scheduler.finished(job, &verdict) {
                    Some(job) => (job.payload, verdict),
                    None => continue,
                }
            }
        };
        let outcome = Outcome {
            record: payload.record,
            checker: payload.checker,
            verdict,
            checked_at: timestamp(),
        };
        if results.send(outcome).await.is_err() {
            return unsupported;
        }
    }
}

#[derive(Default)]
struct Written {
    checked: usize,
    healthy: usize,
    degraded: usize,
    failed: usize,
    changed: usize,
    written: usize,
}

/// Counts, reports changes and writes the results in batches.
async fn write_results(state: AppState, mut results: mpsc::Receiver<Outcome>) -> Written {
    let mut totals = Written::default();
    let mut pending = Vec::new();
    let mut last_flush = Instant::now();
    while let Some(outcome) = results.recv().await {
        totals.checked += 1;
        match outcome.verdict.status {
            HealthStatus::Healthy => totals.healthy += 1,
            HealthStatus::Degraded => totals.degraded += 1,
            HealthStatus::Failed => totals.failed += 1,
        }
        if log_change(&outcome.record, &outcome.verdict, SWEEP_ACTOR) {
            totals.changed += 1;
            audit_change(&state, &outcome).await;
        }
        pending.push(
            outcome
                .verdict
                .update_for(&outcome.record, &outcome.checked_at),
        );
        if pending.len() >= FLUSH_EVERY || last_flush.elapsed() >= FLUSH_AFTER {
            totals.written += flush(&state, &mut pending).await;
            last_flush = Instant::now();
        }
    }
    totals.written += flush(&state, &mut pending).await;
    totals
}

async fn flush(state: &AppState, pending: &mut Vec<crate::store::HealthUpdate>) -> usize {
    if pending.is_empty() {
        return 0;
    }
    let batch = std::mem::take(pending);
    match state.store.record_health(&batch).await {
        Ok(written) => written,
        Err(e) => {
            // Lost results are only stale: the next sweep checks them again.
            tracing::error!(error = %e, results = batch.len(), "health results not written");
            0
        }
    }
}

/// One row: `succeeded` when the connection is healthy again, else `failed`
/// with the new error code.
async fn audit_change(state: &AppState, outcome: &Outcome) {
    let event = AuditEvent {
        audit_run_id: uuid::Uuid::new_v4().to_string(),
        phase: if outcome.verdict.status == HealthStatus::Healthy {
            Phase::Succeeded
        } else {
            Phase::Failed
        },
        actor: SWEEP_ACTOR.to_owned(),
        org_id: outcome.record.org_id.clone(),
        cloud: outcome.checker.audit_label().to_owned(),
        step: STATUS_CHANGE_STEP.to_owned(),
        error_code: outcome.verdict.error_code().map(str::to_owned),
        started_at: outcome.checked_at.clone(),
        finished_at: Some(timestamp()),
    };
    if let Err(e) = state.audit.append(event).await {
        tracing::error!(error = %e, org = %outcome.record.org_id, "health change not audited");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_due_when_never_or_long_ago_checked() {
        let now = OffsetDateTime::parse("2026-06-01T12:00:00Z", &Rfc3339).unwrap();
        let hour = Duration::from_secs(3600);
        let at = |t: &str| StoredIntegration {
            last_health_at: Some(t.to_owned()),
            ..StoredIntegration::default()
        };
        assert!(is_due(&StoredIntegration::default(), now, hour));
        assert!(is_due(&at("2026-06-01T11:00:00Z"), now, hour));
        assert!(is_due(&at("2026-06-01T11:30:00Z"), now, hour));
        assert!(!is_due(&at("2026-06-01T11:45:00Z"), now, hour));
        assert!(is_due(&at("garbage"), now, hour));
    }

    #[test]
    fn settings_turn_off_at_zero() {
        assert_eq!(HealthSettings::new(0, 8).interval, None);
        assert_eq!(
            HealthSettings::new(60, 0),
            HealthSettings {
                interval: Some(Duration::from_secs(60)),
                concurrency: 1
            }
        );
    }
}
