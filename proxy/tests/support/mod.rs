//! Loopback test peers: for the AWS client a real moto server, and the AWS
//! fake of `alphaswarm-fakes` mirroring it for the one IAM call moto lacks
//! (SimulatePrincipalPolicy); the HuggingFace and Docker Hub fakes.
#![allow(dead_code)] // each test binary uses a different part

pub mod account_fakes;
pub mod moto;
