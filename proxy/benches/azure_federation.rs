//! `cargo bench -p alphaswarm-proxy --bench azure_federation`: figures for
//! the federation issuer and the Azure wizard, in process, on loopback.
//! - the time to mint and sign one assertion (RS256, 2048-bit key);
//! - Azure step 3 (validate-identity) latency against the loopback Entra +
//!   ARM fake, p50 and p99: per call two fresh assertions (the org's and the
//!   isolation probe), two token exchanges and one subscription read; once
//!   with Entra fetching the issuer's keys on every exchange (the fake's
//!   default) and once with them cached, as Entra does.

#[path = "../tests/azure_support/mod.rs"]
mod azure_support;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/stats.rs"]
mod stats;

use alphaswarm_core::ids::Audience;
use azure_support::*;
use stats::{ms, percentile};
use std::time::{Duration, Instant};

const MINTS: usize = 2_000;
const STEPS: usize = 200;

async fn mint_and_sign(world: &AzureWorld) {
    let federation = &world.proxy.state.federation;
    let audience = Audience::parse("api://AzureADTokenExchange").unwrap();
    // The first call generates the key; it is not part of the figure.
    federation.mint("org:acme", &audience).await.unwrap();
    let mut samples = Vec::with_capacity(MINTS);
    let started = Instant::now();
    for _ in 0..MINTS {
        let t = Instant::now();
        std::hint::black_box(federation.mint("org:acme", &audience).await.unwrap());
        samples.push(t.elapsed());
    }
    let total = started.elapsed();
    samples.sort();
    println!(
        "mint + sign one assertion: mean {} (p50 {}, p99 {}) over {MINTS}",
        ms(total / MINTS as u32),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
    );
}

async fn step3(world: &AzureWorld, token: &str, client_id: &str, label: &str) {
    let request = body("managed_identity", TENANT_A, SUB_A, Some(client_id));
    let mut samples = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let t = Instant::now();
        let (status, answer) = world
            .step(token, "acme", "validate-identity", request.clone())
            .await;
        samples.push(t.elapsed());
        assert_eq!(status, 200, "{answer}");
    }
    samples.sort();
    println!(
        "Azure step 3 against the fake ({label}): p50 {}, p99 {} over {STEPS}",
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
        let world = AzureWorld::start("bench-azure").await;
        mint_and_sign(&world).await;
        let client_id = world
            .onboard_identity("acme", TENANT_A, SUB_A, serde_json::json!({}))
            .await;
        let token = world.proxy.stepped_up().await;
        step3(&world, &token, &client_id, "keys fetched per exchange").await;
        world.fake.set_metadata_cache(Duration::from_secs(300));
        step3(&world, &token, &client_id, "keys cached by Entra").await;
    });
}
