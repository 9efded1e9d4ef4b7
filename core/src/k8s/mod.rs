//! Workload identity on Kubernetes (seeds 000 and 004): render a workload's
//! whole wiring for AKS, EKS (IRSA or Pod Identity) and GKE, and diagnose
//! why a pod cannot get its credential.
//!
//! Rendering produces the same [`Bundle`] as the cloud bundles: the cloud
//! side (identity, trust, grants on exactly the named secrets), the cluster
//! side (ServiceAccount, pod-template patch), optionally External Secrets
//! Operator manifests, commands for bash and PowerShell, Terraform and
//! notes. Diagnosis parses pasted manifests with bounded YAML reading and
//! reports coded findings with the exact fix. Pure: no I/O, clock or
//! randomness, the same on native and wasm32.

pub mod aks;
pub mod diagnose;
pub mod eks;
pub mod error;
pub mod eso;
pub mod gke;
pub mod ids;
pub mod input;
pub mod manifests;
pub mod yaml_in;
pub mod yaml_out;

pub use diagnose::{DiagnoseRequest, Diagnosis, Finding, FindingCode, diagnose_workload};
pub use error::DiagnoseError;
pub use input::{CloudSide, EsoStoreKind, WorkloadCloud, WorkloadIdentityRequest};

use crate::bundle::{Bundle, File, NamedValue, Notice, RenderError};
use crate::ids::{CloudKind, OrgId};
use crate::shell::{Command, Commands};
use input::{ValidatedCloud, ValidatedWorkload};

/// One cloud's share of the bundle; [`render_validated`] adds the cluster
/// commands and the External Secrets Operator variant around it.
pub(crate) struct CloudParts {
    pub values: Vec<NamedValue>,
    pub files: Vec<File>,
    /// Commands before the cluster's `kubectl apply`.
    pub commands: Vec<Command>,
    /// Run right after the ServiceAccount is applied (e.g. an annotation
    /// whose value an earlier command printed).
    pub annotate: Option<Command>,
    pub terraform: String,
    pub warnings: Vec<Notice>,
    pub notes: Vec<String>,
}

fn bundle_cloud(cloud: WorkloadCloud) -> CloudKind {
    match cloud {
        WorkloadCloud::Aks => CloudKind::Azure,
        WorkloadCloud::Eks | WorkloadCloud::EksPodIdentity => CloudKind::Aws,
        WorkloadCloud::Gke => CloudKind::Gcp,
    }
}

/// Renders the wiring for a validated request.
pub fn render_validated(v: &ValidatedWorkload) -> Result<Bundle, RenderError> {
    let mut parts = cloud_parts(v);
    let mut values = vec![
        NamedValue::new("namespace", "Namespace", v.namespace.as_str()),
        NamedValue::new(
            "service_account",
            "Service account",
            v.service_account.as_str(),
        ),
        NamedValue::new("subject", "Token subject", v.subject()),
    ];
    values.append(&mut parts.values);
    for secret in &v.secrets {
        values.push(NamedValue::new(
            "secret",
            &format!("Secret for {}", secret.key),
            secret.store_name.name.clone(),
        ));
    }
    let mut commands = with_cluster_commands(v, &mut parts);
    let mut files = parts.files;
    let mut terraform = parts.terraform;
    let mut notes = parts.notes;
    if let Some(kind) = v.external_secrets {
        let eso = eso::render(v, kind);
        files.extend(eso.files);
        commands.extend(eso.commands);
        notes.extend(eso.notes);
        terraform.push_str(&eso.terraform_note);
    }
    Ok(Bundle {
        cloud: bundle_cloud(v.cloud),
        // A tool for the platform's own clusters, not an organisation's.
        org_id: OrgId::platform(),
        values,
        files,
        commands: Commands::render(&commands)?,
        links: Vec::new(),
        terraform,
        warnings: parts.warnings,
        notes,
    })
}

/// Validates the request and renders the workload's wiring.
pub fn render(req: &WorkloadIdentityRequest) -> Result<Bundle, RenderError> {
    render_validated(&req.validate()?)
}

fn cloud_parts(v: &ValidatedWorkload) -> CloudParts {
    match &v.side {
        ValidatedCloud::Aks(side) => aks::parts(v, side),
        ValidatedCloud::Eks(side) => eks::parts(v, side),
        ValidatedCloud::Gke(side) => gke::parts(v, side),
    }
}

/// The cloud's commands followed by the cluster's.
fn with_cluster_commands(v: &ValidatedWorkload, parts: &mut CloudParts) -> Vec<Command> {
    let mut commands = std::mem::take(&mut parts.commands);
    commands.extend(manifests::kubectl_commands(v, parts.annotate.take()));
    commands
}

/// The same command list [`render`] renders, for tests that run them.
pub fn commands(v: &ValidatedWorkload) -> Vec<Command> {
    let mut commands = with_cluster_commands(v, &mut cloud_parts(v));
    if let Some(kind) = v.external_secrets {
        commands.extend(eso::render(v, kind).commands);
    }
    commands
}
