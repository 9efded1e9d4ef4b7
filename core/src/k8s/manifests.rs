//! The cluster half of every cloud's wiring: the ServiceAccount, the
//! pod-template patch, the `kubectl` commands that apply them, and the
//! Terraform `kubernetes_service_account_v1` equivalent.

use super::input::ValidatedWorkload;
use super::yaml_out::{Yaml, to_yaml};
use crate::bundle::{File, hcl_string};
use crate::shell::Command;

pub const SERVICE_ACCOUNT_FILE: &str = "serviceaccount.yaml";
pub const POD_TEMPLATE_PATCH_FILE: &str = "pod_template_patch.yaml";

/// A ServiceAccount or pod annotation/label: key and value.
pub type Pair = (&'static str, String);

pub fn yaml_file(name: &str, contents: String) -> File {
    File {
        name: name.to_owned(),
        media_type: "application/yaml".to_owned(),
        contents,
    }
}

fn pairs(entries: &[Pair]) -> Yaml {
    Yaml::map(entries.iter().map(|(k, v)| (*k, Yaml::str(v.clone()))))
}

/// The ServiceAccount with the cloud's annotations.
pub fn service_account(v: &ValidatedWorkload, annotations: &[Pair]) -> Yaml {
    let mut metadata = vec![
        ("name", Yaml::str(v.service_account.as_str())),
        ("namespace", Yaml::str(v.namespace.as_str())),
    ];
    if !annotations.is_empty() {
        metadata.push(("annotations", pairs(annotations)));
    }
    Yaml::map([
        ("apiVersion", Yaml::Lit("v1")),
        ("kind", Yaml::Lit("ServiceAccount")),
        ("metadata", Yaml::map(metadata)),
    ])
}

/// A strategic-merge patch that puts the pod template on the service
/// account (and adds the cloud's pod labels, on the pod template).
pub fn pod_template_patch(v: &ValidatedWorkload, labels: &[Pair]) -> Yaml {
    template_patch(
        v.workload_kind.template_path(),
        labels,
        Some(v.service_account.as_str()),
    )
}

/// A patch of the pod template found at `path` (empty for a Pod): labels
/// on its metadata and, when given, its `serviceAccountName`.
pub fn template_patch(path: &[&str], labels: &[Pair], service_account: Option<&str>) -> Yaml {
    let mut template = Vec::new();
    if !labels.is_empty() {
        template.push(("metadata", Yaml::map([("labels", pairs(labels))])));
    }
    if let Some(name) = service_account {
        template.push(("spec", Yaml::map([("serviceAccountName", Yaml::str(name))])));
    }
    let mut node = Yaml::map(template);
    for step in path.iter().rev() {
        node = Yaml::map([(*step, node)]);
    }
    node
}

pub fn files(v: &ValidatedWorkload, annotations: &[Pair], labels: &[Pair]) -> Vec<File> {
    vec![
        yaml_file(
            SERVICE_ACCOUNT_FILE,
            to_yaml(&service_account(v, annotations)),
        ),
        yaml_file(
            POD_TEMPLATE_PATCH_FILE,
            to_yaml(&pod_template_patch(v, labels)),
        ),
    ]
}

/// `kubectl apply` of the ServiceAccount, then the patch of the workload
/// (a Job's template is immutable: the notes say to recreate it instead).
pub fn kubectl_commands(v: &ValidatedWorkload, annotate: Option<Command>) -> Vec<Command> {
    let mut out = vec![Command::new(&["kubectl", "apply"]).opt("--filename", SERVICE_ACCOUNT_FILE)];
    out.extend(annotate);
    if v.workload_kind.is_patchable() {
        out.push(
            Command::new(&["kubectl", "patch", v.workload_kind.resource()])
                .arg(v.workload_name.as_str())
                .opt("--namespace", v.namespace.as_str())
                .opt("--patch-file", POD_TEMPLATE_PATCH_FILE),
        );
    }
    out
}

/// Terraform's ServiceAccount; annotation values are HCL expressions.
pub fn terraform_service_account(v: &ValidatedWorkload, annotations: &[(&str, String)]) -> String {
    let mut out = format!(
        "resource \"kubernetes_service_account_v1\" \"workload\" {{\n  metadata {{\n    name      = {}\n    namespace = {}\n",
        hcl_string(v.service_account.as_str()),
        hcl_string(v.namespace.as_str()),
    );
    if !annotations.is_empty() {
        out.push_str("    annotations = {\n");
        for (key, expr) in annotations {
            out.push_str(&format!("      {} = {expr}\n", hcl_string(key)));
        }
        out.push_str("    }\n");
    }
    out.push_str("  }\n}\n");
    out
}

/// What to do with the pod template, in words, for the notes.
pub fn pod_template_note(v: &ValidatedWorkload, labels: &[Pair]) -> String {
    let labels = labels
        .iter()
        .map(|(k, v)| format!("{k}: \"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let what = if labels.is_empty() {
        format!("serviceAccountName: {}", v.service_account)
    } else {
        format!(
            "serviceAccountName: {} and the label {labels} on the pod template (spec.template.metadata.labels), not on the ServiceAccount",
            v.service_account
        )
    };
    if v.workload_kind.is_patchable() {
        format!(
            "{POD_TEMPLATE_PATCH_FILE} sets {what}; kubectl patch rolls the {} {} so new pods get the identity. Put the same lines in the manifest you keep in git, or the next deploy undoes the patch.",
            v.workload_kind.kind(),
            v.workload_name
        )
    } else {
        format!(
            "A Job's pod template cannot be changed: add {what} to the Job manifest ({POD_TEMPLATE_PATCH_FILE} shows where) and create the Job again."
        )
    }
}
