//! The accept loop: HTTP/1.1 with a header-read timeout and a connection
//! cap, graceful shutdown, and the audit trail's timed checkpoints.
//!
//! At the cap, a newcomer takes the place of the oldest connection that
//! has not yet sent a complete request head: half-open or slow-header
//! connections can fill the table but never keep a real client (or
//! `/healthz`) out, and the header timeout closes them anyway. (The cap
//! must stay below the process's open-files limit.)

use crate::app::AppState;
use crate::audit::CheckpointReason;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tower::ServiceExt;

/// Connections that have not sent a request head yet, oldest first.
#[derive(Default)]
struct Unproven {
    next_id: AtomicU64,
    waiting: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
}

impl Unproven {
    fn admit(&self) -> (u64, oneshot::Receiver<()>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (evict, evicted) = oneshot::channel();
        self.lock().insert(id, evict);
        (id, evicted)
    }

    fn proven(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the oldest connection still without a request; false if none.
    fn evict_oldest(&self) -> bool {
        let oldest = self.lock().pop_first();
        oldest.is_some_and(|(_, evict)| evict.send(()).is_ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, oneshot::Sender<()>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves the router of `state` on `listener` until `shutdown` resolves,
/// then lets open requests finish (up to the request timeout) and signs a
/// last audit checkpoint.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.config.http.clone();
    let app = crate::routes::router(state.clone());
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let unproven = Arc::new(Unproven::default());
    let graceful = GracefulShutdown::new();
    let ticker = tokio::spawn(checkpoint_every(
        state.clone(),
        state.config.audit_checkpoints.every,
    ));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                unproven.evict_oldest();
                tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
                    () = &mut shutdown => break,
                }
            }
        };
        let (id, evicted) = unproven.admit();
        let seen = Arc::new(AtomicBool::new(false));
        let service = {
            let unproven = unproven.clone();
            app.clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    if !seen.swap(true, Ordering::Relaxed) {
                        unproven.proven(id);
                    }
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request
                })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(settings.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let unproven = unproven.clone();
        tokio::spawn(async move {
            // The sender is dropped (an error here) once a request arrived.
            let evicted = async {
                if evicted.await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = connection => {}
                () = evicted => {}
            }
            unproven.proven(id);
            drop(permit);
        });
    }
    drop(listener);
    ticker.abort();
    if tokio::time::timeout(settings.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at shutdown");
    }
    if let Err(e) = state.audit.checkpoint(CheckpointReason::Shutdown).await {
        tracing::error!(error = %e, "the shutdown audit checkpoint was not written");
    }
    Ok(())
}

/// Signs a checkpoint every `every` while rows are being written.
async fn checkpoint_every(state: AppState, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = state.audit.checkpoint(CheckpointReason::Interval).await {
            tracing::error!(error = %e, "the timed audit checkpoint was not written");
        }
    }
}
