//! `cargo bench -p alphaswarm-core`: time to derive one external id.
//! Render benches join the same group (add functions to `benches` below).

use alphaswarm_core::external_id::derive_external_id;
use alphaswarm_core::{CloudKind, OrgId};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn derive_one_external_id(c: &mut Criterion) {
    // A fixed, non-secret benchmark key: the derivation's cost does not depend on it.
    let secret = [0x42u8; 32];
    let org = OrgId::parse("org-acme").expect("valid org id");
    c.bench_function("derive_external_id", |b| {
        b.iter(|| derive_external_id(black_box(&secret), CloudKind::Aws, black_box(&org)))
    });
}

criterion_group!(benches, derive_one_external_id);
criterion_main!(benches);
