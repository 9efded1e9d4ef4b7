//! `CredentialResolver`: one ordered chain of secret stores for every secret
//! (seeds 000 and 002).
//!
//! A service asks for a [`CredentialKey`] (`service:purpose`); the resolver
//! walks its [`SecretStore`]s in priority order (lower first) and returns the
//! first non-empty hit as a [`Credential`] that says its [`Source`], or the
//! caller's default. Values are parsed JSON first, else exposed as the field
//! `credential` (the core's [`secret`](alphaswarm_core::secret) module); every
//! store names keys through the core's [`keys`](alphaswarm_core::keys) module.
//!
//! The API is async (tokio, reqwest with rustls/ring) so the proxy can use it
//! from its runtime; [`CredentialResolver::from_env`] builds the default chain
//! ([`config`] documents the variables and priorities).
//!
//! Secrets: values leave only through [`Credential`]; `Debug` never shows one,
//! and no error, log line or `describe()` output carries a value or a
//! credential used to reach a store.

pub mod auth;
pub mod chain;
pub mod clock;
pub mod config;
pub mod credential;
pub mod environment;
pub mod error;
pub mod fields;
pub mod http;
pub mod stores;

pub use alphaswarm_core::keys::CredentialKey;
pub use alphaswarm_core::secret::SecretValue;
pub use chain::{
    ChainDescription, CredentialResolver, Fetched, Resolution, SecretStore, StoreDescription,
};
pub use credential::{Credential, Source};
pub use environment::Environment;
pub use error::{
    ConfigError, ConfigErrors, ResolveError, StoreError, StoreErrorKind, StoreFailure,
};
