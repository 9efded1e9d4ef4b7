//! Budgets for password logins and TOTP codes that hold under concurrency.
//!
//! Every attempt is counted as a failure *before* it is checked (reserved),
//! under one lock, so a burst of parallel guesses cannot all slip past the
//! budget while their checks run; a success gives the count back. Budgets
//! are kept per client network and per account, separately for logins and
//! TOTP codes, with exponential back-off once the free failures are spent.
//! An account's back-off only holds back clients that have failed
//! themselves: a client with a clean record is still served while someone
//! else floods the account, so nobody can lock the operator out.
//!
//! Password hashes are additionally bounded by [`HashGate`]: a few at a
//! time (argon2 takes ~19 MiB each); the rest are refused at once.
//!
//! [`AttemptBudget`] is the seam for shared backends (several replicas on
//! one database); [`BackoffPolicy`] is the arithmetic they all share.

use async_trait::async_trait;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptKind {
    Login,
    Totp,
}

/// The network an attempt comes from: an IPv4 address, or the /64 of an
/// IPv6 one (a single host usually owns a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => ClientKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    ClientKey(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

/// Which budget a count belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BudgetKey {
    Client(AttemptKind, ClientKey),
    Account(AttemptKind, String),
}

/// The numbers every backend applies.
#[derive(Debug, Clone, Copy)]
pub struct BackoffPolicy {
    /// Failures a client may make before its back-off starts.
    pub client_free_failures: u32,
    /// Failures (from anyone) an account takes before its back-off starts.
    pub account_free_failures: u32,
    /// The first back-off; each further failure doubles it ...
    pub base: Duration,
    /// ... up to this.
    pub max: Duration,
    /// A budget with no failure for this long starts afresh.
    pub forget_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            client_free_failures: 5,
            account_free_failures: 20,
            base: Duration::from_secs(1),
            max: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

impl BackoffPolicy {
    /// How long a budget with `failures` counted stays closed after the last one.
    pub fn backoff(&self, failures: u32, free: u32) -> Option<Duration> {
        let over = failures.checked_sub(free)?;
        Some(self.base.saturating_mul(1 << over.min(20)).min(self.max))
    }

    fn free(&self, key: &BudgetKey) -> u32 {
        match key {
            BudgetKey::Client(..) => self.client_free_failures,
            BudgetKey::Account(..) => self.account_free_failures,
        }
    }
}

/// An attempt counted in advance; give it to [`AttemptBudget::succeeded`]
/// or [`AttemptBudget::cancelled`]. Dropping it leaves the failure counted.
#[derive(Debug)]
pub struct AttemptTicket {
    pub kind: AttemptKind,
    pub client: ClientKey,
    pub account: String,
}

impl AttemptTicket {
    pub fn new(kind: AttemptKind, client: ClientKey, account: &str) -> Self {
        AttemptTicket {
            kind,
            client,
            account: account.to_owned(),
        }
    }

    /// The client's budget, then the account's.
    pub fn keys(&self) -> [BudgetKey; 2] {
        [
            BudgetKey::Client(self.kind, self.client),
            BudgetKey::Account(self.kind, self.account.clone()),
        ]
    }
}

impl BudgetKey {
    /// A stable name for the budget (the shared backend's row key).
    pub fn name(&self) -> String {
        let kind = |k: &AttemptKind| match k {
            AttemptKind::Login => "login",
            AttemptKind::Totp => "totp",
        };
        match self {
            BudgetKey::Client(k, ClientKey(ip)) => format!("{}/client/{ip}", kind(k)),
            BudgetKey::Account(k, account) => format!("{}/account/{account}", kind(k)),
        }
    }
}

/// A closed budget: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub retry_after: Duration,
}

/// Why an attempt was not counted, so not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Blocked(Blocked),
    /// The shared budgets could not be read or written: the attempt is
    /// refused rather than checked uncounted.
    Unavailable,
}

impl From<Blocked> for Refusal {
    fn from(blocked: Blocked) -> Self {
        Refusal::Blocked(blocked)
    }
}

#[async_trait]
pub trait AttemptBudget: Send + Sync {
    /// Counts one attempt of `client` on `account` as failed, before it is
    /// checked; `Blocked` when the client's budget, or the account's for a
    /// client that has failed before, is closed.
    async fn reserve(
        &self,
        kind: AttemptKind,
        client: ClientKey,
        account: &str,
    ) -> Result<AttemptTicket, Refusal>;
    /// The attempt was right: its count is given back and the client's
    /// record cleared.
    async fn succeeded(&self, ticket: AttemptTicket);
    /// The attempt was never checked (the proxy was busy): its count is given back.
    async fn cancelled(&self, ticket: AttemptTicket);
}

/// One budget's record; times are milliseconds on the backend's clock
/// (a process-local monotonic one in memory, Unix time in a database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub failures: u32,
    pub last_failure_ms: u64,
    pub closed_until_ms: Option<u64>,
}

impl Count {
    fn open_at(&self, now_ms: u64) -> Result<(), Blocked> {
        match self.closed_until_ms {
            Some(until) if until > now_ms => Err(Blocked {
                retry_after: Duration::from_millis(until - now_ms),
            }),
            _ => Ok(()),
        }
    }
}

/// The rules every backend applies to the records it holds: a backend
/// only loads the two records of a ticket, calls these under its lock,
/// and stores what they return (`None`: no record).
impl BackoffPolicy {
    fn forgotten(&self, count: &Count, now_ms: u64) -> bool {
        count.open_at(now_ms).is_ok()
            && now_ms.saturating_sub(count.last_failure_ms) >= self.forget_after.as_millis() as u64
    }

    /// A record as it stands at `now_ms` (`None` once forgotten).
    pub fn current(&self, count: Option<Count>, now_ms: u64) -> Option<Count> {
        count.filter(|c| !self.forgotten(c, now_ms))
    }

    /// [`AttemptBudget::reserve`] on the client's and the account's records:
    /// their new values, or `Blocked` (and nothing changes).
    pub fn reserve(
        &self,
        keys: &[BudgetKey; 2],
        records: [Option<Count>; 2],
        now_ms: u64,
    ) -> Result<[Option<Count>; 2], Blocked> {
        let [client, account] = records.map(|c| self.current(c, now_ms));
        if let Some(count) = client {
            count.open_at(now_ms)?;
            if count.failures > 0
                && let Some(account) = account
            {
                account.open_at(now_ms)?;
            }
        }
        let count = |key: &BudgetKey, previous: Option<Count>| {
            let failures = previous.map_or(0, |c| c.failures).saturating_add(1);
            Count {
                failures,
                last_failure_ms: now_ms,
                closed_until_ms: self
                    .backoff(failures, self.free(key))
                    .map(|d| now_ms + d.as_millis() as u64),
            }
        };
        Ok([
            Some(count(&keys[0], client)),
            Some(count(&keys[1], account)),
        ])
    }

    /// Gives one count back (and opens the budget once under its free failures).
    pub fn refund(&self, key: &BudgetKey, count: Option<Count>) -> Option<Count> {
        let mut count = count?;
        count.failures = count.failures.saturating_sub(1);
        if count.failures < self.free(key) {
            count.closed_until_ms = None;
        }
        (count.failures > 0).then_some(count)
    }

    /// [`AttemptBudget::succeeded`]: the client's record is cleared; the
    /// account keeps the others' failures (the flood goes on).
    pub fn succeeded(
        &self,
        keys: &[BudgetKey; 2],
        records: [Option<Count>; 2],
    ) -> [Option<Count>; 2] {
        [None, self.refund(&keys[1], records[1])]
    }

    /// [`AttemptBudget::cancelled`]: both counts are given back.
    pub fn cancelled(
        &self,
        keys: &[BudgetKey; 2],
        records: [Option<Count>; 2],
    ) -> [Option<Count>; 2] {
        [
            self.refund(&keys[0], records[0]),
            self.refund(&keys[1], records[1]),
        ]
    }
}

/// The in-process budgets (tests and tools; the proxy keeps its budgets
/// in the database, shared by every replica).
pub struct MemoryAttemptBudget {
    policy: BackoffPolicy,
    epoch: Instant,
    counts: Mutex<HashMap<BudgetKey, Count>>,
}

/// Above this many budgets, forgotten ones are swept on the next reserve.
const SWEEP_ABOVE: usize = 4096;

impl MemoryAttemptBudget {
    pub fn new(policy: BackoffPolicy) -> Self {
        MemoryAttemptBudget {
            policy,
            epoch: Instant::now(),
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Applies `change` to the ticket's two records under the lock.
    fn update<T>(
        &self,
        keys: &[BudgetKey; 2],
        change: impl FnOnce([Option<Count>; 2]) -> Result<([Option<Count>; 2], T), Blocked>,
    ) -> Result<T, Blocked> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.now_ms();
        if counts.len() > SWEEP_ABOVE {
            counts.retain(|_, c| !self.policy.forgotten(c, now));
        }
        let records = [counts.get(&keys[0]).copied(), counts.get(&keys[1]).copied()];
        let (records, out) = change(records)?;
        for (key, record) in keys.iter().zip(records) {
            match record {
                Some(count) => counts.insert(key.clone(), count),
                None => counts.remove(key),
            };
        }
        Ok(out)
    }
}

#[async_trait]
impl AttemptBudget for MemoryAttemptBudget {
    async fn reserve(
        &self,
        kind: AttemptKind,
        client: ClientKey,
        account: &str,
    ) -> Result<AttemptTicket, Refusal> {
        let ticket = AttemptTicket::new(kind, client, account);
        let keys = ticket.keys();
        let now = self.now_ms();
        self.update(&keys, |records| {
            Ok((self.policy.reserve(&keys, records, now)?, ()))
        })?;
        Ok(ticket)
    }

    async fn succeeded(&self, ticket: AttemptTicket) {
        let keys = ticket.keys();
        let _ = self.update(&keys, |records| {
            Ok((self.policy.succeeded(&keys, records), ()))
        });
    }

    async fn cancelled(&self, ticket: AttemptTicket) {
        let keys = ticket.keys();
        let _ = self.update(&keys, |records| {
            Ok((self.policy.cancelled(&keys, records), ()))
        });
    }
}

/// At most a few password hashes at once; the rest are refused, not queued.
#[derive(Clone)]
pub struct HashGate(Arc<Semaphore>);

impl HashGate {
    pub fn new(permits: usize) -> Self {
        HashGate(Arc::new(Semaphore::new(permits.max(1))))
    }

    /// One permit per core, at most four (each argon2 hash holds ~19 MiB).
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores.clamp(1, 4))
    }

    pub fn try_enter(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().try_acquire_owned().ok()
    }
}

/// What the session routes hold: the budgets and the hash gate.
pub struct AttemptGuard {
    pub budget: Arc<dyn AttemptBudget>,
    pub hashes: HashGate,
}

impl AttemptGuard {
    pub fn in_memory() -> Self {
        Self::with_budget(Arc::new(MemoryAttemptBudget::new(BackoffPolicy::default())))
    }

    /// With the budgets of `budget` (the database's, shared by replicas).
    pub fn with_budget(budget: Arc<dyn AttemptBudget>) -> Self {
        AttemptGuard {
            budget,
            hashes: HashGate::per_core(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::from([127, 0, 0, last]))
    }

    fn budget() -> MemoryAttemptBudget {
        MemoryAttemptBudget::new(BackoffPolicy {
            client_free_failures: 3,
            account_free_failures: 5,
            ..BackoffPolicy::default()
        })
    }

    #[test]
    fn backoff_doubles_from_the_first_failure_past_the_free_ones() {
        let policy = BackoffPolicy::default();
        assert_eq!(policy.backoff(4, 5), None);
        assert_eq!(policy.backoff(5, 5), Some(Duration::from_secs(1)));
        assert_eq!(policy.backoff(7, 5), Some(Duration::from_secs(4)));
        assert_eq!(policy.backoff(500, 5), Some(policy.max));
    }

    #[tokio::test]
    async fn reservations_close_the_budget_before_any_check_finishes() {
        let budget = budget();
        // Three reservations in flight, none settled yet: the fourth is refused.
        let mut tickets = Vec::new();
        for _ in 0..3 {
            tickets.push(budget.reserve(AttemptKind::Login, client(2), "admin").await);
        }
        assert!(tickets.iter().all(Result::is_ok));
        let Err(Refusal::Blocked(refused)) =
            budget.reserve(AttemptKind::Login, client(2), "admin").await
        else {
            panic!("the fourth reservation is refused");
        };
        assert!(
            refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_secs(1)
        );
        // Another client is untouched, and TOTP codes have their own budget.
        assert!(
            budget
                .reserve(AttemptKind::Login, client(3), "admin")
                .await
                .is_ok()
        );
        assert!(
            budget
                .reserve(AttemptKind::Totp, client(2), "admin")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_flooded_account_still_serves_a_client_with_a_clean_record() {
        let budget = budget();
        for last in 10..20 {
            let _ = budget
                .reserve(AttemptKind::Login, client(last), "admin")
                .await;
        }
        // The account is closed for clients that have failed ...
        assert!(
            budget
                .reserve(AttemptKind::Login, client(10), "admin")
                .await
                .is_err()
        );
        // ... not for one that never did; its success clears it.
        let ticket = budget
            .reserve(AttemptKind::Login, client(99), "admin")
            .await
            .unwrap();
        budget.succeeded(ticket).await;
        assert!(
            budget
                .reserve(AttemptKind::Login, client(99), "admin")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn cancelled_attempts_are_given_back() {
        let budget = budget();
        for _ in 0..10 {
            let ticket = budget
                .reserve(AttemptKind::Login, client(5), "admin")
                .await
                .unwrap();
            budget.cancelled(ticket).await;
        }
        assert!(budget.counts.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_v4_by_the_v4_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ClientKey::of(a), ClientKey::of(b));
        let mapped: IpAddr = "::ffff:127.0.0.7".parse().unwrap();
        assert_eq!(ClientKey::of(mapped), client(7));
    }

    #[test]
    fn the_hash_gate_refuses_past_its_permits() {
        let gate = HashGate::new(2);
        let held = (gate.try_enter(), gate.try_enter());
        assert!(held.0.is_some() && held.1.is_some());
        assert!(gate.try_enter().is_none());
        drop(held);
        assert!(gate.try_enter().is_some());
    }
}
