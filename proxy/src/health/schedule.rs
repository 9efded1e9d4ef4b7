//! The sweep's scheduler: per-kind queues served in turn to a bounded set
//! of workers, with a circuit breaker per kind (one upstream per kind).
//!
//! - Closed: jobs of the kind run freely.
//! - A retryable verdict (429, 5xx, unreachable) opens the breaker: the
//!   kind pauses for the time the upstream named, else 1 s doubling up to
//!   5 min. Only the first failure of a round counts: the other checks that
//!   were already in flight when it came back fail for the same reason.
//! - Half-open: after the pause one check (a probe) runs at a time; a
//!   conclusive verdict closes the breaker, another retryable one pauses
//!   longer.
//! - Given up: after [`MAX_PAUSES`] pauses in a row, or when the next pause
//!   would outlast the sweep's budget, the kind's remaining records get its
//!   last inconclusive verdict without being called (they are `degraded`
//!   with that error; the next sweep tries again). So one failing upstream
//!   never holds the sweep, and the other kinds, for long.
//!
//! A record is tried [`MAX_ATTEMPTS`] times in all; the scheduler holds no
//! lock across a check.

use super::HealthCheck;
use rand::Rng;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub const MAX_ATTEMPTS: u32 = 3;
pub const MAX_PAUSES: u32 = 3;
const BASE_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// ± this share of every pause, so replicas do not retry in step.
pub const JITTER: f64 = 0.1;

pub fn jittered(base: Duration) -> Duration {
    base.mul_f64(1.0 + rand::rng().random_range(-JITTER..=JITTER))
}

/// One record to check, and its bookkeeping.
pub struct Job<P> {
    pub payload: P,
    kind: &'static str,
    attempts: u32,
    /// The kind's round when the job was dispatched.
    round: u64,
}

#[derive(Default)]
struct Breaker {
    /// Pauses in a row; 0 is closed.
    pauses: u32,
    until: Option<Instant>,
    /// Bumped at each pause: failures of an older round do not count again.
    round: u64,
    running: usize,
    /// The verdict given to the records left when the kind is given up.
    given_up: Option<HealthCheck>,
}

impl Breaker {
    fn pause_for(&self, verdict: &HealthCheck) -> Duration {
        let doubling = BASE_BACKOFF * 2u32.saturating_pow(self.pauses.clamp(1, 16) - 1);
        jittered(verdict.retry_after.unwrap_or(doubling).min(MAX_BACKOFF))
    }
}

struct Queues<P> {
    jobs: BTreeMap<&'static str, VecDeque<Job<P>>>,
    breakers: BTreeMap<&'static str, Breaker>,
    running: usize,
    peak: usize,
    retries: usize,
    /// Round-robin position over the kinds.
    turn: usize,
    /// No pause may end after this.
    deadline: Instant,
}

pub enum Next<P> {
    Run(Job<P>),
    /// The kind was given up: this verdict, no call.
    GiveUp(Job<P>, HealthCheck),
    /// Nothing runnable now: wait until then, or a wake-up.
    Wait(Option<Instant>),
    Done,
}

/// What the scheduler counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub peak: usize,
    pub retries: usize,
    /// Kinds given up in this sweep.
    pub given_up: usize,
}

pub struct Scheduler<P> {
    queues: Mutex<Queues<P>>,
    /// Notified whenever a check finishes (a job may have become runnable).
    pub wake: Notify,
}

impl<P> Scheduler<P> {
    /// A scheduler whose pauses all end by `deadline`.
    pub fn new(deadline: Instant) -> Self {
        Scheduler {
            queues: Mutex::new(Queues {
                jobs: BTreeMap::new(),
                breakers: BTreeMap::new(),
                running: 0,
                peak: 0,
                retries: 0,
                turn: 0,
                deadline,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queues<P>> {
        self.queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn push(&self, kind: &'static str, payload: P) {
        self.lock().jobs.entry(kind).or_default().push_back(Job {
            payload,
            kind,
            attempts: 0,
            round: 0,
        });
    }

    /// The next job of a kind whose breaker lets it through, in turn.
    pub fn next(&self) -> Next<P> {
        let mut guard = self.lock();
        let q = &mut *guard;
        let now = Instant::now();
        let kinds: Vec<&'static str> = q
            .jobs
            .iter()
            .filter(|(_, jobs)| !jobs.is_empty())
            .map(|(kind, _)| *kind)
            .collect();
        if kinds.is_empty() {
            return if q.running == 0 {
                Next::Done
            } else {
                Next::Wait(None)
            };
        }
        let mut earliest: Option<Instant> = None;
        for offset in 0..kinds.len() {
            let kind = kinds[(q.turn + offset) % kinds.len()];
            let breaker = q.breakers.entry(kind).or_default();
            let Some(queue) = q.jobs.get_mut(kind) else {
                continue;
            };
            if let Some(verdict) = &breaker.given_up {
                if let Some(job) = queue.pop_front() {
                    return Next::GiveUp(job, verdict.clone());
                }
                continue;
            }
            if let Some(until) = breaker.until.filter(|until| *until > now) {
                earliest = Some(earliest.map_or(until, |e| e.min(until)));
                continue;
            }
            // Half-open: one probe at a time.
            if breaker.pauses > 0 && breaker.running > 0 {
                continue;
            }
            let Some(mut job) = queue.pop_front() else {
                continue;
            };
            job.round = breaker.round;
            breaker.running += 1;
            q.turn = q.turn.wrapping_add(offset + 1);
            q.running += 1;
            q.peak = q.peak.max(q.running);
            return Next::Run(job);
        }
        Next::Wait(earliest)
    }

    /// Records a check's verdict. Returns the job when it is done (its
    /// verdict is final), or `None` when it was queued again.
    pub fn finished(&self, mut job: Job<P>, verdict: &HealthCheck) -> Option<Job<P>> {
        let mut q = self.lock();
        q.running -= 1;
        let deadline = q.deadline;
        let breaker = q.breakers.entry(job.kind).or_default();
        breaker.running -= 1;
        let same_round = job.round == breaker.round;
        let again = if verdict.retryable {
            if same_round {
                breaker.pauses += 1;
                breaker.round += 1;
                let until = Instant::now() + breaker.pause_for(verdict);
                if breaker.pauses >= MAX_PAUSES || until > deadline {
                    tracing::warn!(
                        kind = job.kind,
                        code = verdict.error_code().unwrap_or("-"),
                        "health checks of this kind given up for this sweep: its upstream keeps failing"
                    );
                    breaker.given_up = Some(verdict.clone());
                } else {
                    breaker.until = Some(until);
                }
            }
            job.attempts += 1;
            job.attempts < MAX_ATTEMPTS && breaker.given_up.is_none()
        } else {
            if same_round {
                breaker.pauses = 0;
                breaker.until = None;
            }
            false
        };
        let done = if again {
            q.retries += 1;
            q.jobs.entry(job.kind).or_default().push_back(job);
            None
        } else {
            Some(job)
        };
        drop(q);
        self.wake.notify_waiters();
        done
    }

    pub fn counts(&self) -> Counts {
        let q = self.lock();
        Counts {
            peak: q.peak,
            retries: q.retries,
            given_up: q.breakers.values().filter(|b| b.given_up.is_some()).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use axum::http::StatusCode;

    fn unavailable() -> HealthCheck {
        HealthCheck::from_error(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            "down",
            "later",
        ))
        .with_retry_after(Some(Duration::from_millis(1)))
    }

    fn run(s: &Scheduler<u32>) -> Job<u32> {
        match s.next() {
            Next::Run(job) => job,
            _ => panic!("expected a job to run"),
        }
    }

    #[test]
    fn one_failure_per_round_pauses_the_kind_and_a_probe_closes_it() {
        let s = Scheduler::new(Instant::now() + Duration::from_secs(60));
        for i in 0..3 {
            s.push("huggingface", i);
        }
        s.push("docker_hub", 9);
        // Three in flight; the two HuggingFace ones fail together.
        let (a, b, c) = (run(&s), run(&s), run(&s));
        assert_eq!(
            (a.kind, b.kind, c.kind),
            ("docker_hub", "huggingface", "huggingface")
        );
        assert!(s.finished(b, &unavailable()).is_none(), "queued again");
        assert!(s.finished(c, &unavailable()).is_none(), "queued again");
        assert_eq!(
            s.lock().breakers["huggingface"].pauses,
            1,
            "one pause per round"
        );
        // The other kind is not held up.
        assert!(s.finished(a, &HealthCheck::healthy()).is_some());
        std::thread::sleep(Duration::from_millis(5));
        // Half-open: one probe only.
        let probe = run(&s);
        assert!(matches!(s.next(), Next::Wait(None)));
        assert!(s.finished(probe, &HealthCheck::healthy()).is_some());
        assert_eq!(s.lock().breakers["huggingface"].pauses, 0, "closed again");
        let (d, e) = (run(&s), run(&s));
        assert!(s.finished(d, &HealthCheck::healthy()).is_some());
        assert!(s.finished(e, &HealthCheck::healthy()).is_some());
        assert!(matches!(s.next(), Next::Done));
        assert_eq!(
            s.counts(),
            Counts {
                peak: 3,
                retries: 2,
                given_up: 0
            }
        );
    }

    #[test]
    fn a_kind_that_keeps_failing_is_given_up_without_more_calls() {
        let s = Scheduler::new(Instant::now() + Duration::from_secs(60));
        for i in 0..10 {
            s.push("huggingface", i);
        }
        let mut calls = 0;
        let mut given_up = 0;
        loop {
            match s.next() {
                Next::Run(job) => {
                    calls += 1;
                    s.finished(job, &unavailable());
                }
                Next::GiveUp(_, verdict) => {
                    given_up += 1;
                    assert_eq!(verdict.error_code(), Some("upstream_unavailable"));
                }
                Next::Wait(_) => std::thread::sleep(Duration::from_millis(2)),
                Next::Done => break,
            }
        }
        assert_eq!(calls, MAX_PAUSES as usize, "one probe per pause");
        assert_eq!(given_up, 10 - 1, "all but the last probe's record");
        assert_eq!(s.counts().given_up, 1);
    }

    #[test]
    fn a_pause_beyond_the_deadline_gives_up_at_once() {
        let s = Scheduler::new(Instant::now() + Duration::from_millis(10));
        s.push("huggingface", 1);
        s.push("huggingface", 2);
        let job = run(&s);
        let long = unavailable().with_retry_after(Some(Duration::from_secs(60)));
        assert!(s.finished(job, &long).is_some(), "final: no time to retry");
        assert!(matches!(s.next(), Next::GiveUp(_, _)));
    }
}
