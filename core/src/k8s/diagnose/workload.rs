//! The objects diagnosis looks at: workloads (with their pod template) and
//! ServiceAccounts, read from parsed documents (a `List` is unpacked).

use super::super::error::DiagnoseError;
use super::super::ids::WorkloadKind;
use super::super::manifests::template_patch;
use super::super::yaml_in::Node;
use super::super::yaml_out::to_yaml;
use super::{FindingCode, Piece, Report, WorkloadSummary};

pub(crate) struct Workload<'a> {
    pub kind: &'a str,
    pub name: String,
    pub namespace: String,
    /// The workload object's own metadata (not the pod template's).
    pub metadata: Option<&'a Node>,
    pub pod_metadata: Option<&'a Node>,
    pub pod_spec: Option<&'a Node>,
    /// Keys from the object to its pod template (empty for a Pod).
    pub template_path: &'static [&'static str],
}

pub(crate) struct ServiceAccount<'a> {
    pub name: String,
    pub namespace: String,
    pub node: &'a Node,
}

impl<'a> ServiceAccount<'a> {
    pub fn annotation(&self, key: &str) -> Option<&'a Node> {
        self.node.at(&["metadata", "annotations", key])
    }
    pub fn label(&self, key: &str) -> Option<&'a Node> {
        self.node.at(&["metadata", "labels", key])
    }
}

pub(crate) struct Manifests<'a> {
    pub workloads: Vec<Workload<'a>>,
    pub service_accounts: Vec<ServiceAccount<'a>>,
}

fn string_at<'a>(node: &'a Node, path: &[&str]) -> Option<&'a str> {
    node.at(path).and_then(Node::string)
}

impl<'a> Workload<'a> {
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
    /// The service account the pods run as and whether it was named.
    pub fn service_account_name(&self) -> (String, bool) {
        let named = self.pod_spec.and_then(|spec| {
            spec.get("serviceAccountName")
                .or_else(|| spec.get("serviceAccount"))
                .and_then(Node::string)
                .filter(|n| !n.is_empty())
        });
        match named {
            Some(name) => (name.to_owned(), true),
            None => ("default".to_owned(), false),
        }
    }
    pub fn pod_label(&self, key: &str) -> Option<&'a Node> {
        self.pod_metadata?.at(&["labels", key])
    }
    pub fn summary(&self) -> WorkloadSummary {
        WorkloadSummary {
            kind: self.kind.to_owned(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            service_account: self.service_account_name().0,
        }
    }
    /// YAML to merge into this workload's manifest.
    pub fn patch(
        &self,
        labels: &[(&'static str, String)],
        service_account: Option<&str>,
    ) -> String {
        to_yaml(&template_patch(self.template_path, labels, service_account))
    }
}

const POD_PATH: &[&str] = &[];

impl<'a> Manifests<'a> {
    pub fn read(docs: &'a [Node], default_namespace: &str) -> Result<Self, DiagnoseError> {
        let mut objects = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            if !matches!(doc, Node::Map(_)) || doc.get("kind").and_then(Node::string).is_none() {
                return Err(DiagnoseError::NotAnObject { index: i + 1 });
            }
            match string_at(doc, &["kind"]) {
                // kubectl get -o yaml of several objects prints one List.
                Some("List") => objects.extend(doc.get("items").map(Node::items).unwrap_or(&[])),
                _ => objects.push(doc),
            }
        }
        let mut manifests = Manifests {
            workloads: Vec::new(),
            service_accounts: Vec::new(),
        };
        let mut other_kinds = Vec::new();
        for object in objects {
            let kind = string_at(object, &["kind"]).unwrap_or_default();
            let name = string_at(object, &["metadata", "name"])
                .unwrap_or_default()
                .to_owned();
            let namespace = string_at(object, &["metadata", "namespace"])
                .unwrap_or(default_namespace)
                .to_owned();
            let (template_path, kind): (&'static [&'static str], &str) =
                match WorkloadKind::from_kind(kind) {
                    Some(k) => (k.template_path(), k.kind()),
                    None if kind == "Pod" => (POD_PATH, "Pod"),
                    None if kind == "ServiceAccount" => {
                        manifests.service_accounts.push(ServiceAccount {
                            name,
                            namespace,
                            node: object,
                        });
                        continue;
                    }
                    None => {
                        if !kind.is_empty() && !other_kinds.iter().any(|k| k == kind) {
                            other_kinds.push(kind.to_owned());
                        }
                        continue;
                    }
                };
            let template = object.at(template_path);
            manifests.workloads.push(Workload {
                kind,
                name,
                namespace,
                metadata: object.get("metadata"),
                pod_metadata: template.and_then(|t| t.get("metadata")),
                pod_spec: template.and_then(|t| t.get("spec")),
                template_path,
            });
        }
        if manifests.workloads.is_empty() {
            let mut kinds = other_kinds;
            if !manifests.service_accounts.is_empty() {
                kinds.insert(0, "ServiceAccount".to_owned());
            }
            return Err(DiagnoseError::NoWorkload { kinds });
        }
        Ok(manifests)
    }
}

/// One workload with what is known of the service account it runs as.
pub(crate) struct Target<'a> {
    pub w: &'a Workload<'a>,
    /// Its manifest, when pasted (annotations are checked only then).
    pub sa: Option<&'a ServiceAccount<'a>>,
    /// Its name, unless the pods fell back to `default` by mistake: the
    /// token subject is then not the intended one and is not compared.
    pub sa_name: Option<String>,
}

impl Target<'_> {
    /// `system:serviceaccount:<ns>:<sa>`, the subject of the pods' tokens.
    pub fn subject(&self) -> Option<String> {
        self.sa_name
            .as_ref()
            .map(|sa| format!("system:serviceaccount:{}:{sa}", self.w.namespace))
    }
}

/// Looks up the workload's ServiceAccount, reporting the common mistakes.
pub(crate) fn target<'a>(
    manifests: &'a Manifests<'a>,
    w: &'a Workload<'a>,
    report: &mut Report,
) -> Target<'a> {
    let (name, named) = w.service_account_name();
    let sa = service_account(manifests, w, report);
    let fell_back = !named && sa.is_none();
    Target {
        w,
        sa,
        sa_name: (!fell_back).then_some(name),
    }
}

fn service_account<'a>(
    manifests: &'a Manifests<'a>,
    w: &Workload<'_>,
    report: &mut Report,
) -> Option<&'a ServiceAccount<'a>> {
    let (name, named) = w.service_account_name();
    let in_namespace = manifests
        .service_accounts
        .iter()
        .find(|sa| sa.name == name && sa.namespace == w.namespace);
    if !named && in_namespace.is_none() {
        // Pods without serviceAccountName run as "default"; suggest the
        // ServiceAccount the paste holds for this namespace, if only one.
        let candidates: Vec<&ServiceAccount> = manifests
            .service_accounts
            .iter()
            .filter(|sa| sa.namespace == w.namespace)
            .collect();
        let suggestion = match candidates.as_slice() {
            [only] => only.name.clone(),
            _ => "<service account>".to_owned(),
        };
        report.push(
            FindingCode::ServiceAccountNameMissing,
            Piece::PodTemplate,
            Some(w),
            "The pod template sets no serviceAccountName, so its pods run as the namespace's default service account, which carries no cloud identity.".to_owned(),
            format!(
                "Set {} to {suggestion} (the ServiceAccount with the identity annotation).",
                w.template_path
                    .iter()
                    .chain(&["spec", "serviceAccountName"])
                    .copied()
                    .collect::<Vec<_>>()
                    .join(".")
            ),
            Some(w.patch(&[], Some(&suggestion))),
        );
        return None;
    }
    if in_namespace.is_some() {
        return in_namespace;
    }
    if let Some(elsewhere) = manifests.service_accounts.iter().find(|sa| sa.name == name) {
        report.push(
            FindingCode::ServiceAccountInOtherNamespace,
            Piece::ServiceAccount,
            Some(w),
            format!(
                "The pods run as {name} in namespace {}, but the ServiceAccount {name} in the manifests is in namespace {}: a pod can only use a service account of its own namespace.",
                w.namespace, elsewhere.namespace
            ),
            format!(
                "Create the ServiceAccount {name} in namespace {} (set metadata.namespace), and point the cloud side at system:serviceaccount:{}:{name}.",
                w.namespace, w.namespace
            ),
            None,
        );
        return None;
    }
    report.push(
        FindingCode::ServiceAccountNotInManifests,
        Piece::ServiceAccount,
        Some(w),
        format!(
            "The pods run as {name} in namespace {}, but that ServiceAccount is not in the manifests, so its annotations were not checked.",
            w.namespace
        ),
        format!(
            "Add it to the paste: kubectl get serviceaccount {name} --namespace {} -o yaml.",
            w.namespace
        ),
        None,
    );
    None
}
