//! Error texts operators paste from pod logs, mapped to the piece of the
//! wiring that most likely causes them.

use super::super::input::WorkloadCloud;
use super::workload::Manifests;
use super::{FindingCode, Piece, Report};

/// The quoted value after `marker` in an Entra message, e.g. the subject
/// in "presented assertion subject 'system:serviceaccount:ns:sa'".
fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    let rest = text[start..].trim_start().strip_prefix('\'')?;
    Some(&rest[..rest.find('\'')?])
}

fn has(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| text.contains(n))
}

pub(crate) fn check(
    text: &str,
    cloud: WorkloadCloud,
    manifests: &Manifests<'_>,
    report: &mut Report,
) {
    let subjects: Vec<String> = manifests
        .workloads
        .iter()
        .map(|w| {
            format!(
                "system:serviceaccount:{}:{}",
                w.namespace,
                w.service_account_name().0
            )
        })
        .collect();
    let mut push = |code, piece, message: String, fix: &str| {
        report.push(code, piece, None, message, fix.to_owned(), None);
    };

    if has(
        text,
        &[
            "workload options are not fully configured",
            "WorkloadIdentityCredential authentication unavailable",
        ],
    ) || (text.contains("CredentialUnavailableException") && cloud == WorkloadCloud::Aks)
    {
        push(
            FindingCode::LogWorkloadIdentityNotInjected,
            Piece::PodTemplate,
            "The pod has no workload identity environment (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE): the webhook did not mutate it.".to_owned(),
            "Check, in this order: serviceAccountName names the annotated ServiceAccount; the pod template (not the ServiceAccount) has the label azure.workload.identity/use: \"true\"; the ServiceAccount has azure.workload.identity/client-id; then restart the pods.",
        );
    }
    if has(
        text,
        &[
            "AADSTS70021",
            "AADSTS700211",
            "AADSTS700212",
            "AADSTS700213",
            "AADSTS7002138",
        ],
    ) || text.contains("No matching federated identity record found")
    {
        let presented = quoted_after(text, "assertion subject")
            .or_else(|| quoted_after(text, "Assertion Subject:"));
        let issuer = quoted_after(text, "assertion issuer")
            .or_else(|| quoted_after(text, "Assertion Issuer:"));
        let mut message = "Entra found no federated credential matching the pod's token".to_owned();
        if let Some(subject) = presented {
            message.push_str(&format!(" (subject {subject}"));
            if !subjects.iter().any(|s| s == subject) && !subjects.is_empty() {
                message.push_str(&format!("; the manifests run as {}", subjects.join(", ")));
            }
            message.push(')');
        }
        if let Some(issuer) = issuer {
            message.push_str(&format!(", issuer {issuer}"));
        }
        message.push('.');
        push(
            FindingCode::LogNoMatchingFederatedCredential,
            Piece::Federation,
            message,
            "Make the identity's federated credential match the token exactly: issuer as az aks show prints it (trailing / included), subject system:serviceaccount:<namespace>:<service account>, audience api://AzureADTokenExchange.",
        );
    }
    if text.contains("AADSTS700016") {
        push(
            FindingCode::LogClientIdNotFound,
            Piece::ServiceAccount,
            "Entra does not know the client id the pod presented: the azure.workload.identity/client-id annotation names no identity in this tenant.".to_owned(),
            "Put the managed identity's client id (az identity show --query clientId -o tsv) in the ServiceAccount annotation, then restart the pods.",
        );
    }
    if has(text, &["AADSTS90061", "AADSTS50166"]) {
        push(
            FindingCode::LogIssuerUnreachable,
            Piece::Federation,
            "Entra could not fetch the cluster's OIDC discovery document or keys: the issuer in the federated credential is wrong or not public.".to_owned(),
            "Enable the OIDC issuer on the cluster (az aks update --enable-oidc-issuer) and use exactly the issuer it reports.",
        );
    }
    if text.contains("AssumeRoleWithWebIdentity")
        && has(
            text,
            &[
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            ],
        )
    {
        push(
            FindingCode::LogAssumeRoleWithWebIdentityDenied,
            Piece::Federation,
            format!(
                "STS refused the pod's token: the role's trust policy does not match it (provider, {} or audience).",
                match subjects.as_slice() {
                    [one] => format!("subject {one}"),
                    _ => "subject".to_owned(),
                }
            ),
            "Compare the trust policy with the cluster: Federated = its oidc-provider, StringEquals <issuer host>:sub = system:serviceaccount:<namespace>:<service account> and <issuer host>:aud = sts.amazonaws.com.",
        );
    }
    if has(
        text,
        &["No OpenIDConnect provider found", "InvalidIdentityToken"],
    ) {
        push(
            FindingCode::LogNoOidcProvider,
            Piece::Federation,
            "IAM has no OIDC provider for the cluster's issuer, so no token of this cluster can be exchanged.".to_owned(),
            "Register it once: aws iam create-open-id-connect-provider --url <issuer> --client-id-list sts.amazonaws.com (or eksctl utils associate-iam-oidc-provider --approve).",
        );
    }
    if text.contains("iam.serviceAccounts.getAccessToken") {
        push(
            FindingCode::LogGetAccessTokenDenied,
            Piece::Federation,
            "The pod may not impersonate the Google service account in its iam.gke.io/gcp-service-account annotation.".to_owned(),
            "Bind roles/iam.workloadIdentityUser on that service account to serviceAccount:<project>.svc.id.goog[<namespace>/<service account>], or drop the annotation and grant the Kubernetes service account directly.",
        );
    }
    if has(
        text,
        &[
            "secretmanager.versions.access",
            "ForbiddenByRbac",
            "is not authorized to perform: secretsmanager:GetSecretValue",
        ],
    ) {
        push(
            FindingCode::LogSecretAccessDenied,
            Piece::Permissions,
            "The identity authenticated, but it may not read the secret.".to_owned(),
            match cloud {
                WorkloadCloud::Aks => "Assign Key Vault Secrets User on the vault to the identity.",
                WorkloadCloud::Gke => {
                    "Grant roles/secretmanager.secretAccessor on the secret to the pod's principal (or its Google service account)."
                }
                _ => {
                    "Allow secretsmanager:GetSecretValue on the secret's ARN in the role's policy."
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::quoted_after;

    #[test]
    fn extracts_quoted_values() {
        let text = "AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:ns:sa'. Check";
        assert_eq!(
            quoted_after(text, "assertion subject"),
            Some("system:serviceaccount:ns:sa")
        );
        assert_eq!(quoted_after("subject 'open", "subject"), None);
    }
}
