//! The wizard's backend. See proxy/API.md for the HTTP contract and
//! ARCHITECTURE.md for how the modules fit together.

/// AWS API clients (STS, IAM, EC2) behind a trait so fakes can stand in.
pub mod aws;
