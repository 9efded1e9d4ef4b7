//! GKE checks: the direct principal's grant on the secret, or (legacy) the
//! Google service account annotation and its `workloadIdentityUser` binding.

use super::super::error::DiagnoseError;
use super::super::gke::{GSA_ANNOTATION, SECRET_ACCESSOR_ROLE};
use super::workload::Target;
use super::{CloudOutput, FindingCode, Piece, Report, evidence_json, evidence_line};
use crate::gcp::{GcpServiceAccountEmail, WORKLOAD_IDENTITY_USER_ROLE};
use crate::shell::{Command, Shell};
use serde_json::Value;

/// Roles that include reading secret versions.
const SECRET_READ_ROLES: [&str; 3] = [
    SECRET_ACCESSOR_ROLE,
    "roles/secretmanager.admin",
    "roles/owner",
];

pub(crate) struct Evidence {
    pub project_id: Option<String>,
    pub project_number: Option<String>,
    /// `(role, members)` of each binding.
    pub bindings: Option<Vec<(String, Vec<String>)>>,
}

impl Evidence {
    pub fn read(out: &CloudOutput) -> Result<Self, DiagnoseError> {
        let bindings = evidence_json("iam_policy", &out.iam_policy)?.map(|policy| {
            policy["bindings"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|b| {
                            (
                                b["role"].as_str().unwrap_or_default().to_owned(),
                                b["members"]
                                    .as_array()
                                    .map(|m| {
                                        m.iter()
                                            .filter_map(Value::as_str)
                                            .map(str::to_owned)
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        Ok(Evidence {
            project_id: evidence_line(&out.project_id),
            project_number: evidence_line(&out.project_number),
            bindings,
        })
    }

    fn members_with(&self, roles: &[&str]) -> Vec<&str> {
        self.bindings
            .iter()
            .flatten()
            .filter(|(role, _)| roles.contains(&role.as_str()))
            .flat_map(|(_, members)| members.iter().map(String::as_str))
            .collect()
    }
}

pub(crate) fn check(t: &Target<'_>, e: &Evidence, report: &mut Report) {
    let w = t.w;
    let annotation =
        t.sa.and_then(|sa| sa.annotation(GSA_ANNOTATION))
            .and_then(|n| n.text());
    let gsa = match annotation {
        None => None,
        Some(value) => match GcpServiceAccountEmail::parse(value.trim()) {
            Ok(gsa) => Some(gsa),
            Err(_) => {
                report.push(
                    FindingCode::GkeServiceAccountAnnotationInvalid,
                    Piece::ServiceAccount,
                    Some(w),
                    format!(
                        "The {GSA_ANNOTATION} annotation is not a Google service account email, so GKE cannot impersonate it."
                    ),
                    "Use the full email, e.g. reader@my-project.iam.gserviceaccount.com, or remove the annotation and grant the Kubernetes service account directly.".to_owned(),
                    None,
                );
                return;
            }
        },
    };
    if e.bindings.is_none() {
        report.not_checked(if gsa.is_some() {
            "the Google service account's IAM policy (gcloud iam service-accounts get-iam-policy)"
        } else {
            "the secret's IAM policy (gcloud secrets get-iam-policy)"
        });
        return;
    }
    let (Some(sa_name), ns) = (&t.sa_name, &w.namespace) else {
        return;
    };
    match gsa {
        Some(gsa) => legacy(t, e, &gsa, sa_name, report),
        None => {
            let (Some(project), Some(number)) = (&e.project_id, &e.project_number) else {
                report.not_checked("the direct principal: give the project id and number");
                return;
            };
            let pool = format!("{project}.svc.id.goog");
            let expected = format!(
                "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/subject/ns/{ns}/sa/{sa_name}"
            );
            let namespace_set = format!(
                "principalSet://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/namespace/{ns}"
            );
            let members = e.members_with(&SECRET_READ_ROLES);
            if members
                .iter()
                .any(|m| *m == expected || *m == namespace_set)
            {
                return;
            }
            let tail = format!("/workloadIdentityPools/{pool}/subject/ns/{ns}/sa/{sa_name}");
            let snippet = Command::new(&["gcloud", "secrets", "add-iam-policy-binding"])
                .arg("<secret>")
                .opt("--project", project.clone())
                .opt("--role", SECRET_ACCESSOR_ROLE)
                .opt("--member", expected.clone())
                .render(Shell::Bash)
                .ok();
            let (code, message) = if members
                .iter()
                .any(|m| m.ends_with(&tail) && m.contains(&format!("/projects/{project}/")))
            {
                (
                    FindingCode::GkePrincipalUsesProjectId,
                    format!(
                        "The grant names the pool under projects/{project}; IAM needs the project NUMBER there (projects/{number}/...), so the member never matches."
                    ),
                )
            } else if let Some(other) = members
                .iter()
                .find(|m| m.contains(&format!("/workloadIdentityPools/{pool}/subject/ns/")))
            {
                (
                    FindingCode::GkePrincipalOtherNamespace,
                    format!(
                        "The secret is granted to {other}, another namespace or service account than {ns}/{sa_name}."
                    ),
                )
            } else {
                (
                    FindingCode::GkePrincipalNotGranted,
                    format!(
                        "No binding on the secret grants {SECRET_ACCESSOR_ROLE} to the pods' principal {expected}; Secret Manager answers PERMISSION_DENIED for secretmanager.versions.access."
                    ),
                )
            };
            report.push(
                code,
                Piece::Permissions,
                Some(w),
                message,
                format!("Grant {SECRET_ACCESSOR_ROLE} on each secret to {expected}."),
                snippet,
            );
        }
    }
}

fn legacy(
    t: &Target<'_>,
    e: &Evidence,
    gsa: &GcpServiceAccountEmail,
    sa_name: &str,
    report: &mut Report,
) {
    let w = t.w;
    let Some(project) = e.project_id.as_deref().or(gsa.project()) else {
        report.not_checked("the workloadIdentityUser binding: give the project id");
        return;
    };
    let expected = format!(
        "serviceAccount:{project}.svc.id.goog[{}/{sa_name}]",
        w.namespace
    );
    let members = e.members_with(&[WORKLOAD_IDENTITY_USER_ROLE]);
    if members.contains(&expected.as_str()) {
        return;
    }
    let snippet = super::super::gke::workload_identity_user_binding(gsa, expected.clone())
        .render(Shell::Bash)
        .ok();
    let (code, message) = match members.iter().find(|m| m.contains(".svc.id.goog[")) {
        Some(other) => (
            FindingCode::GkeBindingOtherNamespace,
            format!(
                "{gsa} lets {other} impersonate it, not {expected}: the binding names another namespace or service account, so IAM refuses iam.serviceAccounts.getAccessToken."
            ),
        ),
        None => (
            FindingCode::GkeWorkloadIdentityUserMissing,
            format!(
                "{gsa} has no {WORKLOAD_IDENTITY_USER_ROLE} binding for {expected}: the annotation alone is not enough, and IAM refuses iam.serviceAccounts.getAccessToken."
            ),
        ),
    };
    report.push(
        code,
        Piece::Federation,
        Some(w),
        message,
        format!("Bind {WORKLOAD_IDENTITY_USER_ROLE} on {gsa} to {expected}."),
        snippet,
    );
}
