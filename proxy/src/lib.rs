//! The wizard's backend. See proxy/API.md for the HTTP contract.
//!
//! Code map: `config` (env → typed settings), `app` (start-up wiring),
//! `routes` (thin handlers), `auth` (sessions, step-up), `audit` (hash-chained
//! trail), `store` (encrypted integrations), `providers` (one per cloud
//! behind `CloudProvider`), `aws` (the AWS calls behind `AwsApi`: the SigV4
//! client, classified errors, settle retry), `error` (the JSON error).

pub mod app;
pub mod audit;
pub mod auth;
/// AWS API clients (STS, IAM, EC2) behind a trait so fakes can stand in.
pub mod aws;
pub mod config;
/// Shared state in SQLite (default) or PostgreSQL: store, audit chain, imports.
pub mod db;
pub mod error;
pub mod providers;
pub mod routes;
pub mod store;
