#![cfg(not(target_arch = "wasm32"))]
//! Workload identity bundles: snapshots per cloud and variant (ordinary and
//! longest-valid names), commands through a real bash and shellcheck,
//! Terraform through an HCL parser, policies as JSON, YAML re-read by the
//! core's parser (not the writer), and hostile values in every field.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod support;

use alphaswarm_core::Bundle;
use alphaswarm_core::error::CoreError;
use alphaswarm_core::k8s::ids::WorkloadKind;
use alphaswarm_core::k8s::yaml_in::{Node, parse_documents};
use alphaswarm_core::k8s::{self, CloudSide, EsoStoreKind, WorkloadIdentityRequest};
use serde_json::Value;
use support::k8s::{
    AKS_ISSUER, EKS_ISSUER, aks_side, eks_side, gke_side, longest, longest_namespace,
    longest_service_account, ordinary, request,
};
use support::{assert_bash_round_trip, assert_shellcheck_clean, hostile_corpus, terraform_blocks};

fn file<'a>(bundle: &'a Bundle, name: &str) -> &'a str {
    &bundle
        .files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no file {name}"))
        .contents
}

#[test]
fn names_are_the_longest_valid() {
    assert_eq!(longest_namespace().len(), 63);
    assert_eq!(longest_service_account().len(), 253);
    let req = request(
        &longest_namespace(),
        &longest_service_account(),
        aks_side(None),
    );
    assert!(req.validate().is_ok());
    let too_long = request(&format!("{}a", longest_namespace()), "sa", aks_side(None));
    assert_eq!(
        too_long.validate().unwrap_err().code(),
        "invalid_k8s_namespace"
    );
}

#[test]
fn snapshots() {
    for (label, req) in ordinary() {
        insta::assert_yaml_snapshot!(format!("k8s_{label}"), k8s::render(&req).unwrap());
    }
    for (label, req) in longest() {
        insta::assert_yaml_snapshot!(format!("k8s_{label}_longest"), k8s::render(&req).unwrap());
    }
    let cronjob = WorkloadIdentityRequest {
        workload_kind: Some(WorkloadKind::CronJob),
        workload_name: Some("nightly-sync".into()),
        ..request("internal-platform", "spec-agent-worker", aks_side(None))
    };
    insta::assert_yaml_snapshot!("k8s_aks_cronjob", k8s::render(&cronjob).unwrap());
}

#[test]
fn commands_survive_bash_and_shellcheck() {
    for (label, req) in ordinary().into_iter().chain(longest()) {
        let v = req.validate().unwrap();
        let commands = k8s::commands(&v);
        assert_bash_round_trip(&commands);
        let bundle = k8s::render(&req).unwrap();
        assert_eq!(
            bundle.commands.bash.len(),
            commands.len(),
            "{label}: commands() and render() agree"
        );
        assert_shellcheck_clean(&bundle.commands.bash_script());
    }
}

#[test]
fn terraform_parses_and_json_files_are_json() {
    for (label, req) in ordinary().into_iter().chain(longest()) {
        let bundle = k8s::render(&req).unwrap();
        let blocks = terraform_blocks(&bundle.terraform);
        assert!(
            blocks
                .iter()
                .any(|(_, labels)| labels == &["kubernetes_service_account_v1", "workload"]),
            "{label}: {blocks:?}"
        );
        for f in bundle
            .files
            .iter()
            .filter(|f| f.media_type == "application/json")
        {
            let _: Value = serde_json::from_str(&f.contents)
                .unwrap_or_else(|e| panic!("{label}/{}: {e}", f.name));
        }
    }
}

fn string_at<'a>(node: &'a Node, path: &[&str]) -> &'a str {
    node.at(path)
        .and_then(Node::string)
        .unwrap_or_else(|| panic!("no string at {path:?}"))
}

#[test]
fn yaml_reads_back_as_written() {
    for (label, req) in ordinary().into_iter().chain(longest()) {
        let bundle = k8s::render(&req).unwrap();
        let sa_doc = parse_documents(file(&bundle, "serviceaccount.yaml")).unwrap();
        assert_eq!(sa_doc.len(), 1, "{label}");
        assert_eq!(
            string_at(&sa_doc[0], &["metadata", "name"]),
            req.service_account
        );
        assert_eq!(
            string_at(&sa_doc[0], &["metadata", "namespace"]),
            req.namespace
        );
        let patch = parse_documents(file(&bundle, "pod_template_patch.yaml")).unwrap();
        assert_eq!(
            string_at(
                &patch[0],
                &["spec", "template", "spec", "serviceAccountName"]
            ),
            req.service_account
        );
        match &req.cloud {
            CloudSide::Aks {
                identity_client_id, ..
            } => {
                // The label is a string "true", on the pod template only.
                assert_eq!(
                    string_at(
                        &patch[0],
                        &[
                            "spec",
                            "template",
                            "metadata",
                            "labels",
                            "azure.workload.identity/use"
                        ]
                    ),
                    "true"
                );
                assert!(sa_doc[0].at(&["metadata", "labels"]).is_none());
                let annotation = sa_doc[0].at(&[
                    "metadata",
                    "annotations",
                    "azure.workload.identity/client-id",
                ]);
                assert_eq!(
                    annotation.and_then(Node::string),
                    identity_client_id
                        .as_ref()
                        .map(|c| c.to_ascii_lowercase())
                        .as_deref()
                );
                let fic: Value =
                    serde_json::from_str(file(&bundle, "federated_credential.json")).unwrap();
                assert_eq!(fic["issuer"], AKS_ISSUER, "trailing slash kept");
                assert_eq!(
                    fic["subject"],
                    format!(
                        "system:serviceaccount:{}:{}",
                        req.namespace, req.service_account
                    )
                );
                assert_eq!(
                    fic["audiences"],
                    serde_json::json!(["api://AzureADTokenExchange"])
                );
            }
            CloudSide::Eks { .. } => {
                let arn = string_at(
                    &sa_doc[0],
                    &["metadata", "annotations", "eks.amazonaws.com/role-arn"],
                );
                assert!(arn.starts_with("arn:aws:iam::111122223333:role/"), "{arn}");
                let trust: Value =
                    serde_json::from_str(file(&bundle, "trust_policy.json")).unwrap();
                let host = EKS_ISSUER.trim_start_matches("https://");
                let statement = &trust["Statement"][0];
                assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
                assert_eq!(
                    statement["Principal"]["Federated"],
                    format!("arn:aws:iam::111122223333:oidc-provider/{host}")
                );
                assert_eq!(
                    statement["Condition"]["StringEquals"][format!("{host}:aud")],
                    "sts.amazonaws.com"
                );
                let policy: Value =
                    serde_json::from_str(file(&bundle, "secrets_policy.json")).unwrap();
                assert_eq!(
                    policy["Statement"][0]["Resource"],
                    serde_json::json!([
                        "arn:aws:secretsmanager:us-east-1:111122223333:secret:alphaswarm/foundry/api_key-??????",
                        "arn:aws:secretsmanager:us-east-1:111122223333:secret:alphaswarm/postgres/password-??????"
                    ])
                );
            }
            CloudSide::EksPodIdentity { .. } => {
                assert!(sa_doc[0].at(&["metadata", "annotations"]).is_none());
                let trust: Value =
                    serde_json::from_str(file(&bundle, "trust_policy.json")).unwrap();
                assert_eq!(
                    trust["Statement"][0]["Principal"]["Service"],
                    "pods.eks.amazonaws.com"
                );
            }
            CloudSide::Gke {
                google_service_account,
                ..
            } => {
                let annotation =
                    sa_doc[0].at(&["metadata", "annotations", "iam.gke.io/gcp-service-account"]);
                assert_eq!(
                    annotation.and_then(Node::string),
                    google_service_account.as_deref()
                );
            }
        }
        if let Some(kind) = req.external_secrets {
            let store = parse_documents(file(&bundle, "secret_store.yaml")).unwrap();
            let kind_name = match kind {
                EsoStoreKind::SecretStore => "SecretStore",
                EsoStoreKind::ClusterSecretStore => "ClusterSecretStore",
            };
            assert_eq!(string_at(&store[0], &["kind"]), kind_name);
            let externals = parse_documents(file(&bundle, "external_secrets.yaml")).unwrap();
            assert_eq!(externals.len(), 2, "one ExternalSecret per key");
            let remote: Vec<&str> = externals
                .iter()
                .map(|d| {
                    d.at(&["spec", "data"]).unwrap().items()[0]
                        .at(&["remoteRef", "key"])
                        .and_then(Node::string)
                        .unwrap()
                })
                .collect();
            let expected: Vec<&str> = match req.cloud {
                CloudSide::Aks { .. } => {
                    vec!["alphaswarm-foundry-apikey", "alphaswarm-postgres-password"]
                }
                CloudSide::Gke { .. } => {
                    vec!["alphaswarm-foundry-api_key", "alphaswarm-postgres-password"]
                }
                _ => vec!["alphaswarm/foundry/api_key", "alphaswarm/postgres/password"],
            };
            assert_eq!(remote, expected, "{label}: the store names of seed 000");
            for d in &externals {
                assert_eq!(
                    string_at(d, &["spec", "secretStoreRef", "name"]),
                    string_at(&store[0], &["metadata", "name"])
                );
            }
        }
    }
}

#[test]
fn missing_issuer_names_the_query_that_prints_it() {
    let mut req = request("ns1", "sa1", aks_side(None));
    req.issuer = None;
    let err = req.validate().unwrap_err();
    assert_eq!((err.code(), err.field()), ("invalid_input", Some("issuer")));
    assert!(
        err.to_string().contains(
            "az aks show --name aucert-aks --resource-group aucert-foundation-rg --query oidcIssuerProfile.issuerUrl --output tsv"
        ),
        "{err}"
    );
    let mut req = request("ns1", "sa1", eks_side(false));
    req.issuer = Some(String::new());
    let err = req.validate().unwrap_err();
    assert!(
        err.to_string().contains(
            "aws eks describe-cluster --name aucert-aks --region us-east-1 --query cluster.identity.oidc.issuer --output text"
        ),
        "{err}"
    );
    // Pod Identity and GKE need no issuer.
    assert!(request("ns1", "sa1", eks_side(true)).validate().is_ok());
    assert!(request("ns1", "sa1", gke_side(None)).validate().is_ok());
}

#[test]
fn refused_inputs_have_codes_and_fields() {
    let base = || request("ns1", "sa1", aks_side(None));
    let cases: Vec<(WorkloadIdentityRequest, &str, &str)> = vec![
        (
            WorkloadIdentityRequest {
                credential_keys: vec![],
                ..base()
            },
            "missing_field",
            "credential_keys",
        ),
        (
            WorkloadIdentityRequest {
                credential_keys: vec!["msal:client_secret".into(), "msal:clientsecret".into()],
                ..base()
            },
            "invalid_input",
            "credential_keys",
        ),
        (
            WorkloadIdentityRequest {
                credential_keys: (0..51).map(|i| format!("svc:p{i}")).collect(),
                ..base()
            },
            "invalid_input",
            "credential_keys",
        ),
        (
            WorkloadIdentityRequest {
                external_secrets: Some(EsoStoreKind::SecretStore),
                ..request("ns1", "sa1", eks_side(true))
            },
            "invalid_input",
            "external_secrets",
        ),
        (
            WorkloadIdentityRequest {
                cluster_name: None,
                ..request("ns1", "sa1", eks_side(true))
            },
            "missing_field",
            "cluster_name",
        ),
    ];
    for (req, code, field) in cases {
        let err = req.validate().unwrap_err();
        assert_eq!((err.code(), err.field()), (code, Some(field)), "{err}");
        assert!(!err.hint().is_empty());
    }
}

#[test]
fn hostile_values_in_every_field_are_refused_with_a_code() {
    type Setter = fn(&mut WorkloadIdentityRequest, String);
    let fields: Vec<(&str, Setter)> = vec![
        ("namespace", |r, v| r.namespace = v),
        ("service_account", |r, v| r.service_account = v),
        ("workload_name", |r, v| r.workload_name = Some(v)),
        ("issuer", |r, v| r.issuer = Some(v)),
        ("cluster_name", |r, v| r.cluster_name = Some(v)),
        ("credential_keys", |r, v| r.credential_keys = vec![v]),
        ("store_prefix", |r, v| r.store_prefix = Some(v)),
        ("resource_group", |r, v| {
            if let CloudSide::Aks { resource_group, .. } = &mut r.cloud {
                *resource_group = v
            }
        }),
        ("key_vault_name", |r, v| {
            if let CloudSide::Aks { key_vault_name, .. } = &mut r.cloud {
                *key_vault_name = v
            }
        }),
        ("identity_name", |r, v| {
            if let CloudSide::Aks { identity_name, .. } = &mut r.cloud {
                *identity_name = Some(v)
            }
        }),
        ("subscription_id", |r, v| {
            if let CloudSide::Aks {
                subscription_id, ..
            } = &mut r.cloud
            {
                *subscription_id = v
            }
        }),
    ];
    for value in hostile_corpus() {
        for (field, set) in &fields {
            let mut req = request("ns1", "sa1", aks_side(None));
            set(&mut req, value.clone());
            match k8s::render(&req) {
                Err(e) => {
                    assert!(!e.code().is_empty());
                    assert!(e.field().is_some(), "{field}: {e}");
                }
                // Blank optional fields mean "not given"; everything
                // accepted must still be quoted safely.
                Ok(bundle) => {
                    // Accepted after trimming: nothing a shell, YAML or a
                    // CLI's option parser could misread.
                    let kept = value.trim();
                    assert!(
                        !kept.starts_with('-')
                            && !kept
                                .chars()
                                .any(|c| c.is_control() || "'\"`\\ ".contains(c)),
                        "{field} accepted {value:?}"
                    );
                    assert_shellcheck_clean(&bundle.commands.bash_script());
                }
            }
        }
    }
}
