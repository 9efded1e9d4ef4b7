//! Loopback test peers for the AWS client: a real moto server, and the
//! AWS fake of `alphaswarm-fakes` mirroring it for the one IAM call moto
//! lacks (SimulatePrincipalPolicy).
#![allow(dead_code)] // each test binary uses a different part

pub mod moto;
