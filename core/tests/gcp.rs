#![cfg(not(target_arch = "wasm32"))]
//! GCP bundles: snapshots, property tests through a real bash and
//! shellcheck, and a hostile corpus in every request field.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod support;

use alphaswarm_core::error::CoreError;
use alphaswarm_core::gcp::{self, GcpBootstrapRequest, GcpPoolId, POOL_ID_RULE};
use proptest::prelude::*;
use support::{
    assert_bash_round_trip, assert_shellcheck_clean, hostile_corpus, terraform_blocks,
    terraform_string,
};

const LONGEST_ORG: &str = "a123456789-123456789_123456789-123456789_123456789-123456789-bcd";

fn full_request(org: &str) -> GcpBootstrapRequest {
    GcpBootstrapRequest {
        org_id: org.into(),
        project_id: "acme-prod".into(),
        project_number: "123456789012".into(),
        issuer: "https://alpha-swarm.ai/oidc/".into(),
        allowed_audience: "https://alpha-swarm.ai/gcp".into(),
        service_account_email: "alphaswarm-broker@acme-prod.iam.gserviceaccount.com".into(),
    }
}

#[test]
fn snapshots() {
    for (label, org) in [
        ("org_acme", "org-acme"),
        ("platform", "__platform__"),
        ("longest", LONGEST_ORG),
    ] {
        let bundle = gcp::render(&full_request(org)).unwrap();
        insta::assert_yaml_snapshot!(format!("gcp_{label}"), bundle);
    }
}

#[test]
fn request_deserialises_from_camel_case() {
    let req: GcpBootstrapRequest = serde_json::from_value(serde_json::json!({
        "orgId": "org-acme",
        "projectId": "acme-prod",
        "projectNumber": "123456789012",
        "issuer": "https://alpha-swarm.ai/oidc/",
        "allowedAudience": "https://alpha-swarm.ai/gcp",
        "serviceAccountEmail": "alphaswarm-broker@acme-prod.iam.gserviceaccount.com",
    }))
    .unwrap();
    assert_eq!(req, full_request("org-acme"));
}

#[test]
fn commands_follow_the_runbook() {
    let v = full_request("org-acme").validate().unwrap();
    let argv: Vec<Vec<String>> = gcp::commands(&v).iter().map(|c| c.argv()).collect();
    let pool = "alphaswarm-broker-org-acme";
    assert_eq!(
        argv[0],
        [
            "gcloud",
            "iam",
            "workload-identity-pools",
            "create",
            pool,
            "--project",
            "acme-prod",
            "--location",
            "global",
            "--display-name",
            "AlphaSwarm broker org-acme",
        ]
    );
    assert_eq!(
        argv[1],
        [
            "gcloud",
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
            "alphaswarm-oidc",
            "--project",
            "acme-prod",
            "--location",
            "global",
            "--workload-identity-pool",
            pool,
            "--issuer-uri",
            "https://alpha-swarm.ai/oidc/",
            "--allowed-audiences",
            "https://alpha-swarm.ai/gcp",
            "--attribute-mapping",
            "google.subject=assertion.sub",
        ]
    );
    assert_eq!(
        argv[2],
        [
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
            "alphaswarm-broker@acme-prod.iam.gserviceaccount.com",
            "--project",
            "acme-prod",
            "--role",
            "roles/iam.workloadIdentityUser",
            "--member",
            "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme/*",
        ]
    );
    let bundle = gcp::render_validated(&v).unwrap();
    let config: serde_json::Value = serde_json::from_str(&bundle.files[0].contents).unwrap();
    assert_eq!(
        config["provider"]["oidc"]["issuerUri"],
        "https://alpha-swarm.ai/oidc/"
    );
    assert_eq!(
        config["provider"]["attributeMapping"]["google.subject"],
        "assertion.sub"
    );
    assert!(bundle.warnings.is_empty(), "{:?}", bundle.warnings);
}

#[test]
fn edge_orgs_get_shortened_pool_ids_with_a_warning() {
    for org in ["__platform__", LONGEST_ORG] {
        let bundle = gcp::render(&full_request(org)).unwrap();
        let pool = &bundle
            .values
            .iter()
            .find(|v| v.name == "pool_id")
            .unwrap()
            .value;
        assert!(pool.len() <= 32 && GcpPoolId::parse(pool).is_ok(), "{pool}");
        assert!(bundle.warnings.iter().any(|w| w.code == "name_shortened"));
    }
}

#[test]
fn service_account_in_another_project_is_flagged() {
    let req = GcpBootstrapRequest {
        service_account_email: "broker@alphaswarm-platform.iam.gserviceaccount.com".into(),
        ..full_request("org-acme")
    };
    let bundle = gcp::render(&req).unwrap();
    assert!(
        bundle
            .warnings
            .iter()
            .any(|w| w.code == "service_account_in_other_project")
    );
}

// ---------------------------------------------------------------- properties

const URL_CHARS: &str = "[A-Za-z0-9._~:/?#@!$&()*+;=%-]"; // no ',': one audience

fn regex(pattern: &str) -> impl Strategy<Value = String> + use<> {
    proptest::string::string_regex(pattern).unwrap()
}

fn org_id() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("__platform__".to_owned()),
        8 => regex("[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?").prop_filter("no --", |s| !s.contains("--")),
    ]
}

fn request() -> impl Strategy<Value = GcpBootstrapRequest> {
    (
        org_id(),
        regex("[a-z][a-z0-9-]{4,28}[a-z0-9]"),
        regex("[1-9][0-9]{5,15}"),
        (
            regex("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z]{2,6}){1,2}"),
            regex(&format!("(/{URL_CHARS}{{0,40}})?")),
        )
            .prop_map(|(host, path)| format!("https://{host}{path}")),
        regex(&format!("[A-Za-z0-9/]{URL_CHARS}{{0,120}}")),
        regex("[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com"),
    )
        .prop_map(
            |(org_id, project_id, project_number, issuer, allowed_audience, service_account_email)| {
                GcpBootstrapRequest {
                    org_id,
                    project_id,
                    project_number,
                    issuer,
                    allowed_audience,
                    service_account_email,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_valid_request_renders_safely(req in request()) {
        let v = req.validate().unwrap();
        let bundle = gcp::render_validated(&v).unwrap();
        for file in &bundle.files {
            let parsed: serde_json::Value = serde_json::from_str(&file.contents).unwrap();
            prop_assert_eq!(&parsed["provider"]["oidc"]["issuerUri"], &serde_json::json!(req.issuer));
            prop_assert_eq!(&parsed["provider"]["oidc"]["allowedAudiences"], &serde_json::json!([req.allowed_audience]));
        }
        prop_assert!(POOL_ID_RULE.accepts(v.pool_id.as_str()) && !v.pool_id.as_str().starts_with("gcp-"));
        prop_assert!(v.display_name.as_str().chars().count() <= 32);
        prop_assert!(gcp::subject(&v.org_id).len() <= gcp::MAX_GOOGLE_SUBJECT_BYTES);
        let audience_prefix = format!("//iam.googleapis.com/projects/{}/", req.project_number);
        prop_assert!(gcp::provider_audience(&v).starts_with(&audience_prefix));
        let commands = gcp::commands(&v);
        prop_assert_eq!(commands.len(), 3);
        assert_bash_round_trip(&commands);
        assert_shellcheck_clean(&bundle.commands.bash_script());
        let labels: Vec<String> = terraform_blocks(&bundle.terraform).into_iter().skip(1).map(|(_, l)| l[0].clone()).collect();
        prop_assert_eq!(labels, [
            "google_iam_workload_identity_pool",
            "google_iam_workload_identity_pool_provider",
            "google_service_account_iam_member",
        ]);
        prop_assert_eq!(
            terraform_string(&bundle.terraform, "google_service_account_iam_member", "member"),
            Some(gcp::principal_set(&v))
        );
    }
}

// ---------------------------------------------------------------- hostile input

/// Puts a value into one field of a request.
type SetField = fn(&mut GcpBootstrapRequest, String);

#[test]
fn hostile_values_in_every_field_give_a_coded_error_or_safe_output() {
    let fields: [(&str, SetField); 6] = [
        ("org_id", |r, v| r.org_id = v),
        ("project_id", |r, v| r.project_id = v),
        ("project_number", |r, v| r.project_number = v),
        ("issuer", |r, v| r.issuer = v),
        ("allowed_audience", |r, v| r.allowed_audience = v),
        ("service_account_email", |r, v| r.service_account_email = v),
    ];
    let (mut errors, mut rendered) = (0, 0);
    for (field, set) in fields {
        for value in hostile_corpus() {
            let mut req = full_request("org-acme");
            set(&mut req, value.clone());
            match gcp::render(&req) {
                Err(e) => {
                    errors += 1;
                    assert!(e.code().starts_with("invalid_"), "{}", e.code());
                    assert_eq!(e.field(), Some(field), "{value:?}");
                    let body = e.to_body();
                    assert!(body.message.len() < 400 && !body.hint.is_empty());
                }
                Ok(bundle) => {
                    rendered += 1;
                    let v = req.validate().unwrap();
                    assert_bash_round_trip(&gcp::commands(&v));
                    serde_json::from_str::<serde_json::Value>(&bundle.files[0].contents).unwrap();
                }
            }
        }
    }
    assert_eq!(errors + rendered, 6 * hostile_corpus().len());
    assert!(errors > 230, "errors {errors}, rendered {rendered}");
}
