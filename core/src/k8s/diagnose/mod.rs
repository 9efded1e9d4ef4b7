//! Why a pod cannot get its credential: every missing or mismatched piece
//! of the wiring, as a coded finding with the exact fix.
//!
//! Input: the workload's manifests (YAML, several documents or a `List`),
//! optionally what the cloud side says (the output of the `az`/`aws`/
//! `gcloud` command named on each field, pasted unchanged) and the error
//! text the pod logs. Each check runs only on the pieces it was given;
//! cloud checks without their output are listed in `not_checked`.

mod aks;
mod eks;
mod gke;
mod logs;
mod workload;

use super::error::{DiagnoseError, limits};
use super::ids::Namespace;
use super::input::WorkloadCloud;
use super::yaml_in::parse_documents;
use serde::{Deserialize, Serialize};
use workload::{Manifests, Workload};

/// What to diagnose, as the form and the npm package send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnoseRequest {
    pub cloud: WorkloadCloud,
    /// The workload and its ServiceAccount as YAML (kubectl get -o yaml, or git).
    pub manifests: String,
    /// The namespace of objects that name none (kubectl's current one).
    #[serde(default)]
    pub default_namespace: Option<String>,
    #[serde(default)]
    pub cloud_output: CloudOutput,
    /// An error the pod logs, pasted as is.
    #[serde(default)]
    pub error_text: Option<String>,
}

/// Command output, pasted unchanged; each field names the command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudOutput {
    /// AKS: `az aks show --query oidcIssuerProfile.issuerUrl -o tsv`;
    /// EKS: `aws eks describe-cluster --query cluster.identity.oidc.issuer --output text`.
    #[serde(default)]
    pub cluster_issuer: Option<String>,
    /// AKS: `az identity show --name <identity> --resource-group <rg> -o json`.
    #[serde(default)]
    pub identity: Option<String>,
    /// AKS: `az identity federated-credential list --identity-name <identity> --resource-group <rg> -o json`.
    #[serde(default)]
    pub federated_credentials: Option<String>,
    /// AKS: `az role assignment list --scope <vault id> -o json`.
    #[serde(default)]
    pub role_assignments: Option<String>,
    /// EKS: `aws iam get-role --role-name <role> --output json` (or its trust policy alone).
    #[serde(default)]
    pub role: Option<String>,
    /// EKS Pod Identity: `aws eks list-pod-identity-associations --cluster-name <cluster> --output json`.
    #[serde(default)]
    pub pod_identity_associations: Option<String>,
    /// GKE: the project id and number (the direct principal names both).
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub project_number: Option<String>,
    /// GKE: `gcloud secrets get-iam-policy <secret> --format json` (direct form), or
    /// `gcloud iam service-accounts get-iam-policy <gsa> --format json` (legacy form).
    #[serde(default)]
    pub iam_policy: Option<String>,
}

/// Which piece of the wiring a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    PodTemplate,
    ServiceAccount,
    Federation,
    Permissions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The pod cannot get its credential until this is fixed.
    Error,
    /// Works, but fragile or wider than it should be.
    Warning,
}

/// Every finding's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    ServiceAccountNameMissing,
    ServiceAccountNotInManifests,
    ServiceAccountInOtherNamespace,
    AksPodLabelMissing,
    AksLabelOnServiceAccount,
    AksLabelOnWorkloadMetadata,
    AksPodLabelNotString,
    AksPodLabelNotTrue,
    AksClientIdMissing,
    AksClientIdInvalid,
    AksClientIdMismatch,
    AksTokenExpirationOutOfRange,
    AksNoFederatedCredential,
    AksFederatedSubjectMismatch,
    AksFederatedIssuerTrailingSlash,
    AksFederatedIssuerMismatch,
    AksFederatedAudienceWrong,
    AksNoVaultRole,
    EksRoleArnMissing,
    EksRoleArnInvalid,
    EksRoleArnMismatch,
    EksTrustNotWebIdentity,
    EksTrustProviderMismatch,
    EksTrustSubjectMismatch,
    EksTrustSubjectUnrestricted,
    EksTrustAudienceWrong,
    EksPodIdentityAssociationMissing,
    EksPodIdentityTrustWrong,
    EksPodIdentityIrsaAnnotation,
    GkeServiceAccountAnnotationInvalid,
    GkeWorkloadIdentityUserMissing,
    GkeBindingOtherNamespace,
    GkePrincipalNotGranted,
    GkePrincipalOtherNamespace,
    GkePrincipalUsesProjectId,
    LogWorkloadIdentityNotInjected,
    LogNoMatchingFederatedCredential,
    LogClientIdNotFound,
    LogIssuerUnreachable,
    LogAssumeRoleWithWebIdentityDenied,
    LogNoOidcProvider,
    LogGetAccessTokenDenied,
    LogSecretAccessDenied,
}

impl FindingCode {
    /// The code's text, equal to its serde name (a test checks every one).
    pub fn as_str(self) -> &'static str {
        CODES
            .iter()
            .find(|(code, _)| *code == self)
            .map_or("unknown", |(_, name)| name)
    }
}

/// Every code with its text.
pub const CODES: [(FindingCode, &str); 43] = {
    use FindingCode::*;
    [
        (ServiceAccountNameMissing, "service_account_name_missing"),
        (
            ServiceAccountNotInManifests,
            "service_account_not_in_manifests",
        ),
        (
            ServiceAccountInOtherNamespace,
            "service_account_in_other_namespace",
        ),
        (AksPodLabelMissing, "aks_pod_label_missing"),
        (AksLabelOnServiceAccount, "aks_label_on_service_account"),
        (AksLabelOnWorkloadMetadata, "aks_label_on_workload_metadata"),
        (AksPodLabelNotString, "aks_pod_label_not_string"),
        (AksPodLabelNotTrue, "aks_pod_label_not_true"),
        (AksClientIdMissing, "aks_client_id_missing"),
        (AksClientIdInvalid, "aks_client_id_invalid"),
        (AksClientIdMismatch, "aks_client_id_mismatch"),
        (
            AksTokenExpirationOutOfRange,
            "aks_token_expiration_out_of_range",
        ),
        (AksNoFederatedCredential, "aks_no_federated_credential"),
        (
            AksFederatedSubjectMismatch,
            "aks_federated_subject_mismatch",
        ),
        (
            AksFederatedIssuerTrailingSlash,
            "aks_federated_issuer_trailing_slash",
        ),
        (AksFederatedIssuerMismatch, "aks_federated_issuer_mismatch"),
        (AksFederatedAudienceWrong, "aks_federated_audience_wrong"),
        (AksNoVaultRole, "aks_no_vault_role"),
        (EksRoleArnMissing, "eks_role_arn_missing"),
        (EksRoleArnInvalid, "eks_role_arn_invalid"),
        (EksRoleArnMismatch, "eks_role_arn_mismatch"),
        (EksTrustNotWebIdentity, "eks_trust_not_web_identity"),
        (EksTrustProviderMismatch, "eks_trust_provider_mismatch"),
        (EksTrustSubjectMismatch, "eks_trust_subject_mismatch"),
        (
            EksTrustSubjectUnrestricted,
            "eks_trust_subject_unrestricted",
        ),
        (EksTrustAudienceWrong, "eks_trust_audience_wrong"),
        (
            EksPodIdentityAssociationMissing,
            "eks_pod_identity_association_missing",
        ),
        (EksPodIdentityTrustWrong, "eks_pod_identity_trust_wrong"),
        (
            EksPodIdentityIrsaAnnotation,
            "eks_pod_identity_irsa_annotation",
        ),
        (
            GkeServiceAccountAnnotationInvalid,
            "gke_service_account_annotation_invalid",
        ),
        (
            GkeWorkloadIdentityUserMissing,
            "gke_workload_identity_user_missing",
        ),
        (GkeBindingOtherNamespace, "gke_binding_other_namespace"),
        (GkePrincipalNotGranted, "gke_principal_not_granted"),
        (GkePrincipalOtherNamespace, "gke_principal_other_namespace"),
        (GkePrincipalUsesProjectId, "gke_principal_uses_project_id"),
        (
            LogWorkloadIdentityNotInjected,
            "log_workload_identity_not_injected",
        ),
        (
            LogNoMatchingFederatedCredential,
            "log_no_matching_federated_credential",
        ),
        (LogClientIdNotFound, "log_client_id_not_found"),
        (LogIssuerUnreachable, "log_issuer_unreachable"),
        (
            LogAssumeRoleWithWebIdentityDenied,
            "log_assume_role_with_web_identity_denied",
        ),
        (LogNoOidcProvider, "log_no_oidc_provider"),
        (LogGetAccessTokenDenied, "log_get_access_token_denied"),
        (LogSecretAccessDenied, "log_secret_access_denied"),
    ]
};

/// One missing or mismatched piece, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    pub piece: Piece,
    /// `Deployment internal-platform/spec-agent-worker`, when about one workload.
    pub workload: Option<String>,
    pub message: String,
    /// What to change, in words.
    pub fix: String,
    /// The exact YAML to merge or command to run, when there is one.
    pub fix_snippet: Option<String>,
}

/// A workload found in the manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSummary {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The service account its pods run as (`default` when none is set).
    pub service_account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    pub workloads: Vec<WorkloadSummary>,
    pub findings: Vec<Finding>,
    /// Cloud-side checks skipped because their output was not given.
    pub not_checked: Vec<String>,
}

impl Diagnosis {
    pub fn codes(&self) -> Vec<FindingCode> {
        self.findings.iter().map(|f| f.code).collect()
    }
}

/// Collects findings for one diagnosis.
pub(crate) struct Report {
    findings: Vec<Finding>,
    not_checked: Vec<String>,
}

impl Report {
    pub fn push(
        &mut self,
        code: FindingCode,
        piece: Piece,
        workload: Option<&Workload<'_>>,
        message: String,
        fix: String,
        fix_snippet: Option<String>,
    ) {
        let severity = match code {
            FindingCode::ServiceAccountNotInManifests
            | FindingCode::EksTrustSubjectUnrestricted
            | FindingCode::EksPodIdentityIrsaAnnotation => Severity::Warning,
            _ => Severity::Error,
        };
        self.findings.push(Finding {
            code,
            severity,
            piece,
            workload: workload.map(Workload::label),
            message,
            fix,
            fix_snippet,
        });
    }
    pub fn not_checked(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.not_checked.contains(&what) {
            self.not_checked.push(what);
        }
    }
}

/// Parses one pasted command output as JSON, within the input limit.
pub(crate) fn evidence_json(
    field: &'static str,
    text: &Option<String>,
) -> Result<Option<serde_json::Value>, DiagnoseError> {
    let Some(text) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.len() > limits::MAX_INPUT_BYTES {
        return Err(DiagnoseError::TooLarge {
            field,
            len: text.len(),
            max: limits::MAX_INPUT_BYTES,
        });
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| DiagnoseError::InvalidEvidence {
            field,
            problem: e.to_string(),
        })
}

/// A pasted single-line value (e.g. the cluster's issuer), trimmed of the
/// newline and quotes a shell prints around it.
pub(crate) fn evidence_line(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(|t| t.trim().trim_matches('"').to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 2048)
}

/// Diagnoses the workloads in the request's manifests.
pub fn diagnose_workload(req: &DiagnoseRequest) -> Result<Diagnosis, DiagnoseError> {
    let default_namespace = match req
        .default_namespace
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(ns) => Namespace::parse(ns)
            .map_err(|_| DiagnoseError::InvalidEvidence {
                field: "default_namespace",
                problem: "it is not a namespace name".to_owned(),
            })?
            .to_string(),
        None => "default".to_owned(),
    };
    if let Some(text) = &req.error_text
        && text.len() > limits::MAX_INPUT_BYTES
    {
        return Err(DiagnoseError::TooLarge {
            field: "error_text",
            len: text.len(),
            max: limits::MAX_INPUT_BYTES,
        });
    }
    let docs = parse_documents(&req.manifests)?;
    let manifests = Manifests::read(&docs, &default_namespace)?;
    let mut report = Report {
        findings: Vec::new(),
        not_checked: Vec::new(),
    };
    let cloud = match req.cloud {
        WorkloadCloud::Aks => Cloud::Aks(aks::Evidence::read(&req.cloud_output)?),
        WorkloadCloud::Eks | WorkloadCloud::EksPodIdentity => {
            Cloud::Eks(eks::Evidence::read(&req.cloud_output)?)
        }
        WorkloadCloud::Gke => Cloud::Gke(gke::Evidence::read(&req.cloud_output)?),
    };
    for w in &manifests.workloads {
        let target = workload::target(&manifests, w, &mut report);
        match &cloud {
            Cloud::Aks(e) => aks::check(&target, e, &mut report),
            Cloud::Eks(e) => eks::check(&target, e, req.cloud, &mut report),
            Cloud::Gke(e) => gke::check(&target, e, &mut report),
        }
    }
    if let Some(text) = &req.error_text {
        logs::check(text, req.cloud, &manifests, &mut report);
    }
    Ok(Diagnosis {
        workloads: manifests.workloads.iter().map(Workload::summary).collect(),
        findings: report.findings,
        not_checked: report.not_checked,
    })
}

enum Cloud {
    Aks(aks::Evidence),
    Eks(eks::Evidence),
    Gke(gke::Evidence),
}
