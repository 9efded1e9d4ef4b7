//! Retry while IAM settles: a role created seconds ago is refused for
//! ~10-30 s, so step 3 retries retryable refusals with exponential backoff
//! for a bounded time and reports how many attempts it took.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::AwsError;

/// Backoff never grows past this, so the last attempt lands near the deadline.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Time source and sleeper, injectable so tests run without waiting.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock: `Instant::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Virtual time: `sleep` returns at once, advancing `now` by the pause and
/// recording it, so retry tests count attempts and pauses without waiting
/// and without wall-clock windows that a loaded machine could miss.
#[derive(Debug)]
pub struct VirtualClock {
    start: Instant,
    offset: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl VirtualClock {
    pub fn new() -> Self {
        VirtualClock {
            start: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Every pause taken so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner()) += duration;
        self.sleeps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// An error some of whose kinds go away by themselves while a cloud settles
/// (IAM's eventual consistency, Entra's federated-credential propagation).
pub trait Settling {
    fn is_retryable_while_settling(&self) -> bool;
}

impl Settling for AwsError {
    fn is_retryable_while_settling(&self) -> bool {
        AwsError::is_retryable_while_settling(self)
    }
}

/// The last outcome and the number of attempts that led to it.
#[derive(Debug)]
pub struct Settled<T, E = AwsError> {
    pub result: Result<T, E>,
    pub attempts: u32,
}

/// Runs `op` until it succeeds, fails with an error that is not
/// [`Settling::is_retryable_while_settling`], or `max_elapsed` has passed.
/// Waits `initial_backoff`, doubling (capped at 8 s and at the time left)
/// between attempts.
pub async fn retry_while_settling<T, E, F, Fut>(
    clock: &dyn Clock,
    max_elapsed: Duration,
    initial_backoff: Duration,
    mut op: F,
) -> Settled<T, E>
where
    E: Settling,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = clock.now();
    let mut backoff = initial_backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = op().await;
        let retry = matches!(&result, Err(e) if e.is_retryable_while_settling());
        let elapsed = clock.now().saturating_duration_since(started);
        if !retry || elapsed >= max_elapsed {
            return Settled { result, attempts };
        }
        clock.sleep(backoff.min(max_elapsed - elapsed)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF.max(initial_backoff));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Operation;

    fn denied() -> AwsError {
        AwsError::from_aws(Operation::AssumeRole, "us-east-1", 403, "AccessDenied")
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn succeeds_once_iam_has_settled_and_counts_attempts() {
        let clock = VirtualClock::new();
        let mut calls = 0;
        let settled = block_on(retry_while_settling(
            &clock,
            Duration::from_secs(60),
            Duration::from_secs(1),
            || {
                calls += 1;
                let outcome = if calls < 4 { Err(denied()) } else { Ok(calls) };
                async move { outcome }
            },
        ));
        assert_eq!(settled.result.unwrap(), 4);
        assert_eq!(settled.attempts, 4);
        let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4]);
    }

    #[test]
    fn gives_up_at_the_deadline_with_the_last_error() {
        let clock = VirtualClock::new();
        let settled: Settled<()> = block_on(retry_while_settling(
            &clock,
            Duration::from_secs(60),
            Duration::from_secs(1),
            || async { Err(denied()) },
        ));
        assert_eq!(
            alphaswarm_core::CoreError::code(&settled.result.unwrap_err()),
            "assume_role_access_denied"
        );
        let sleeps = clock.sleeps();
        // 1+2+4 then six of 8 (capped) = 55 s; the last pause is cut to the 5 s left.
        assert_eq!(sleeps.iter().sum::<Duration>(), Duration::from_secs(60));
        assert_eq!(*sleeps.last().unwrap(), Duration::from_secs(5));
        assert_eq!(settled.attempts as usize, sleeps.len() + 1);
        assert!(sleeps.iter().all(|s| *s <= MAX_BACKOFF));
    }

    #[test]
    fn does_not_retry_what_waiting_cannot_fix() {
        let clock = VirtualClock::new();
        let settled: Settled<()> = block_on(retry_while_settling(
            &clock,
            Duration::from_secs(60),
            Duration::from_secs(1),
            || async {
                Err(AwsError::from_aws(
                    Operation::AssumeRole,
                    "us-east-1",
                    400,
                    "InvalidParameterValue",
                ))
            },
        ));
        assert_eq!(settled.attempts, 1);
        assert!(clock.sleeps().is_empty());
    }
}
