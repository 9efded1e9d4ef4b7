#![cfg(not(target_arch = "wasm32"))]
//! Workload identity bundles checked by the tools operators use: PyYAML
//! re-reads every manifest (a different YAML library than the writer),
//! PyPI kubernetes-validate checks them against the Kubernetes schemas, and
//! awscli runs the EKS role commands against moto, which must accept the
//! trust and secrets policies (all from the project venv).
// Tests and benches run real tools and files; the purity rules of
// core/clippy.toml are for core/src.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod support;

use alphaswarm_core::k8s::yaml_in::{Node, parse_documents};
use alphaswarm_core::k8s::{self, CloudSide, WorkloadIdentityRequest};
use alphaswarm_core::shell::Commands;
use serde_json::{Map, Value, json};
use std::process::Command;
use support::k8s::{EKS_ISSUER, longest, ordinary, request};
use support::moto::{MOTO_ACCOUNT, Moto, bundle_dir, venv_bin};

/// The core parser's view of a document, as JSON (every scalar we write is
/// a string).
fn to_json(node: &Node) -> Value {
    match node {
        Node::Scalar { .. } => json!(node.string().expect("rendered scalars are strings")),
        Node::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Node::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn all_requests() -> Vec<(String, WorkloadIdentityRequest)> {
    let mut out: Vec<(String, WorkloadIdentityRequest)> = ordinary()
        .into_iter()
        .map(|(l, r)| (l.to_owned(), r))
        .chain(
            longest()
                .into_iter()
                .map(|(l, r)| (format!("{l}_longest"), r)),
        )
        .collect();
    out.push((
        "cronjob".into(),
        WorkloadIdentityRequest {
            workload_kind: Some(alphaswarm_core::k8s::ids::WorkloadKind::CronJob),
            ..request(
                "internal-platform",
                "spec-agent-worker",
                support::k8s::aks_side(None),
            )
        },
    ));
    out
}

#[test]
fn pyyaml_reads_what_we_wrote_and_kubernetes_schemas_accept_it() {
    let root = std::env::temp_dir().join(format!("alphaswarm-k8s-yaml-{}", std::process::id()));
    let mut expected = Map::new();
    let mut paths = Vec::new();
    for (label, req) in all_requests() {
        let bundle = k8s::render(&req).unwrap();
        let dir = root.join(&label);
        std::fs::create_dir_all(&dir).unwrap();
        for f in bundle
            .files
            .iter()
            .filter(|f| f.media_type == "application/yaml")
        {
            let path = dir.join(&f.name).display().to_string();
            std::fs::write(&path, &f.contents).unwrap();
            let docs = parse_documents(&f.contents).unwrap();
            expected.insert(
                path.clone(),
                Value::Array(docs.iter().map(to_json).collect()),
            );
            paths.push(path);
        }
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/k8s_yaml_check.py"
    );
    let out = Command::new(venv_bin().join("python"))
        .arg(script)
        .args(&paths)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "PyYAML or kubernetes-validate refused a manifest:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen, Value::Object(expected));
    assert!(paths.len() >= 40, "{} files checked", paths.len());
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn moto_accepts_the_eks_roles_and_policies() {
    let moto = Moto::start();
    let mut provider_checked = false;
    let mut expected = Map::new();
    for (label, mut req) in all_requests() {
        // The ESO variants carry the same role and policies.
        if label.contains("eso") {
            continue;
        }
        match &mut req.cloud {
            CloudSide::Eks { account_id, .. } => *account_id = MOTO_ACCOUNT.to_owned(),
            CloudSide::EksPodIdentity {
                account_id,
                role_name,
                ..
            } => {
                *account_id = MOTO_ACCOUNT.to_owned();
                // Its derived name equals the IRSA variant's: keep both roles.
                *role_name = Some(format!("pod-identity-{}", label.len()));
            }
            _ => continue,
        }
        let bundle = k8s::render(&req).unwrap();
        let dir = bundle_dir(&format!("k8s-{label}"), &bundle);
        // IAM is what moto emulates; kubectl and the EKS cluster calls are not.
        let iam: Vec<_> = k8s::commands(&req.validate().unwrap())
            .into_iter()
            .filter(|c| c.argv()[..2] == ["aws", "iam"])
            .collect();
        let script = Commands::render(&iam).unwrap().bash_script();
        if matches!(req.cloud, CloudSide::Eks { .. }) && !provider_checked {
            // The provider check stops the script while IAM does not know
            // the cluster's issuer, before any role is created.
            let out = moto.run(&dir, &script);
            assert!(!out.status.success());
            assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuchEntity"));
            moto.bash(
                &dir,
                &format!(
                    "aws iam create-open-id-connect-provider --url {EKS_ISSUER} --client-id-list sts.amazonaws.com --thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
                ),
            );
            provider_checked = true;
        }
        moto.bash(&dir, &script);
        let file = |name: &str| -> Value {
            serde_json::from_str(
                &bundle
                    .files
                    .iter()
                    .find(|f| f.name == name)
                    .unwrap()
                    .contents,
            )
            .unwrap()
        };
        let role_name = bundle
            .values
            .iter()
            .find(|n| n.name == "role_name")
            .unwrap()
            .value
            .clone();
        expected.insert(
            role_name,
            json!({
                "trust": file("trust_policy.json"),
                "policy": file("secrets_policy.json"),
            }),
        );
        let _ = std::fs::remove_dir_all(dir);
    }
    assert!(provider_checked);
    assert_eq!(
        expected.len(),
        4,
        "IRSA and Pod Identity, ordinary and longest"
    );
    // What moto stored, read back in one process (boto3 comes with moto).
    let names: Vec<&String> = expected.keys().collect();
    let out = Command::new(venv_bin().join("python"))
        .args([
            "-c",
            "import boto3, json, sys\n\
iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
print(json.dumps({n: {'trust': iam.get_role(RoleName=n)['Role']['AssumeRolePolicyDocument'], 'policy': iam.get_role_policy(RoleName=n, PolicyName='alphaswarm-read-secrets')['PolicyDocument']} for n in sys.argv[2:]}))",
            &moto.endpoint,
        ])
        .args(names)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stored, Value::Object(expected));
}
