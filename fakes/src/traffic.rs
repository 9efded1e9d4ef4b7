//! What a fake records about its callers and what it can be told to do to
//! them, layered on any fake's router:
//! - counts: requests served, requests in flight and their peak, so a test
//!   can prove a client's concurrency bound from the server's side;
//! - a latency added to every request (so concurrency is observable);
//! - a quota per fixed window, answered with the product's own 429 and
//!   headers once spent (HuggingFace: `RateLimit`; Docker Hub: `X-RateLimit-*`);
//! - injected faults: the next N requests, or every request until cleared,
//!   answered with a rate limit or an outage status.
//!
//! Each product supplies a [`Style`]: how its 429 and 5xx look and which
//! quota headers it sends on every answer.

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A fault a fake answers with instead of serving the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429; the client may retry after `retry_after`.
    RateLimited { retry_after: Duration },
    /// An outage status such as 502, 503 or 504.
    Unavailable { status: u16 },
}

/// The quota as the product's headers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_in: u64,
    /// The same instant as a Unix timestamp (Docker Hub reports this).
    pub reset_at_unix: u64,
    pub window: Duration,
}

/// How a product renders faults and quota headers.
#[derive(Clone, Copy)]
pub struct Style {
    pub rate_limited: fn(retry_after: Duration, quota: Option<&QuotaState>) -> Response,
    pub unavailable: fn(status: u16) -> Response,
    pub quota_headers: fn(&QuotaState, &mut HeaderMap),
}

/// Counters seen from the server's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrafficStats {
    /// Requests that reached the fake (faults included).
    pub requests: u64,
    pub in_flight: usize,
    pub peak_in_flight: usize,
    /// Requests answered with an injected fault or a spent quota.
    pub faulted: u64,
}

struct Quota {
    limit: u64,
    window: Duration,
    window_started: Instant,
    used: u64,
}

#[derive(Default)]
struct Controls {
    latency: Duration,
    queued: VecDeque<Fault>,
    sticky: Option<Fault>,
    quota: Option<Quota>,
}

#[derive(Default)]
struct Inner {
    requests: AtomicU64,
    faulted: AtomicU64,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    controls: Mutex<Controls>,
}

/// Shared by a fake's handle and its router; cloning shares the counters.
#[derive(Clone, Default)]
pub struct Traffic {
    inner: Arc<Inner>,
}

/// Decrements the in-flight count however the request ends.
struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Traffic {
    fn controls(&self) -> MutexGuard<'_, Controls> {
        // A panicking test thread must not wedge every later request.
        self.inner
            .controls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn stats(&self) -> TrafficStats {
        TrafficStats {
            requests: self.inner.requests.load(Ordering::SeqCst),
            in_flight: self.inner.in_flight.load(Ordering::SeqCst),
            peak_in_flight: self.inner.peak.load(Ordering::SeqCst),
            faulted: self.inner.faulted.load(Ordering::SeqCst),
        }
    }

    /// Starts counting afresh (requests, faults and the peak).
    pub fn reset_stats(&self) {
        self.inner.requests.store(0, Ordering::SeqCst);
        self.inner.faulted.store(0, Ordering::SeqCst);
        self.inner.peak.store(
            self.inner.in_flight.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }

    /// Every request waits this long before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        self.controls().latency = latency;
    }

    /// The next `count` requests are answered with `fault`.
    pub fn inject(&self, fault: Fault, count: usize) {
        self.controls()
            .queued
            .extend(std::iter::repeat_n(fault, count));
    }

    /// Every request is answered with `fault` until `None` clears it.
    pub fn set_outage(&self, fault: Option<Fault>) {
        self.controls().sticky = fault;
    }

    /// At most `limit` requests per fixed `window`; `None` lifts the quota.
    pub fn set_quota(&self, quota: Option<(u64, Duration)>) {
        self.controls().quota = quota.map(|(limit, window)| Quota {
            limit,
            window,
            window_started: Instant::now(),
            used: 0,
        });
    }

    /// Wraps `router` so every request is counted, delayed and possibly faulted.
    pub fn layer(&self, router: Router, style: Style) -> Router {
        let traffic = self.clone();
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let traffic = traffic.clone();
                async move { traffic.serve(request, next, style).await }
            },
        ))
    }

    async fn serve(&self, request: Request, next: Next, style: Style) -> Response {
        let inner = &self.inner;
        inner.requests.fetch_add(1, Ordering::SeqCst);
        let now_in_flight = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.peak.fetch_max(now_in_flight, Ordering::SeqCst);
        let _guard = InFlight(inner.clone());

        let (latency, fault, quota) = self.admit();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut response = match fault {
            Some(Fault::RateLimited { retry_after }) => {
                inner.faulted.fetch_add(1, Ordering::SeqCst);
                (style.rate_limited)(retry_after, quota.as_ref())
            }
            Some(Fault::Unavailable { status }) => {
                inner.faulted.fetch_add(1, Ordering::SeqCst);
                (style.unavailable)(status)
            }
            None => next.run(request).await,
        };
        if let Some(quota) = &quota {
            (style.quota_headers)(quota, response.headers_mut());
        }
        response
    }

    /// Decides under one lock: the latency, the fault (injected, sticky or
    /// a spent quota) and the quota as it stands after this request.
    fn admit(&self) -> (Duration, Option<Fault>, Option<QuotaState>) {
        let mut controls = self.controls();
        let latency = controls.latency;
        let mut fault = controls.queued.pop_front().or(controls.sticky);
        let quota = controls.quota.as_mut().map(|quota| {
            let now = Instant::now();
            if now.duration_since(quota.window_started) >= quota.window {
                quota.window_started = now;
                quota.used = 0;
            }
            let reset_in = quota
                .window
                .saturating_sub(now.duration_since(quota.window_started));
            if quota.used >= quota.limit {
                fault = fault.or(Some(Fault::RateLimited {
                    retry_after: reset_in,
                }));
            } else {
                quota.used += 1;
            }
            let unix_now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            QuotaState {
                limit: quota.limit,
                remaining: quota.limit - quota.used,
                reset_in: reset_in.as_secs_f64().ceil() as u64,
                reset_at_unix: (unix_now + reset_in).as_secs_f64().ceil() as u64,
                window: quota.window,
            }
        });
        (latency, fault, quota)
    }
}
