//! Prints, as one JSON document, every bundle the native core renders for a
//! fixed set of step-2 requests (each cloud, both Azure modes, edge org ids,
//! partitions, every Cloudflare template, each cluster's workload-identity
//! wiring, and refused inputs). tests/pkg renders the same
//! requests through the npm package (the wasm32 build) in Node and compares
//! the JSON byte for byte: "same input, same output on native and wasm32".
//!
//! `cargo run -p alphaswarm-core --example bundle_fixtures > fixtures.json`
//!
//! Output: `[{ "render": "<npm export>", "input": {…}, "output": "<bundle as
//! JSON text>" | null, "error": {"code", "field"} | null }]`. Requests are
//! JSON, as a JavaScript caller writes them; one that does not deserialise is
//! the package's `invalid_argument` on `options`, as the binding reports it.
// An example prints; the purity rules of core/clippy.toml are for core/src.
#![allow(clippy::disallowed_macros)]

use alphaswarm_core::{Bundle, CoreError, aws, azure, cloudflare, gcp, k8s};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const LONGEST_ORG: &str = "a0123456789-abcdefghijklmnopqrstuvwxyz_0123456789-abcdefghijklmz";
const EXTERNAL_ID: &str = "3f9a0c2d5e7b4a1c8d6e2f0a9b7c5d3e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c";

fn render<R: DeserializeOwned, E: CoreError>(
    export: &str,
    input: Value,
    render: fn(&R) -> Result<Bundle, E>,
) -> Value {
    let (output, error) = match serde_json::from_value::<R>(input.clone()) {
        Err(_) => (
            None,
            Some(json!({"code": "invalid_argument", "field": "options"})),
        ),
        Ok(request) => match render(&request) {
            Ok(bundle) => (serde_json::to_string(&bundle).ok(), None),
            Err(e) => (None, Some(json!({"code": e.code(), "field": e.field()}))),
        },
    };
    json!({"render": export, "input": input, "output": output, "error": error})
}

fn aws_cases() -> Vec<Value> {
    let base = |org: &str| json!({"orgId": org, "partnerAccountId": "111122223333", "externalId": EXTERNAL_ID});
    let with = |org: &str, extra: Value| {
        let mut request = base(org);
        for (k, v) in extra.as_object().into_iter().flatten() {
            request[k] = v.clone();
        }
        request
    };
    let everything = json!({
        "templateUrl": "https://alphaswarm-templates.s3.amazonaws.com/v1/alphaswarm-broker-role.cfn.json",
        "organizationalUnitIds": ["ou-ab12-cd34ef56", "r-ab12"],
        "rolePath": "/alphaswarm/team/",
        "managedPolicy": "job-function/ViewOnlyAccess",
    });
    vec![
        base("org-acme"),
        base("__platform__"),
        base(LONGEST_ORG),
        with("org-acme", everything.clone()),
        with(LONGEST_ORG, everything),
        with("org-acme", json!({"region": "cn-northwest-1"})),
        with("org-acme", json!({"partition": "aws-us-gov"})),
        with(
            "org-acme",
            json!({"roleNamePattern": "x.{org_id}@y", "externalId": "a,b=c:/+@."}),
        ),
        // Refused: each names its field.
        with("org-acme", json!({"partnerAccountId": "12345"})),
        with("org-acme", json!({"region": "mars-east-1"})),
        with("acme'; curl evil", json!({})),
        json!({"orgId": "org-acme"}),
    ]
    .into_iter()
    .map(|input| render("renderAwsBootstrap", input, aws::render))
    .collect()
}

fn azure_cases() -> Vec<Value> {
    // Managed identity (the default mode) and AlphaSwarm's shared app.
    let managed = |org: &str| {
        json!({
            "orgId": org,
            "issuer": "https://alpha-swarm.ai/oidc/",
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "subscriptionId": "00000000-1111-2222-3333-444444444444",
        })
    };
    let shared = |org: &str| {
        let mut request = managed(org);
        request["mode"] = json!("shared_app");
        request["appObjectId"] = json!("3F2504E0-4F89-11D3-9A0C-0305E82C3301");
        request["appClientId"] = json!("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d");
        request
    };
    let mut custom = managed("org-acme");
    custom["role"] = json!("ACDD72A7-3385-48EF-BD42-F606FBA81AE7");
    custom["audience"] = json!("api://alphaswarm-broker");
    custom["resourceGroup"] = json!("alphaswarm-(team).prod");
    custom["location"] = json!("westeurope");
    let mut custom_shared = shared("org-acme");
    custom_shared["role"] = json!("Reader");
    // Refused: each names its field.
    let mut bad_app = shared("org-acme");
    bad_app["appObjectId"] = json!("not-a-guid");
    let mut bad_group = managed("org-acme");
    bad_group["resourceGroup"] = json!("ends-with-dot.");
    let mut bad_issuer = managed("org-acme");
    bad_issuer["issuer"] = json!("http://alpha-swarm.ai/oidc/");
    [
        managed("org-acme"),
        managed("__platform__"),
        managed(LONGEST_ORG),
        shared("org-acme"),
        shared(LONGEST_ORG),
        custom,
        custom_shared,
        bad_app,
        bad_group,
        bad_issuer,
    ]
    .into_iter()
    .map(|input| render("renderAzureBootstrap", input, azure::render))
    .collect()
}

fn workload_identity_cases() -> Vec<Value> {
    let aks = json!({
        "namespace": "internal-platform",
        "serviceAccount": "spec-agent-worker",
        "issuer": "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5f3e9c1a-8d2b-4e6f-9a0c-1b2d3e4f5a6b/",
        "clusterName": "aucert-aks",
        "credentialKeys": ["postgres:password", "foundry:api_key"],
        "cloud": {"kind": "aks", "subscriptionId": "00000000-1111-2222-3333-444444444444", "resourceGroup": "aucert-foundation-rg", "keyVaultName": "aucertdev-kv-41e0x5"},
    });
    let with = |changes: Value| {
        let mut request = aks.clone();
        for (k, v) in changes.as_object().into_iter().flatten() {
            request[k] = v.clone();
        }
        request
    };
    let eks = json!({"kind": "eks", "accountId": "111122223333", "region": "us-east-1"});
    [
        aks.clone(),
        with(json!({
            "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
            "cloud": eks,
        })),
        with(json!({
            "issuer": null,
            "cloud": {"kind": "eks_pod_identity", "accountId": "111122223333", "region": "us-east-1"},
        })),
        with(json!({
            "issuer": null,
            "externalSecrets": "secret_store",
            "cloud": {"kind": "gke", "projectId": "alphaswarm-prod", "projectNumber": "123456789012"},
        })),
        // Refused: each names its field.
        with(json!({"namespace": "Internal Platform"})),
        with(json!({"serviceAccount": "sa;rm -rf /"})),
        with(json!({"issuer": null})),
    ]
    .into_iter()
    .map(|input| render("renderWorkloadIdentity", input, k8s::render))
    .collect()
}

fn gcp_cases() -> Vec<Value> {
    let full = |org: &str| {
        json!({
            "orgId": org,
            "projectId": "acme-prod",
            "projectNumber": "123456789012",
            "issuer": "https://alpha-swarm.ai/oidc/",
            "allowedAudience": "https://alpha-swarm.ai/gcp",
            "serviceAccountEmail": "alphaswarm-broker@acme-prod.iam.gserviceaccount.com",
        })
    };
    let mut other_project = full("org-acme");
    other_project["serviceAccountEmail"] =
        json!("broker@alphaswarm-platform.iam.gserviceaccount.com");
    let mut bad = full("org-acme");
    bad["issuer"] = json!("ftp://x");
    [
        full("org-acme"),
        full("__platform__"),
        full(LONGEST_ORG),
        other_project,
        bad,
    ]
    .into_iter()
    .map(|input| render("renderGcpBootstrap", input, gcp::render))
    .collect()
}

fn cloudflare_cases() -> Vec<Value> {
    let mut inputs = Vec::new();
    for template in ["dns_edit", "tunnel", "access", "worker", "r2"] {
        inputs.push(json!({"template": template, "orgId": "org-acme"}));
        inputs.push(json!({"template": template, "orgId": LONGEST_ORG, "accountId": "023e105f4ecef8ad9ca31a8372d0c353"}));
        inputs.push(json!({"template": template}));
    }
    inputs.push(json!({"template": "admin"}));
    inputs
        .into_iter()
        .map(|input| render("renderCloudflareBootstrap", input, cloudflare::render))
        .collect()
}

fn main() {
    let cases: Vec<Value> = [
        aws_cases(),
        azure_cases(),
        gcp_cases(),
        cloudflare_cases(),
        workload_identity_cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    println!("{}", Value::Array(cases));
}
