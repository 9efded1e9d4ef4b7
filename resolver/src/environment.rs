//! The variables the resolver reads, as one snapshot.
//!
//! Everything (the chain's `ALPHASWARM_*` settings and the clouds' standard
//! identity variables such as `AWS_ROLE_ARN` or `GOOGLE_APPLICATION_CREDENTIALS`)
//! is read from an [`Environment`], never from the process directly, so tests
//! and the proxy can build a chain from an explicit map.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// The variable, or `None` when unset or blank (an empty variable counts as unset).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Whether any variable starts with `prefix` (for "half-configured" checks).
    pub fn names_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.vars
            .iter()
            .filter(move |(k, v)| k.starts_with(prefix) && !v.trim().is_empty())
            .map(|(k, _)| k.as_str())
    }

    pub fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }
}
