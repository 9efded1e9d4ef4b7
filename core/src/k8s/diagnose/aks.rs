//! AKS checks: the pod label, the ServiceAccount annotation, the
//! identity's federated credentials and its role on the vault.

use super::super::aks::{
    AUDIENCE, CLIENT_ID_ANNOTATION, KEY_VAULT_READ_ROLES, KEY_VAULT_ROLE,
    TOKEN_EXPIRATION_ANNOTATION, USE_LABEL,
};
use super::super::error::DiagnoseError;
use super::workload::Target;
use super::{CloudOutput, FindingCode, Piece, Report, evidence_json, evidence_line};
use crate::ids::Guid;
use crate::shell::{Command, Shell};
use serde_json::Value;

pub(crate) struct Identity {
    pub name: Option<String>,
    pub resource_group: Option<String>,
    pub client_id: Option<String>,
    pub principal_id: Option<String>,
}

pub(crate) struct FederatedCredential {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

pub(crate) struct Assignment {
    pub principal_id: String,
    pub principal_name: String,
    pub role: String,
    pub scope: String,
}

pub(crate) struct Evidence {
    pub cluster_issuer: Option<String>,
    pub identity: Option<Identity>,
    pub credentials: Option<Vec<FederatedCredential>>,
    pub assignments: Option<Vec<Assignment>>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn array<'a>(field: &'static str, value: &'a Value) -> Result<&'a Vec<Value>, DiagnoseError> {
    value
        .as_array()
        .ok_or_else(|| DiagnoseError::InvalidEvidence {
            field,
            problem: "expected a JSON list".to_owned(),
        })
}

/// `/…/userAssignedIdentities/<name>/federatedIdentityCredentials/…` and
/// `/…/resourcegroups/<rg>/…` of a credential's resource id.
fn id_segment(id: &str, after: &str) -> Option<String> {
    let mut parts = id.split('/');
    parts.find(|p| p.eq_ignore_ascii_case(after))?;
    parts.next().map(str::to_owned)
}

impl Evidence {
    pub fn read(out: &CloudOutput) -> Result<Self, DiagnoseError> {
        let identity = evidence_json("identity", &out.identity)?.map(|v| Identity {
            name: text(&v, "name"),
            resource_group: text(&v, "resourceGroup"),
            client_id: text(&v, "clientId").map(|c| c.to_ascii_lowercase()),
            principal_id: text(&v, "principalId").map(|c| c.to_ascii_lowercase()),
        });
        let mut identity = identity;
        let credentials = match evidence_json("federated_credentials", &out.federated_credentials)?
        {
            None => None,
            Some(v) => {
                let items = array("federated_credentials", &v)?;
                // The credentials' ids name the identity when `identity` was not given.
                if identity.is_none()
                    && let Some(id) = items.first().and_then(|i| text(i, "id"))
                {
                    identity = Some(Identity {
                        name: id_segment(&id, "userAssignedIdentities"),
                        resource_group: id_segment(&id, "resourceGroups"),
                        client_id: None,
                        principal_id: None,
                    });
                }
                Some(
                    items
                        .iter()
                        .map(|i| FederatedCredential {
                            name: text(i, "name").unwrap_or_default(),
                            issuer: text(i, "issuer").unwrap_or_default(),
                            subject: text(i, "subject").unwrap_or_default(),
                            audiences: i
                                .get("audiences")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .filter_map(Value::as_str)
                                        .map(str::to_owned)
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                        .collect(),
                )
            }
        };
        let assignments = match evidence_json("role_assignments", &out.role_assignments)? {
            None => None,
            Some(v) => Some(
                array("role_assignments", &v)?
                    .iter()
                    .map(|a| Assignment {
                        principal_id: text(a, "principalId")
                            .unwrap_or_default()
                            .to_ascii_lowercase(),
                        principal_name: text(a, "principalName")
                            .unwrap_or_default()
                            .to_ascii_lowercase(),
                        role: text(a, "roleDefinitionName").unwrap_or_default(),
                        scope: text(a, "scope").unwrap_or_default(),
                    })
                    .collect(),
            ),
        };
        Ok(Evidence {
            cluster_issuer: evidence_line(&out.cluster_issuer),
            identity,
            credentials,
            assignments,
        })
    }
}

pub(crate) fn check(t: &Target<'_>, e: &Evidence, report: &mut Report) {
    pod_label(t, report);
    let client_id = service_account(t, e, report);
    federation(t, e, report);
    vault_role(t, e, client_id.as_deref(), report);
}

fn pod_label(t: &Target<'_>, report: &mut Report) {
    let w = t.w;
    let labels = [(USE_LABEL, "true".to_owned())];
    let snippet = Some(w.patch(&labels, None));
    match w.pod_label(USE_LABEL) {
        None => {
            let on_sa = t.sa.and_then(|sa| sa.label(USE_LABEL)).is_some();
            let on_workload = w
                .metadata
                .and_then(|m| m.at(&["labels", USE_LABEL]))
                .is_some();
            let (code, message) = if on_sa {
                (
                    FindingCode::AksLabelOnServiceAccount,
                    format!(
                        "The label {USE_LABEL} is on the ServiceAccount, but the webhook only looks at pods: the pod template has no such label, so no token or AZURE_* variables are injected."
                    ),
                )
            } else if on_workload && !w.template_path.is_empty() {
                (
                    FindingCode::AksLabelOnWorkloadMetadata,
                    format!(
                        "The label {USE_LABEL} is on the {}'s own metadata, not on its pod template, so the pods do not carry it and the webhook skips them.",
                        w.kind
                    ),
                )
            } else {
                (
                    FindingCode::AksPodLabelMissing,
                    format!(
                        "The pod template has no label {USE_LABEL}: \"true\". Since v1.0 the webhook mutates only labelled pods, so AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are missing and DefaultAzureCredential reports CredentialUnavailableException."
                    ),
                )
            };
            report.push(
                code,
                Piece::PodTemplate,
                Some(w),
                message,
                format!(
                    "Add {USE_LABEL}: \"true\" under the pod template's metadata.labels and roll the pods."
                ),
                snippet,
            );
        }
        Some(node) => match node.string() {
            None => report.push(
                FindingCode::AksPodLabelNotString,
                Piece::PodTemplate,
                Some(w),
                format!(
                    "The label {USE_LABEL} is written as an unquoted true, which YAML reads as a boolean; Kubernetes refuses label values that are not strings."
                ),
                "Quote the value: \"true\".".to_owned(),
                snippet,
            ),
            Some("true") => {}
            Some(other) => report.push(
                FindingCode::AksPodLabelNotTrue,
                Piece::PodTemplate,
                Some(w),
                format!(
                    "The label {USE_LABEL} is \"{}\"; the webhook acts only on \"true\".",
                    other.escape_debug()
                ),
                "Set the label to \"true\".".to_owned(),
                snippet,
            ),
        },
    }
}

/// Checks the ServiceAccount's annotations; returns the annotated client id.
fn service_account(t: &Target<'_>, e: &Evidence, report: &mut Report) -> Option<String> {
    let sa = t.sa?;
    let w = t.w;
    let expected = e.identity.as_ref().and_then(|i| i.client_id.clone());
    let annotation = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: \"{}\"\n  namespace: \"{}\"\n  annotations:\n    {CLIENT_ID_ANNOTATION}: \"{value}\"\n",
            sa.name, sa.namespace
        )
    };
    let client_id = match sa.annotation(CLIENT_ID_ANNOTATION) {
        None => {
            let value = expected.as_deref().unwrap_or("<identity client id>");
            report.push(
                FindingCode::AksClientIdMissing,
                Piece::ServiceAccount,
                Some(w),
                format!(
                    "The ServiceAccount {} has no {CLIENT_ID_ANNOTATION} annotation, so the webhook does not know which identity the pods are.",
                    sa.name
                ),
                format!(
                    "Annotate the ServiceAccount with the managed identity's client id (az identity show --query clientId -o tsv): {value}."
                ),
                Some(annotation(value)),
            );
            return None;
        }
        Some(node) => node.text().unwrap_or_default().trim().to_ascii_lowercase(),
    };
    if Guid::parse(&client_id).is_err() {
        report.push(
            FindingCode::AksClientIdInvalid,
            Piece::ServiceAccount,
            Some(w),
            format!(
                "The {CLIENT_ID_ANNOTATION} annotation is not a client id (a GUID such as 00000000-0000-0000-0000-000000000000)."
            ),
            "Put the managed identity's client id (not its name, principal id or resource id) in the annotation.".to_owned(),
            expected.as_deref().map(annotation),
        );
        return None;
    }
    if let Some(expected) = &expected
        && *expected != client_id
    {
        let is_principal =
            e.identity.as_ref().and_then(|i| i.principal_id.as_deref()) == Some(client_id.as_str());
        report.push(
            FindingCode::AksClientIdMismatch,
            Piece::ServiceAccount,
            Some(w),
            if is_principal {
                format!(
                    "The annotation holds the identity's principal (object) id {client_id}; the webhook needs its client id {expected}."
                )
            } else {
                format!(
                    "The annotation names client id {client_id}, but the identity's client id is {expected}: the pod asks Entra for another identity."
                )
            },
            format!("Set {CLIENT_ID_ANNOTATION} to {expected}."),
            Some(annotation(expected)),
        );
    }
    if let Some(node) = sa.annotation(TOKEN_EXPIRATION_ANNOTATION) {
        let seconds = node.text().and_then(|s| s.trim().parse::<u64>().ok());
        if !seconds.is_some_and(|s| (3600..=86400).contains(&s)) {
            report.push(
                FindingCode::AksTokenExpirationOutOfRange,
                Piece::ServiceAccount,
                Some(w),
                format!(
                    "{TOKEN_EXPIRATION_ANNOTATION} must be a number of seconds from 3600 to 86400; the webhook refuses the pod otherwise."
                ),
                "Remove the annotation (the default is 3600) or set it within 3600-86400.".to_owned(),
                None,
            );
        }
    }
    Some(client_id)
}

fn federation(t: &Target<'_>, e: &Evidence, report: &mut Report) {
    let Some(credentials) = &e.credentials else {
        report.not_checked("federated credentials (az identity federated-credential list)");
        return;
    };
    let Some(subject) = t.subject() else {
        return;
    };
    let w = t.w;
    let issuer = e
        .cluster_issuer
        .clone()
        .or_else(|| credentials.first().map(|c| c.issuer.clone()))
        .unwrap_or_default();
    let create = |name: &str| -> Option<String> {
        let identity = e.identity.as_ref()?;
        let command = Command::new(&["az", "identity", "federated-credential", "create"])
            .opt("--name", name)
            .opt("--identity-name", identity.name.clone()?)
            .opt("--resource-group", identity.resource_group.clone()?)
            .opt("--issuer", issuer.clone())
            .opt("--subject", subject.clone())
            .opt("--audiences", AUDIENCE);
        command.render(Shell::Bash).ok()
    };
    let fic_name =
        format!("{}-{}", w.namespace, t.sa_name.clone().unwrap_or_default()).replace('.', "-");
    if credentials.is_empty() {
        report.push(
            FindingCode::AksNoFederatedCredential,
            Piece::Federation,
            Some(w),
            "The managed identity has no federated credential, so Entra trusts no Kubernetes token for it.".to_owned(),
            format!(
                "Create one with issuer {issuer}, subject {subject} and audience {AUDIENCE}."
            ),
            create(&fic_name),
        );
        return;
    }
    let Some(matching) = credentials.iter().find(|c| c.subject == subject) else {
        let subjects = credentials
            .iter()
            .map(|c| c.subject.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        report.push(
            FindingCode::AksFederatedSubjectMismatch,
            Piece::Federation,
            Some(w),
            format!(
                "No federated credential has the subject {subject} the pods' tokens carry (found: {subjects}). Entra answers AADSTS700213."
            ),
            format!(
                "Add a federated credential with subject {subject} (subjects are compared exactly and case-sensitively), or run the pods as the service account the credential names."
            ),
            create(&fic_name),
        );
        return;
    };
    if matching.audiences != [AUDIENCE] {
        report.push(
            FindingCode::AksFederatedAudienceWrong,
            Piece::Federation,
            Some(w),
            format!(
                "The federated credential {} has audiences {:?}; Kubernetes tokens for Azure carry exactly {AUDIENCE}.",
                matching.name, matching.audiences
            ),
            format!("Set its audience to {AUDIENCE} (exactly one audience)."),
            None,
        );
    }
    let on_aks = matching.issuer.contains(".oic.prod-aks.azure.com/")
        || matching.issuer.contains(".oic.prod-aks.azure.us/");
    match &e.cluster_issuer {
        Some(cluster) if *cluster != matching.issuer => {
            let slash_only = cluster.trim_end_matches('/') == matching.issuer.trim_end_matches('/');
            report.push(
                if slash_only {
                    FindingCode::AksFederatedIssuerTrailingSlash
                } else {
                    FindingCode::AksFederatedIssuerMismatch
                },
                Piece::Federation,
                Some(w),
                format!(
                    "The federated credential {} trusts the issuer {}, but the cluster's issuer is {cluster}; Entra compares them exactly (AADSTS700211).",
                    matching.name, matching.issuer
                ),
                format!("Set the credential's issuer to exactly {cluster}."),
                create(&matching.name),
            );
        }
        None if on_aks && !matching.issuer.ends_with('/') => report.push(
            FindingCode::AksFederatedIssuerTrailingSlash,
            Piece::Federation,
            Some(w),
            format!(
                "The federated credential {} trusts {} without the trailing / that AKS issuers end with; Entra compares issuers exactly (AADSTS700211).",
                matching.name, matching.issuer
            ),
            format!("Set the issuer to {}/ (check with az aks show --query oidcIssuerProfile.issuerUrl -o tsv).", matching.issuer),
            None,
        ),
        _ => {}
    }
}

fn vault_role(t: &Target<'_>, e: &Evidence, client_id: Option<&str>, report: &mut Report) {
    let Some(assignments) = &e.assignments else {
        report.not_checked("role on the vault (az role assignment list --scope <vault id>)");
        return;
    };
    let principal = e.identity.as_ref().and_then(|i| i.principal_id.clone());
    if principal.is_none() && client_id.is_none() {
        report.not_checked(
            "role on the vault: give the identity (az identity show) to know its principal",
        );
        return;
    }
    let is_identity = |a: &Assignment| {
        principal.as_deref() == Some(a.principal_id.as_str())
            || client_id == Some(a.principal_name.as_str())
    };
    let granted = assignments
        .iter()
        .any(|a| is_identity(a) && KEY_VAULT_READ_ROLES.contains(&a.role.as_str()));
    if !granted {
        // The list was asked for the vault's scope: an assignment made
        // there names it.
        let vault = assignments
            .iter()
            .find_map(|a| {
                let at = a.scope.find("/providers/Microsoft.KeyVault/vaults/")?;
                let rest = &a.scope[at + "/providers/Microsoft.KeyVault/vaults/".len()..];
                let name_len = rest.find('/').unwrap_or(rest.len());
                Some(
                    a.scope[..at + "/providers/Microsoft.KeyVault/vaults/".len() + name_len]
                        .to_owned(),
                )
            })
            .unwrap_or_else(|| "<vault resource id>".to_owned());
        let assignee = principal.clone().or(client_id.map(str::to_owned));
        let fix = assignee.and_then(|id| {
            let command = Command::new(&["az", "role", "assignment", "create"]);
            let command = if principal.is_some() {
                command
                    .opt("--assignee-object-id", id)
                    .opt("--assignee-principal-type", "ServicePrincipal")
            } else {
                command.opt("--assignee", id)
            };
            command
                .opt("--role", KEY_VAULT_ROLE)
                .opt("--scope", vault.clone())
                .render(Shell::Bash)
                .ok()
        });
        report.push(
            FindingCode::AksNoVaultRole,
            Piece::Permissions,
            Some(t.w),
            format!(
                "The identity holds no role that reads secrets on the vault ({}); Key Vault answers 403 Forbidden (ForbiddenByRbac) even when the token exchange works.",
                KEY_VAULT_READ_ROLES.join(", ")
            ),
            format!(
                "Assign {KEY_VAULT_ROLE} on the vault's resource id (az keyvault show --name <vault> --query id -o tsv) to the identity."
            ),
            fix,
        );
    }
}
