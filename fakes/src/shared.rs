//! What a fake's handle and its router share: the fake's world (behind a
//! lock that a panicking test thread cannot wedge) and its [`Traffic`].

use crate::traffic::Traffic;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub struct Shared<S> {
    state: Arc<Mutex<S>>,
    traffic: Traffic,
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared {
            state: self.state.clone(),
            traffic: self.traffic.clone(),
        }
    }
}

impl<S: Default> Default for Shared<S> {
    fn default() -> Self {
        Self::with_traffic(Traffic::default())
    }
}

impl<S: Default> Shared<S> {
    /// A fresh world counted by `traffic` (which other fakes may share).
    pub fn with_traffic(traffic: Traffic) -> Self {
        Shared {
            state: Arc::default(),
            traffic,
        }
    }
}

impl<S> Shared<S> {
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }
}

/// The tokens a fake issued, each with what it grants; revoking one makes
/// it unknown to every route until it is reinstated.
pub struct Tokens<T> {
    issued: HashMap<String, (T, bool)>,
}

impl<T> Default for Tokens<T> {
    fn default() -> Self {
        Tokens {
            issued: HashMap::new(),
        }
    }
}

impl<T> Tokens<T> {
    pub fn insert(&mut self, token: String, grant: T) {
        self.issued.insert(token, (grant, false));
    }

    /// Revokes (`true`) or reinstates (`false`) a token.
    pub fn set_revoked(&mut self, token: &str, revoked: bool) {
        if let Some(entry) = self.issued.get_mut(token) {
            entry.1 = revoked;
        }
    }

    /// What a known, unrevoked token grants.
    pub fn live(&self, token: &str) -> Option<&T> {
        self.issued
            .get(token)
            .filter(|(_, revoked)| !revoked)
            .map(|(grant, _)| grant)
    }
}
