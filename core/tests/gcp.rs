#![cfg(not(target_arch = "wasm32"))]
//! GCP bundles: snapshots, gcloud's flag grammar, property tests through a
//! real bash and shellcheck, and a hostile corpus in every request field.
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

const JWKS: &str = r#"{"keys":[{"kty":"RSA","use":"sig","kid":"fed-2026-01","alg":"RS256","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}]}"#;

const PRINCIPAL: &str = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/alphaswarm-broker-org-acme/subject/org:org-acme";

fn full_request(org: &str) -> GcpBootstrapRequest {
    GcpBootstrapRequest {
        org_id: org.into(),
        project_id: "acme-prod".into(),
        project_number: "123456789012".into(),
        issuer: "https://alpha-swarm.ai/oidc/".into(),
        allowed_audience: format!("https://alpha-swarm.ai/gcp/{org}"),
        ..GcpBootstrapRequest::default()
    }
}

fn with_existing_account(org: &str) -> GcpBootstrapRequest {
    GcpBootstrapRequest {
        service_account_email: Some("alphaswarm-broker@acme-prod.iam.gserviceaccount.com".into()),
        ..full_request(org)
    }
}

fn private_issuer(org: &str) -> GcpBootstrapRequest {
    GcpBootstrapRequest {
        jwks: Some(JWKS.into()),
        ..full_request(org)
    }
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| (*w).to_owned()).collect()
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
    let existing = GcpBootstrapRequest {
        roles: Some(vec!["roles/viewer".into(), "roles/owner".into()]),
        ..with_existing_account("org-acme")
    };
    insta::assert_yaml_snapshot!(
        "gcp_org_acme_existing_account",
        gcp::render(&existing).unwrap()
    );
    insta::assert_yaml_snapshot!(
        "gcp_org_acme_private_issuer",
        gcp::render(&private_issuer("org-acme")).unwrap()
    );
}

#[test]
fn request_deserialises_from_camel_case() {
    let req: GcpBootstrapRequest = serde_json::from_value(serde_json::json!({
        "orgId": "org-acme",
        "projectId": "acme-prod",
        "projectNumber": "123456789012",
        "issuer": "https://alpha-swarm.ai/oidc/",
        "allowedAudience": "https://alpha-swarm.ai/gcp/org-acme",
        "serviceAccountEmail": "alphaswarm-broker@acme-prod.iam.gserviceaccount.com",
    }))
    .unwrap();
    assert_eq!(req, with_existing_account("org-acme"));
    let minimal: GcpBootstrapRequest = serde_json::from_value(serde_json::json!({
        "orgId": "org-acme",
        "projectId": "acme-prod",
        "projectNumber": "123456789012",
        "issuer": "https://alpha-swarm.ai/oidc/",
        "allowedAudience": "https://alpha-swarm.ai/gcp/org-acme",
    }))
    .unwrap();
    assert_eq!(minimal, full_request("org-acme"));
}

#[test]
fn commands_follow_the_runbook_in_order() {
    let v = full_request("org-acme").validate().unwrap();
    let argv: Vec<Vec<String>> = gcp::commands(&v).iter().map(|c| c.argv()).collect();
    let pool = "alphaswarm-broker-org-acme";
    let sa = "alphaswarm-org-acme@acme-prod.iam.gserviceaccount.com";
    let pool_flag = format!("--workload-identity-pool={pool}");
    let member = format!("--member={PRINCIPAL}");
    let sa_member = format!("--member=serviceAccount:{sa}");
    let expected = [
        words(&[
            "gcloud",
            "iam",
            "service-accounts",
            "create",
            "alphaswarm-org-acme",
            "--project=acme-prod",
            "--display-name=AlphaSwarm broker org-acme",
        ]),
        words(&[
            "gcloud",
            "iam",
            "workload-identity-pools",
            "create",
            pool,
            "--project=acme-prod",
            "--location=global",
            "--display-name=AlphaSwarm broker org-acme",
            "--description=AlphaSwarm broker access for organisation org-acme",
        ]),
        words(&[
            "gcloud",
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
            "alphaswarm-oidc",
            "--project=acme-prod",
            "--location=global",
            &pool_flag,
            "--issuer-uri=https://alpha-swarm.ai/oidc/",
            "--allowed-audiences=https://alpha-swarm.ai/gcp/org-acme",
            "--attribute-mapping=google.subject=assertion.sub",
            "--attribute-condition=assertion.sub=='org:org-acme'",
        ]),
        words(&[
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
            sa,
            "--project=acme-prod",
            "--role=roles/iam.workloadIdentityUser",
            &member,
            "--condition=None",
        ]),
        words(&[
            "gcloud",
            "projects",
            "add-iam-policy-binding",
            "acme-prod",
            &sa_member,
            "--role=roles/browser",
            "--condition=None",
        ]),
        words(&[
            "gcloud",
            "projects",
            "add-iam-policy-binding",
            "acme-prod",
            &sa_member,
            "--role=roles/iam.securityReviewer",
            "--condition=None",
        ]),
    ];
    assert_eq!(argv, expected);

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
    assert_eq!(
        config["provider"]["attributeCondition"],
        "assertion.sub=='org:org-acme'"
    );
    assert_eq!(config["serviceAccountBinding"]["member"], PRINCIPAL);
    assert_eq!(config["serviceAccount"]["create"], true);
    assert_eq!(
        config["projectBindings"][1]["role"],
        "roles/iam.securityReviewer"
    );
    assert!(bundle.warnings.is_empty(), "{:?}", bundle.warnings);
    // The condition survives both shells' quoting.
    let ps = &bundle.commands.powershell[2];
    assert!(
        ps.contains("'--attribute-condition=assertion.sub==''org:org-acme'''"),
        "{ps}"
    );
    let sh = &bundle.commands.bash[2];
    assert!(
        sh.contains(r#"--attribute-condition="assertion.sub=='org:org-acme'""#),
        "{sh}"
    );
    // Nothing in the bundle binds the whole pool.
    let everything = serde_json::to_string(&bundle).unwrap();
    assert!(!everything.contains("principalSet://"), "{everything}");
}

#[test]
fn an_existing_account_is_bound_not_created() {
    let v = with_existing_account("org-acme").validate().unwrap();
    let argv: Vec<Vec<String>> = gcp::commands(&v).iter().map(|c| c.argv()).collect();
    assert_eq!(argv.len(), 5);
    assert_eq!(argv[0][2..4], ["workload-identity-pools", "create"]);
    assert_eq!(
        argv[2][4],
        "alphaswarm-broker@acme-prod.iam.gserviceaccount.com"
    );
    let bundle = gcp::render_validated(&v).unwrap();
    assert!(
        !terraform_blocks(&bundle.terraform)
            .iter()
            .any(|(_, labels)| labels
                .first()
                .is_some_and(|l| l == "google_service_account"))
    );
    assert_eq!(
        terraform_string(&bundle.terraform, "google_project_iam_member", "member").as_deref(),
        Some("serviceAccount:alphaswarm-broker@acme-prod.iam.gserviceaccount.com")
    );
}

#[test]
fn private_issuer_uploads_the_jwks() {
    let req = GcpBootstrapRequest {
        jwks: Some(format!("  {JWKS}\n")),
        ..full_request("org-acme")
    };
    let v = req.validate().unwrap();
    let bundle = gcp::render_validated(&v).unwrap();
    let provider = gcp::commands(&v)[2].argv();
    assert_eq!(
        provider.last().map(String::as_str),
        Some("--jwk-json-path=jwks.json")
    );
    let file = bundle
        .files
        .iter()
        .find(|f| f.name == gcp::JWKS_FILE)
        .unwrap();
    let keys: serde_json::Value = serde_json::from_str(&file.contents).unwrap();
    assert_eq!(keys["keys"][0]["kid"], "fed-2026-01");
    let config: serde_json::Value = serde_json::from_str(&bundle.files[0].contents).unwrap();
    let uploaded: serde_json::Value =
        serde_json::from_str(config["provider"]["oidc"]["jwksJson"].as_str().unwrap()).unwrap();
    assert_eq!(uploaded, keys);
    assert!(
        bundle
            .terraform
            .contains(r#"jwks_json         = file("${path.module}/jwks.json")"#)
    );
    terraform_blocks(&bundle.terraform);
    let bad = GcpBootstrapRequest {
        jwks: Some(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.into()),
        ..full_request("org-acme")
    };
    let e = gcp::render(&bad).unwrap_err();
    assert_eq!((e.code(), e.field()), ("invalid_jwks", Some("jwks")));
    assert!(!e.to_body().message.contains("c2VjcmV0"));
}

/// gcloud's grammar for each command we render, from `gcloud <cmd> --help`
/// (SDK 528): the flags it knows, and which are required.
struct Grammar {
    command: &'static [&'static str],
    flags: &'static [&'static str],
    required: &'static [&'static str],
}

const GRAMMAR: [Grammar; 5] = [
    Grammar {
        command: &["gcloud", "iam", "service-accounts", "create"],
        flags: &["--project", "--display-name", "--description"],
        required: &[],
    },
    Grammar {
        command: &["gcloud", "iam", "workload-identity-pools", "create"],
        flags: &[
            "--project",
            "--location",
            "--display-name",
            "--description",
            "--disabled",
        ],
        required: &["--location"],
    },
    Grammar {
        command: &[
            "gcloud",
            "iam",
            "workload-identity-pools",
            "providers",
            "create-oidc",
        ],
        flags: &[
            "--project",
            "--location",
            "--workload-identity-pool",
            "--issuer-uri",
            "--allowed-audiences",
            "--attribute-mapping",
            "--attribute-condition",
            "--jwk-json-path",
            "--display-name",
            "--description",
            "--disabled",
        ],
        required: &[
            "--location",
            "--workload-identity-pool",
            "--issuer-uri",
            "--attribute-mapping",
        ],
    },
    Grammar {
        command: &[
            "gcloud",
            "iam",
            "service-accounts",
            "add-iam-policy-binding",
        ],
        flags: &["--project", "--member", "--role", "--condition"],
        required: &["--member", "--role"],
    },
    Grammar {
        command: &["gcloud", "projects", "add-iam-policy-binding"],
        flags: &["--member", "--role", "--condition"],
        required: &["--member", "--role"],
    },
];

/// One positional right after the command words, then only `--flag=value`
/// arguments of flags the command knows, each once, the required ones present.
fn assert_gcloud_grammar(argv: &[String]) {
    let grammar = GRAMMAR
        .iter()
        .find(|g| argv.len() > g.command.len() && argv[..g.command.len()] == *g.command)
        .unwrap_or_else(|| panic!("no grammar for {argv:?}"));
    let positional = &argv[grammar.command.len()];
    assert!(!positional.starts_with('-'), "{argv:?}");
    let mut seen = Vec::new();
    for arg in &argv[grammar.command.len() + 1..] {
        let (flag, _) = arg
            .split_once('=')
            .unwrap_or_else(|| panic!("not --flag=value: {arg:?}"));
        assert!(grammar.flags.contains(&flag), "unknown {flag} in {argv:?}");
        assert!(!seen.contains(&flag), "repeated {flag}");
        seen.push(flag);
    }
    for flag in grammar.required {
        assert!(seen.contains(flag), "missing {flag} in {argv:?}");
    }
}

#[test]
fn every_command_follows_gcloud_flag_grammar() {
    for req in [
        full_request("org-acme"),
        with_existing_account(LONGEST_ORG),
        private_issuer("__platform__"),
    ] {
        for command in gcp::commands(&req.validate().unwrap()) {
            assert_gcloud_grammar(&command.argv());
        }
    }
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
fn service_account_in_another_project_is_flagged_and_bound_there() {
    let req = GcpBootstrapRequest {
        service_account_email: Some("broker@alphaswarm-platform.iam.gserviceaccount.com".into()),
        ..full_request("org-acme")
    };
    let v = req.validate().unwrap();
    assert!(
        gcp::commands(&v)[2]
            .argv()
            .contains(&"--project=alphaswarm-platform".to_owned())
    );
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
        proptest::option::of(regex(
            "[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com",
        )),
        proptest::option::of(proptest::collection::vec(
            regex(
                "roles/[a-z][A-Za-z0-9_.]{0,40}[a-z0-9]|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/[A-Za-z][A-Za-z0-9_.]{0,20}[a-z]",
            ),
            1..4,
        )),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(org_id, project_id, project_number, issuer, allowed_audience, service_account_email, roles, private)| {
                GcpBootstrapRequest {
                    org_id,
                    project_id,
                    project_number,
                    issuer,
                    allowed_audience,
                    service_account_email,
                    roles,
                    jwks: private.then(|| JWKS.to_owned()),
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
        let config: serde_json::Value = serde_json::from_str(&bundle.files[0].contents).unwrap();
        prop_assert_eq!(&config["provider"]["oidc"]["issuerUri"], &serde_json::json!(req.issuer));
        prop_assert_eq!(&config["provider"]["oidc"]["allowedAudiences"], &serde_json::json!([req.allowed_audience]));
        prop_assert_eq!(&config["serviceAccountBinding"]["member"], &serde_json::json!(gcp::principal(&v)));
        prop_assert!(POOL_ID_RULE.accepts(v.pool_id.as_str()) && !v.pool_id.as_str().starts_with("gcp-"));
        prop_assert!(v.display_name.as_str().chars().count() <= 32);
        prop_assert!(gcp::subject(&v.org_id).len() <= gcp::MAX_GOOGLE_SUBJECT_BYTES);
        let audience_prefix = format!("//iam.googleapis.com/projects/{}/", req.project_number);
        prop_assert!(gcp::provider_audience(&v).starts_with(&audience_prefix));
        let commands = gcp::commands(&v);
        let created = v.service_account.created.is_some();
        prop_assert_eq!(commands.len(), usize::from(created) + 3 + v.roles.len());
        for command in &commands {
            assert_gcloud_grammar(&command.argv());
        }
        assert_bash_round_trip(&commands);
        assert_shellcheck_clean(&bundle.commands.bash_script());
        let mut expected_labels = vec![
            "google_iam_workload_identity_pool",
            "google_iam_workload_identity_pool_provider",
            "google_service_account_iam_member",
            "google_project_iam_member",
        ];
        if created {
            expected_labels.insert(0, "google_service_account");
        }
        let labels: Vec<String> = terraform_blocks(&bundle.terraform).into_iter().skip(1).map(|(_, l)| l[0].clone()).collect();
        prop_assert_eq!(labels, expected_labels);
        prop_assert_eq!(
            terraform_string(&bundle.terraform, "google_service_account_iam_member", "member"),
            Some(gcp::principal(&v))
        );
        prop_assert_eq!(
            terraform_string(&bundle.terraform, "google_iam_workload_identity_pool_provider", "attribute_condition"),
            Some(gcp::attribute_condition(&v.org_id))
        );
        // The JSON file, the commands and Terraform grant the same roles.
        let json_roles: Vec<String> = config["projectBindings"].as_array().unwrap().iter().map(|b| b["role"].as_str().unwrap().to_owned()).collect();
        let command_roles: Vec<String> = commands
            .iter()
            .filter(|c| c.argv()[1] == "projects")
            .map(|c| c.argv()[5].trim_start_matches("--role=").to_owned())
            .collect();
        prop_assert_eq!(&json_roles, &command_roles);
        for role in &json_roles {
            let quoted = format!("\"{role}\"");
            prop_assert!(bundle.terraform.contains(&quoted));
        }
    }
}

// ---------------------------------------------------------------- hostile input

/// Puts a value into one field of a request.
type SetField = fn(&mut GcpBootstrapRequest, String);

#[test]
fn hostile_values_in_every_field_give_a_coded_error_or_safe_output() {
    let fields: [(&str, SetField); 8] = [
        ("org_id", |r, v| r.org_id = v),
        ("project_id", |r, v| r.project_id = v),
        ("project_number", |r, v| r.project_number = v),
        ("issuer", |r, v| r.issuer = v),
        ("allowed_audience", |r, v| r.allowed_audience = v),
        ("service_account_email", |r, v| {
            r.service_account_email = Some(v)
        }),
        ("roles", |r, v| r.roles = Some(vec![v])),
        ("jwks", |r, v| r.jwks = Some(v)),
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
    assert_eq!(errors + rendered, 8 * hostile_corpus().len());
    assert!(errors > 330, "errors {errors}, rendered {rendered}");
}
