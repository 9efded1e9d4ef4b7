//! `cargo bench -p alphaswarm-core`: time to derive one external id, to
//! render each cloud's bundle and each workload-identity wiring (validation
//! included, as callers pay for it), and to diagnose a 50-document manifest.
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
    use alphaswarm_core::k8s::{self, DiagnoseRequest, WorkloadCloud, WorkloadIdentityRequest};
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

    fn render_workload_identity(c: &mut Criterion) {
        let common = json!({
            "namespace": "internal-platform",
            "serviceAccount": "spec-agent-worker",
            "clusterName": "aucert-aks",
            "credentialKeys": ["postgres:password", "foundry:api_key"],
        });
        let with = |extra: serde_json::Value| -> WorkloadIdentityRequest {
            let mut value = common.clone();
            for (k, v) in extra.as_object().expect("object") {
                value[k] = v.clone();
            }
            request(value)
        };
        let cases = [
            (
                "render_k8s_aks",
                with(json!({
                    "issuer": "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5f3e9c1a-8d2b-4e6f-9a0c-1b2d3e4f5a6b/",
                    "cloud": { "kind": "aks", "subscriptionId": "00000000-1111-2222-3333-444444444444",
                               "resourceGroup": "aucert-foundation-rg", "keyVaultName": "aucertdev-kv-41e0x5" }
                })),
            ),
            (
                "render_k8s_eks",
                with(json!({
                    "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
                    "cloud": { "kind": "eks", "accountId": "111122223333", "region": "us-east-1" }
                })),
            ),
            (
                "render_k8s_eks_pod_identity",
                with(json!({
                    "cloud": { "kind": "eks_pod_identity", "accountId": "111122223333", "region": "us-east-1" }
                })),
            ),
            (
                "render_k8s_gke",
                with(json!({
                    "externalSecrets": "secret_store",
                    "cloud": { "kind": "gke", "projectId": "alphaswarm-prod", "projectNumber": "123456789012", "location": "us-central1" }
                })),
            ),
        ];
        for (name, req) in &cases {
            c.bench_function(name, |b| {
                b.iter(|| k8s::render(black_box(req)).expect("renders"))
            });
        }
    }

    /// 25 Deployments with their 25 ServiceAccounts, as one paste.
    fn diagnose_fifty_documents(c: &mut Criterion) {
        let mut manifests = String::new();
        for i in 0..25 {
            manifests.push_str(&format!(
                "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: worker-{i}\n  namespace: apps\n  annotations:\n    azure.workload.identity/client-id: \"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d\"\n\
                 ---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker-{i}\n  namespace: apps\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: worker-{i}}}\n  template:\n    metadata:\n      labels:\n        app: worker-{i}\n        azure.workload.identity/use: \"true\"\n    spec:\n      serviceAccountName: worker-{i}\n      containers:\n        - name: app\n          image: registry.example/worker:{i}\n          env:\n            - {{name: A, value: \"1\"}}\n            - {{name: B, value: \"2\"}}\n"
            ));
        }
        let req = DiagnoseRequest {
            cloud: WorkloadCloud::Aks,
            manifests,
            default_namespace: None,
            cloud_output: Default::default(),
            error_text: None,
        };
        let workloads = k8s::diagnose_workload(&req)
            .expect("diagnoses")
            .workloads
            .len();
        assert_eq!(workloads, 25, "the benchmark input holds 25 workloads");
        c.bench_function("diagnose_k8s_50_documents", |b| {
            b.iter(|| k8s::diagnose_workload(black_box(&req)).expect("diagnoses"))
        });
    }

    criterion_group!(
        benches,
        derive_one_external_id,
        render_bundles,
        render_workload_identity,
        diagnose_fifty_documents
    );
}
