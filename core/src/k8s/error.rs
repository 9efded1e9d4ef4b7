//! Why pasted manifests or cloud output could not be diagnosed. Rendering
//! reports through [`crate::bundle::RenderError`] like every bundle.

use crate::error::CoreError;

/// Limits on what diagnosis reads; hostile input hits one of these, never
/// unbounded memory or time.
pub mod limits {
    /// Largest manifest text or cloud output accepted (1 MiB).
    pub const MAX_INPUT_BYTES: usize = 1 << 20;
    /// YAML documents in one paste.
    pub const MAX_DOCUMENTS: usize = 500;
    /// Nodes after alias expansion, across all documents.
    pub const MAX_NODES: usize = 200_000;
    /// Scalar bytes after alias expansion, across all documents (8 MiB).
    pub const MAX_EXPANDED_BYTES: usize = 8 << 20;
    /// Nesting of mappings and sequences.
    pub const MAX_DEPTH: usize = 64;
}

/// A coded reason the input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnoseError {
    #[error("{field} is {len} bytes; at most {max} are read")]
    TooLarge {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the manifests are not valid YAML: {problem} (line {line})")]
    YamlSyntax { problem: String, line: usize },
    #[error("the manifests hold more than {max} documents")]
    TooManyDocuments { max: usize },
    #[error("the manifests expand to more than {max} values (aliases included)")]
    TooManyNodes { max: usize },
    #[error("the manifests expand to more than {max} bytes of text (aliases included)")]
    TooMuchText { max: usize },
    #[error("the manifests nest deeper than {max} levels (line {line})")]
    TooDeep { max: usize, line: usize },
    #[error("the alias on line {line} refers to an anchor that is not defined before it")]
    UnknownAlias { line: usize },
    #[error("a mapping key on line {line} is not a plain value")]
    ComplexKey { line: usize },
    #[error(
        "the key {key} appears twice in one mapping (line {line}); the second would replace the first"
    )]
    DuplicateKey { key: String, line: usize },
    #[error("document {index} is not a Kubernetes object (a mapping with apiVersion and kind)")]
    NotAnObject { index: usize },
    #[error("the manifests hold no Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod")]
    NoWorkload { kinds: Vec<String> },
    #[error("{field} is not the JSON the command prints: {problem}")]
    InvalidEvidence {
        field: &'static str,
        problem: String,
    },
}

impl CoreError for DiagnoseError {
    fn code(&self) -> &'static str {
        match self {
            DiagnoseError::TooLarge { .. } => "input_too_large",
            DiagnoseError::YamlSyntax { .. } => "yaml_syntax",
            DiagnoseError::TooManyDocuments { .. } => "yaml_too_many_documents",
            DiagnoseError::TooManyNodes { .. } => "yaml_too_many_nodes",
            DiagnoseError::TooMuchText { .. } => "yaml_too_much_text",
            DiagnoseError::TooDeep { .. } => "yaml_too_deep",
            DiagnoseError::UnknownAlias { .. } => "yaml_unknown_alias",
            DiagnoseError::ComplexKey { .. } => "yaml_complex_key",
            DiagnoseError::DuplicateKey { .. } => "yaml_duplicate_key",
            DiagnoseError::NotAnObject { .. } => "manifest_not_an_object",
            DiagnoseError::NoWorkload { .. } => "no_workload",
            DiagnoseError::InvalidEvidence { .. } => "invalid_cloud_output",
        }
    }
    fn field(&self) -> Option<&str> {
        Some(match self {
            DiagnoseError::TooLarge { field, .. }
            | DiagnoseError::InvalidEvidence { field, .. } => field,
            _ => "manifests",
        })
    }
    fn hint(&self) -> String {
        match self {
            DiagnoseError::TooLarge { .. } => {
                "Paste only the workload and its ServiceAccount (kubectl get deploy,sa -n <namespace> -o yaml).".to_owned()
            }
            DiagnoseError::YamlSyntax { .. } | DiagnoseError::ComplexKey { .. } => {
                "Paste the manifests exactly as kubectl get -o yaml prints them, or as they are in git.".to_owned()
            }
            DiagnoseError::DuplicateKey { key, .. } => {
                format!("Keep one {key} key and merge what the two held.")
            }
            DiagnoseError::TooManyDocuments { .. }
            | DiagnoseError::TooManyNodes { .. }
            | DiagnoseError::TooMuchText { .. }
            | DiagnoseError::TooDeep { .. } => {
                "Paste fewer manifests: the workload and its ServiceAccount are enough.".to_owned()
            }
            DiagnoseError::UnknownAlias { .. } => {
                "Define the anchor (&name) before the alias (*name) that uses it.".to_owned()
            }
            DiagnoseError::NotAnObject { .. } => {
                "Each document must be one Kubernetes object with apiVersion, kind and metadata.".to_owned()
            }
            DiagnoseError::NoWorkload { kinds } if kinds.is_empty() => {
                "Paste the workload's manifest (Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod) and its ServiceAccount.".to_owned()
            }
            DiagnoseError::NoWorkload { kinds } => format!(
                "Only {} were found: add the workload's manifest (Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod).",
                kinds.join(", ")
            ),
            DiagnoseError::InvalidEvidence { .. } => {
                "Paste the command's JSON output unchanged (--output json), or leave the field empty.".to_owned()
            }
        }
    }
}
