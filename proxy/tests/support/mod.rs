//! Loopback test peers: for the AWS client a real moto server and a fake
//! for the one IAM call moto lacks; the HuggingFace and Docker Hub fakes.
#![allow(dead_code)] // each test binary uses a different part

pub mod account_fakes;
pub mod iam_sim_fake;
pub mod moto;
