//! `cargo bench -p alphaswarm-proxy --bench gcp_federation`: GCP step 3
//! (validate-identity) latency against the loopback Google Cloud fake, p50
//! and p99, in process on loopback. Per call: two fresh assertions (the
//! org's and the isolation probe), the STS exchange and generateAccessToken
//! for the org, the project read, and the probe's STS exchange (refused by
//! the attribute condition). STS fetches the proxy's discovery document and
//! JWKS on every exchange (the fake caches nothing); the private-issuer
//! variant (keys uploaded with the provider) is measured too.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/gcp_support/mod.rs"]
mod gcp_support;
#[path = "support/stats.rs"]
mod stats;

use gcp_support::*;
use serde_json::json;
use stats::{ms, percentile};
use std::time::Instant;

const STEPS: usize = 200;

async fn step3(world: &GcpWorld, token: &str, org: &str, label: &str) {
    let request = body(org, PROJECT, NUMBER);
    let mut samples = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let t = Instant::now();
        let (status, answer) = world
            .step(token, org, "validate-identity", request.clone())
            .await;
        samples.push(t.elapsed());
        assert_eq!(status, 200, "{answer}");
    }
    samples.sort();
    println!(
        "GCP step 3 against the fake ({label}): p50 {}, p99 {} over {STEPS}",
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let world = GcpWorld::start("bench-gcp").await;
        world.onboard("acme", PROJECT, NUMBER).await;
        let token = world.proxy.stepped_up().await;
        step3(&world, &token, "acme", "keys fetched from the issuer").await;
        // The private-issuer variant for another org in the same project.
        let answer = world
            .bootstrap_answer(
                "beta",
                json!({ "project_id": PROJECT, "project_number": NUMBER, "roles": ROLES, "upload_jwks": true }),
            )
            .await;
        world
            .fake
            .apply_bundle(&serde_json::from_value(answer["bundle"].clone()).unwrap())
            .unwrap();
        step3(&world, &token, "beta", "keys uploaded with the provider").await;
    });
}
