//! The variables the resolver reads, as one snapshot.
//!
//! Everything (the chain's `ALPHASWARM_*` settings and the clouds' standard
//! identity variables such as `AWS_ROLE_ARN` or `GOOGLE_APPLICATION_CREDENTIALS`)
//! is read from an [`Environment`], never from the process directly, so tests
//! and the proxy can build a chain from an explicit map.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `Debug` lists variable names only: the snapshot holds secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
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

    /// The names of the set variables starting with `prefix` (for "half-configured" checks).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_only_and_blank_is_unset() {
        let env =
            Environment::from_pairs([("AWS_SECRET_ACCESS_KEY", "CANARY-value"), ("EMPTY", "  ")]);
        assert_eq!(format!("{env:?}"), r#"{"AWS_SECRET_ACCESS_KEY", "EMPTY"}"#);
        assert_eq!(env.get("EMPTY"), None);
        assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), Some("CANARY-value"));
    }
}
