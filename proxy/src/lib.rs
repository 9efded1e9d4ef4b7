//! The wizard's backend. See proxy/API.md for the HTTP contract.
//!
//! Code map: `config` (env → typed settings), `app` (start-up wiring),
//! `routes` (thin handlers), `auth` (sessions, step-up), `audit` (hash-chained
//! trail), `store` (encrypted integrations), `providers` (one per cloud
//! behind `CloudProvider`; AWS calls behind `AwsCalls`), `seams` (core
//! functions being written on other branches), `error` (the JSON error).

pub mod app;
pub mod audit;
pub mod auth;
/// AWS API clients (STS, IAM, EC2) behind a trait so fakes can stand in.
pub mod aws;
pub mod config;
pub mod error;
pub mod providers;
pub mod routes;
pub mod seams;
pub mod store;
