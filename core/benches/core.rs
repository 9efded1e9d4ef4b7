//! `cargo bench -p alphaswarm-core`: time to derive one external id and to
//! render each cloud's bundle (validation included, as callers pay for it).
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

// Benchmarks are native-only; wasm32 builds get an empty main.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use alphaswarm_core::external_id::derive_external_id;
    use alphaswarm_core::{CloudKind, OrgId, aws, azure, cloudflare, gcp};
    use criterion::{Criterion, criterion_group};
    use serde::de::DeserializeOwned;
    use serde_json::json;
    use std::hint::black_box;

    fn derive_one_external_id(c: &mut Criterion) {
        // A fixed, non-secret benchmark key: the derivation's cost does not depend on it.
        let secret = [0x42u8; 32];
        let org = OrgId::parse("org-acme").expect("valid org id");
        c.bench_function("derive_external_id", |b| {
            b.iter(|| derive_external_id(black_box(&secret), CloudKind::Aws, black_box(&org)))
        });
    }

    fn request<T: DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).expect("benchmark request matches the request type")
    }

    fn render_bundles(c: &mut Criterion) {
        let aws_req: aws::AwsBootstrapRequest = request(json!({
            "orgId": "org-acme",
            "partnerAccountId": "111122223333",
            "externalId": "3f9a0c2d5e7b4a1c8d6e2f0a9b7c5d3e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c",
            "templateUrl": "https://alphaswarm-public.s3.amazonaws.com/alphaswarm-broker-role.cfn.json",
            "organizationalUnitIds": ["ou-ab12-cd34ef56"]
        }));
        let azure_req: azure::AzureBootstrapRequest = request(json!({
            "orgId": "org-acme",
            "appObjectId": "11111111-2222-3333-4444-555555555555",
            "appClientId": "66666666-7777-8888-9999-000000000000",
            "issuer": "https://alpha-swarm.ai/oidc/",
            "tenantId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "subscriptionId": "12345678-1234-1234-1234-123456789abc"
        }));
        let gcp_req: gcp::GcpBootstrapRequest = request(json!({
            "orgId": "org-acme",
            "projectId": "acme-prod",
            "projectNumber": "123456789012",
            "issuer": "https://alpha-swarm.ai/oidc/",
            "allowedAudience": "https://alpha-swarm.ai/wif/org-acme",
            "serviceAccountEmail": "broker@alphaswarm-prod.iam.gserviceaccount.com"
        }));
        let cloudflare_req: cloudflare::CloudflareBootstrapRequest =
            request(json!({ "template": "dns_edit", "orgId": "org-acme" }));

        c.bench_function("render_aws", |b| {
            b.iter(|| aws::render(black_box(&aws_req)).expect("renders"))
        });
        c.bench_function("render_azure", |b| {
            b.iter(|| azure::render(black_box(&azure_req)).expect("renders"))
        });
        c.bench_function("render_gcp", |b| {
            b.iter(|| gcp::render(black_box(&gcp_req)).expect("renders"))
        });
        c.bench_function("render_cloudflare", |b| {
            b.iter(|| cloudflare::render(black_box(&cloudflare_req)).expect("renders"))
        });
    }

    criterion_group!(benches, derive_one_external_id, render_bundles);
}
