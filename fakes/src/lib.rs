//! Loopback fakes of the cloud APIs the proxy calls.
//!
//! One crate, used both by the tests and by the proxy's sandbox mode, so the
//! sandbox is exactly as faithful as the tests: each fake speaks the real
//! wire format and refuses what the real service refuses (signatures, issuer,
//! subject, audience, scopes, policies). Every fake binds to loopback only.
//!
//! Each cloud lives in its own module with its own state type; a fake's state
//! is built by *applying the artifacts the core rendered* (trust policies,
//! federated credentials, pools and bindings, token templates), never by a
//! shortcut that a rendering bug could slip past.

pub mod aws;
pub mod azure;
pub mod azure_key_vault;
pub mod cloudflare;
pub mod dockerhub;
pub mod gcp;
pub mod gcp_secret_manager;
pub mod huggingface;
pub mod oauth2;
pub mod server;
pub mod shared;
pub mod traffic;
