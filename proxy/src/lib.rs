//! The wizard's backend. See proxy/API.md for the HTTP contract.
//!
//! Code map: `config` (env → typed settings), `app` (start-up wiring),
//! `serve` (accept loop: timeouts, connection cap), `edge` (hosts, body
//! rules, deadline, security headers), `routes` (thin handlers), `auth`
//! (sessions, step-up, attempt budgets), `audit` (hash-chained trail with
//! signed checkpoints), `store` (encrypted integrations), `providers` (one
//! per cloud behind `CloudProvider`), `accounts` (HuggingFace and Docker Hub
//! behind `AccountProvider`), `health` (health checks and the background
//! re-check), `integration_routes` (connect/disconnect/health of any kind),
//! `aws` (the AWS calls behind `AwsApi`: the SigV4 client, classified
//! errors, settle retry), `azure` (Entra and ARM behind `AzureApi`), `gcp`
//! (STS, IAM Credentials, Resource Manager and Compute behind `GcpApi`),
//! `cloudflare` (the Cloudflare calls behind `CloudflareApi`), `federation`
//! (the OIDC issuer: documents, signing keys, minting, the key CLI), `sandbox`
//! (the loopback fakes as the clouds, and applying step 2 to them), `error`
//! (the JSON error).

/// HuggingFace and Docker Hub: token-based account integrations.
pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
/// AWS API clients (STS, IAM, EC2) behind a trait so fakes can stand in.
pub mod aws;
/// Azure calls (Entra token exchange, ARM) behind a trait so fakes can stand in.
pub mod azure;
/// The Cloudflare API client behind a trait.
pub mod cloudflare;
pub mod config;
/// The proxy's own secrets through the CredentialResolver chain, its
/// integration store as `integration_store`, describe and minting.
pub mod credentials;
/// Shared state in SQLite (default) or PostgreSQL: store, audit chain, imports.
pub mod db;
pub mod edge;
pub mod error;
/// The proxy as AlphaSwarm's OIDC issuer (discovery, JWKS, signing keys, minting).
pub mod federation;
/// Google Cloud calls (STS, IAM Credentials, Resource Manager, Compute) behind a trait.
pub mod gcp;
/// Connection health: checks, verdicts and the background re-check.
pub mod health;
pub mod integration_routes;
pub mod overview;
pub mod providers;
pub mod routes;
/// Sandbox mode: every cloud simulated on loopback, and "Apply in the sandbox".
pub mod sandbox;
pub mod serve;
pub mod store;
pub mod tools;
