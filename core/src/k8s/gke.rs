//! GKE Workload Identity Federation: the Kubernetes service account itself
//! (`principal://…/PROJECT_ID.svc.id.goog/subject/ns/<ns>/sa/<sa>`) is granted
//! `roles/secretmanager.secretAccessor` on exactly the named secrets; or,
//! the legacy form, a Google service account holds those grants and the
//! Kubernetes service account may impersonate it.

use super::CloudParts;
use super::input::{GkeSide, ValidatedWorkload};
use super::manifests::{self, Pair};
use crate::bundle::{NamedValue, hcl_string};
use crate::gcp::{
    GcpProjectId, GcpProjectNumber, GcpServiceAccountEmail, WORKLOAD_IDENTITY_USER_ROLE,
};
use crate::shell::Command;

pub const SECRET_ACCESSOR_ROLE: &str = "roles/secretmanager.secretAccessor";
pub const GSA_ANNOTATION: &str = "iam.gke.io/gcp-service-account";

/// `PROJECT_ID.svc.id.goog`: the cluster's workload pool.
pub fn workload_pool(project: &GcpProjectId) -> String {
    format!("{project}.svc.id.goog")
}

/// The direct principal of one Kubernetes service account. IAM requires
/// the project NUMBER in the pool's resource name.
pub fn principal(
    v: &ValidatedWorkload,
    number: &GcpProjectNumber,
    project: &GcpProjectId,
) -> String {
    format!(
        "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{}/subject/ns/{}/sa/{}",
        workload_pool(project),
        v.namespace,
        v.service_account
    )
}

/// The legacy member allowed to impersonate a Google service account.
pub fn legacy_member(v: &ValidatedWorkload, project: &GcpProjectId) -> String {
    format!(
        "serviceAccount:{}[{}/{}]",
        workload_pool(project),
        v.namespace,
        v.service_account
    )
}

/// Lets `member` impersonate `gsa` (the legacy form's second half).
pub fn workload_identity_user_binding(gsa: &GcpServiceAccountEmail, member: String) -> Command {
    Command::new(&[
        "gcloud",
        "iam",
        "service-accounts",
        "add-iam-policy-binding",
    ])
    .arg(gsa.as_str())
    .opt("--role", WORKLOAD_IDENTITY_USER_ROLE)
    .opt("--member", member)
}

pub(crate) fn parts(v: &ValidatedWorkload, side: &GkeSide) -> CloudParts {
    let project = side.project_id.as_str();
    let (member, annotations): (String, Vec<Pair>) = match &side.google_service_account {
        Some(gsa) => (
            format!("serviceAccount:{gsa}"),
            vec![(GSA_ANNOTATION, gsa.to_string())],
        ),
        None => (
            principal(v, &side.project_number, &side.project_id),
            Vec::new(),
        ),
    };
    let mut values = vec![
        NamedValue::new("project_id", "Project id", project),
        NamedValue::new(
            "project_number",
            "Project number",
            side.project_number.as_str(),
        ),
        NamedValue::new(
            "workload_pool",
            "Workload pool",
            workload_pool(&side.project_id),
        ),
        NamedValue::new("member", "Member granted on the secrets", member.clone()),
    ];
    let mut commands = Vec::new();
    let mut notes = Vec::new();
    if let (Some(cluster), Some(location)) = (&v.cluster_name, &side.location) {
        commands.push(
            Command::new(&["gcloud", "container", "clusters", "describe"])
                .arg(cluster.as_str())
                .opt("--location", location.as_str())
                .opt("--project", project)
                .opt("--format", "value(workloadIdentityConfig.workloadPool)"),
        );
        notes.push(format!(
            "The first command prints the cluster's workload pool: it must be {}; if it prints nothing, enable Workload Identity on the cluster (--workload-pool) and its node pools.",
            workload_pool(&side.project_id)
        ));
    }
    for secret in &v.secrets {
        let id = secret.store_name.secret_id.clone().unwrap_or_default();
        commands.push(
            Command::new(&["gcloud", "secrets", "add-iam-policy-binding"])
                .arg(id)
                .opt("--project", project)
                .opt("--role", SECRET_ACCESSOR_ROLE)
                .opt("--member", member.clone()),
        );
    }
    if let Some(gsa) = &side.google_service_account {
        let legacy = legacy_member(v, &side.project_id);
        values.push(NamedValue::new(
            "impersonation_member",
            "Member allowed to impersonate",
            legacy.clone(),
        ));
        commands.push(workload_identity_user_binding(gsa, legacy));
        notes.push(format!(
            "Legacy form: the grants go to {gsa}, and {} may impersonate it because of the {WORKLOAD_IDENTITY_USER_ROLE} binding and the {GSA_ANNOTATION} annotation; both halves are needed.",
            v.subject()
        ));
    } else {
        notes.push(
            "Direct form: the Kubernetes service account itself is the member (no Google service account, no annotation). The member names the project NUMBER; the project id appears only in the pool name.".to_owned(),
        );
    }
    notes.push(manifests::pod_template_note(v, &[]));

    let mut files = Vec::new();
    files.extend(manifests::files(v, &annotations, &[]));
    CloudParts {
        values,
        files,
        commands,
        annotate: None,
        terraform: terraform(v, side, &member),
        warnings: Vec::new(),
        notes,
    }
}

fn terraform(v: &ValidatedWorkload, side: &GkeSide, member: &str) -> String {
    let ids = v
        .secrets
        .iter()
        .map(|s| hcl_string(s.store_name.secret_id.as_deref().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut tf = format!(
        r#"terraform {{
  required_providers {{
    google     = {{ source = "hashicorp/google", version = ">= 5.0" }}
    kubernetes = {{ source = "hashicorp/kubernetes", version = ">= 2.0" }}
  }}
}}

resource "google_secret_manager_secret_iam_member" "workload" {{
  for_each  = toset([{ids}])
  project   = {project}
  secret_id = each.value
  role      = {role}
  member    = {member}
}}
"#,
        project = hcl_string(side.project_id.as_str()),
        role = hcl_string(SECRET_ACCESSOR_ROLE),
        member = hcl_string(member),
    );
    let mut annotations = Vec::new();
    if let Some(gsa) = &side.google_service_account {
        tf.push_str(&format!(
            "\nresource \"google_service_account_iam_member\" \"workload_identity_user\" {{\n  service_account_id = {}\n  role               = {}\n  member             = {}\n}}\n",
            hcl_string(&format!("projects/-/serviceAccounts/{gsa}")),
            hcl_string(WORKLOAD_IDENTITY_USER_ROLE),
            hcl_string(&legacy_member(v, &side.project_id)),
        ));
        annotations.push((GSA_ANNOTATION, hcl_string(gsa.as_str())));
    }
    tf.push('\n');
    tf.push_str(&manifests::terraform_service_account(v, &annotations));
    tf
}
