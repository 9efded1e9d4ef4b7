//! AlphaSwarm cloud onboarding: the pure domain.
//!
//! No I/O, no clock, no randomness: secrets and time are parameters, so the
//! same input gives the same output on native and on wasm32. Every value that
//! ends up in a rendered artifact is validated by a newtype and quoted on the
//! way out. See ARCHITECTURE.md for the code map.

pub mod bundle;
pub mod error;
pub mod ids;
pub mod name;
pub mod rule;
pub mod shell;
pub mod timestamp;

pub mod baseline;
pub mod external_id;
pub mod keys;
pub mod operator;
pub mod rotation;
pub mod secret;
pub mod wizard;

pub mod accounts;
pub mod aws;
pub mod azure;
pub mod cloudflare;
pub mod gcp;
pub mod k8s;

pub use bundle::{Bundle, RenderError};
pub use error::{CoreError, ErrorBody};
pub use ids::{AwsAccountId, CloudKind, ExternalId, IdError, OrgId};

/// The crate version, as exposed by the npm package's `version()`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
