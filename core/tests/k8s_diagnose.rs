#![cfg(not(target_arch = "wasm32"))]
//! Diagnosis of workload identity wiring: a corpus of broken workloads
//! (tests/fixtures/k8s, one per finding, seed 004's case among them) where
//! each yields exactly its finding, correct workloads that yield none, and
//! hostile input that yields a coded error, never a panic.
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod support;

use alphaswarm_core::error::CoreError;
use alphaswarm_core::k8s::diagnose::{CODES, CloudOutput, FindingCode};
use alphaswarm_core::k8s::error::limits;
use alphaswarm_core::k8s::yaml_in::parse_documents;
use alphaswarm_core::k8s::{DiagnoseRequest, WorkloadCloud, diagnose_workload};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use support::hostile_corpus;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    cloud: WorkloadCloud,
    manifests: String,
    #[serde(default)]
    cloud_output: serde_json::Map<String, Value>,
    #[serde(default)]
    error_text: Option<String>,
    expect: Vec<FindingCode>,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s")
}

fn cases() -> Vec<Case> {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap()
}

/// Command output as pasted: JSON values as the CLI prints them, text as is.
fn pasted(out: &serde_json::Map<String, Value>) -> CloudOutput {
    let text: serde_json::Map<String, Value> = out
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                other => serde_json::to_string_pretty(other).unwrap(),
            };
            (k.clone(), Value::String(s))
        })
        .collect();
    serde_json::from_value(Value::Object(text)).expect("fixture fields are CloudOutput fields")
}

fn request(case: &Case) -> DiagnoseRequest {
    DiagnoseRequest {
        cloud: case.cloud,
        manifests: std::fs::read_to_string(fixtures().join(&case.manifests)).unwrap(),
        default_namespace: None,
        cloud_output: pasted(&case.cloud_output),
        error_text: case.error_text.clone(),
    }
}

#[test]
fn each_broken_workload_yields_exactly_its_finding() {
    let cases = cases();
    for case in &cases {
        let diagnosis = diagnose_workload(&request(case))
            .unwrap_or_else(|e| panic!("{}: {e} ({})", case.name, e.code()));
        assert_eq!(
            diagnosis.codes(),
            case.expect,
            "{}: {:#?}",
            case.name,
            diagnosis
        );
        assert_eq!(diagnosis.workloads.len(), 1, "{}", case.name);
        for finding in &diagnosis.findings {
            assert!(!finding.message.is_empty() && !finding.fix.is_empty());
            // A YAML fix is valid YAML; a command fix names its program.
            if let Some(snippet) = &finding.fix_snippet {
                if snippet.starts_with("az ")
                    || snippet.starts_with("aws ")
                    || snippet.starts_with("gcloud ")
                {
                    assert!(!snippet.contains('\n') || snippet.contains(" \\\n"));
                } else {
                    parse_documents(snippet)
                        .unwrap_or_else(|e| panic!("{}: snippet is not YAML: {e}", case.name));
                }
            }
        }
        // A correct workload with every cloud output leaves nothing unchecked.
        if case.expect.is_empty() {
            assert!(
                diagnosis.not_checked.is_empty(),
                "{}: {:?}",
                case.name,
                diagnosis.not_checked
            );
        }
    }
    let covered: BTreeSet<FindingCode> = cases.iter().flat_map(|c| c.expect.clone()).collect();
    let all: BTreeSet<FindingCode> = CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        all.difference(&covered).collect::<Vec<_>>(),
        Vec::<&FindingCode>::new(),
        "every finding has a fixture"
    );
    for clean in [
        "aks_correct",
        "eks_correct",
        "eks_pod_identity_correct",
        "gke_correct",
    ] {
        assert!(cases.iter().any(|c| c.name == clean && c.expect.is_empty()));
    }
}

#[test]
fn seed_004_names_the_label_and_its_place() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "seed_004_spec_agent_worker")
        .unwrap();
    let diagnosis = diagnose_workload(&request(&case)).unwrap();
    let finding = &diagnosis.findings[0];
    assert_eq!(
        finding.workload.as_deref(),
        Some("Deployment internal-platform/spec-agent-worker")
    );
    assert_eq!(
        finding.fix_snippet.as_deref(),
        Some(
            "spec:\n  template:\n    metadata:\n      labels:\n        azure.workload.identity/use: \"true\"\n"
        )
    );
    // Without cloud output, the cloud pieces are reported as unchecked.
    assert_eq!(
        diagnosis.not_checked.len(),
        2,
        "{:?}",
        diagnosis.not_checked
    );
}

#[test]
fn codes_match_their_serialised_names() {
    for (code, text) in CODES {
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            Value::String(text.into())
        );
        assert_eq!(code.as_str(), text);
    }
}

fn manifests_request(cloud: WorkloadCloud, manifests: &str) -> DiagnoseRequest {
    DiagnoseRequest {
        cloud,
        manifests: manifests.to_owned(),
        default_namespace: None,
        cloud_output: CloudOutput::default(),
        error_text: None,
    }
}

fn code_of(req: &DiagnoseRequest) -> &'static str {
    match diagnose_workload(req) {
        Ok(d) => panic!("expected an error, got {d:?}"),
        Err(e) => {
            assert!(e.field().is_some() && !e.hint().is_empty());
            e.code()
        }
    }
}

#[test]
fn hostile_and_wrong_input_is_a_coded_error() {
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let cases: Vec<(String, &str)> = vec![
        (bomb, "yaml_too_many_nodes"),
        ("x".repeat(limits::MAX_INPUT_BYTES + 1), "input_too_large"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n".to_owned(),
            "no_workload",
        ),
        ("just a string\n".to_owned(), "manifest_not_an_object"),
        ("- a\n- b\n".to_owned(), "manifest_not_an_object"),
        ("kind: [Deployment]\n".to_owned(), "manifest_not_an_object"),
        (
            "kind: Deployment\nkind: Pod\n".to_owned(),
            "yaml_duplicate_key",
        ),
        ("kind: Deployment\nspec: {\n".to_owned(), "yaml_syntax"),
        (
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n".to_owned(),
            "no_workload",
        ),
    ];
    for (manifests, code) in &cases {
        assert_eq!(
            code_of(&manifests_request(WorkloadCloud::Aks, manifests)),
            *code,
            "{:.80}",
            manifests
        );
    }
    // Pasted cloud output that is not what the command prints.
    let good = "kind: Pod\nmetadata: {name: p}\nspec: {serviceAccountName: sa}\n";
    let mut req = manifests_request(WorkloadCloud::Aks, good);
    req.cloud_output.federated_credentials = Some("{not json".into());
    assert_eq!(code_of(&req), "invalid_cloud_output");
    req.cloud_output.federated_credentials = Some("{\"a\": 1}".into());
    assert_eq!(code_of(&req), "invalid_cloud_output");
    let mut req = manifests_request(WorkloadCloud::Eks, good);
    req.cloud_output.role = Some("[1, 2]".into());
    assert_eq!(code_of(&req), "invalid_cloud_output");
    req.cloud_output.role = Some(format!("\"{}\"", "x".repeat(limits::MAX_INPUT_BYTES)));
    assert_eq!(code_of(&req), "input_too_large");
    let mut req = manifests_request(WorkloadCloud::Gke, good);
    req.error_text = Some("e".repeat(limits::MAX_INPUT_BYTES + 1));
    assert_eq!(code_of(&req), "input_too_large");
}

#[test]
fn hostile_values_anywhere_never_panic() {
    let base = std::fs::read_to_string(fixtures().join("aks_correct.yaml")).unwrap();
    for value in hostile_corpus() {
        for cloud in [
            WorkloadCloud::Aks,
            WorkloadCloud::Eks,
            WorkloadCloud::EksPodIdentity,
            WorkloadCloud::Gke,
        ] {
            let mut req = manifests_request(cloud, &base);
            req.error_text = Some(value.clone());
            req.default_namespace = Some(value.clone());
            let _ = diagnose_workload(&req);
            let mut req = manifests_request(cloud, &value);
            let _ = diagnose_workload(&req);
            req.manifests = base.replace("spec-agent-worker", &value);
            let _ = diagnose_workload(&req);
            req.manifests = base.clone();
            req.cloud_output = CloudOutput {
                cluster_issuer: Some(value.clone()),
                identity: Some(value.clone()),
                federated_credentials: Some(format!("[{{\"subject\": {value:?}}}]")),
                role_assignments: Some(value.clone()),
                role: Some(format!("{{\"Statement\": {value:?}}}")),
                pod_identity_associations: Some(value.clone()),
                project_id: Some(value.clone()),
                project_number: Some(value.clone()),
                iam_policy: Some(format!("{{\"bindings\": [{{\"members\": [{value:?}]}}]}}")),
            };
            let _ = diagnose_workload(&req);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_text_is_diagnosed_or_refused(text in "(?s).{0,400}", yamlish in "[a-z:\\-\\[\\]{}&*!|>'\" \n]{0,200}") {
        for manifests in [&text, &yamlish] {
            match diagnose_workload(&manifests_request(WorkloadCloud::Aks, manifests)) {
                Ok(d) => prop_assert!(!d.workloads.is_empty()),
                Err(e) => prop_assert!(!e.code().is_empty()),
            }
        }
    }
}
