//! AKS with Azure Workload Identity: a user-assigned managed identity, its
//! federated credential for `system:serviceaccount:<ns>:<sa>` on the
//! cluster's issuer, Key Vault Secrets User on the vault, the annotated
//! ServiceAccount and the `azure.workload.identity/use` pod label.

use super::CloudParts;
use super::ids::ClusterName;
use super::input::{AksSide, ValidatedWorkload};
use super::manifests::{self, Pair};
use crate::azure::ResourceGroupName;
use crate::bundle::{self, File, NamedValue, Notice, hcl_string};
use crate::shell::Command;

/// The audience Entra expects from a Kubernetes service account token.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";
/// The built-in role that reads secret values (data plane), nothing more.
pub const KEY_VAULT_ROLE: &str = "Key Vault Secrets User";
/// Roles that include reading secret values, for diagnosis.
pub const KEY_VAULT_READ_ROLES: [&str; 3] = [
    "Key Vault Secrets User",
    "Key Vault Secrets Officer",
    "Key Vault Administrator",
];
pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
pub const USE_LABEL: &str = "azure.workload.identity/use";
pub const TOKEN_EXPIRATION_ANNOTATION: &str =
    "azure.workload.identity/service-account-token-expiration";
pub const FEDERATED_CREDENTIAL_FILE: &str = "federated_credential.json";

const CLIENT_ID_VAR: &str = "IDENTITY_CLIENT_ID";
const PRINCIPAL_ID_VAR: &str = "IDENTITY_PRINCIPAL_ID";

/// `az aks show ... --query oidcIssuerProfile.issuerUrl`: prints the issuer.
pub fn issuer_command(cluster: &ClusterName, resource_group: &ResourceGroupName) -> Command {
    Command::new(&["az", "aks", "show"])
        .opt("--name", cluster.as_str())
        .opt("--resource-group", resource_group.as_str())
        .opt("--query", "oidcIssuerProfile.issuerUrl")
        .opt("--output", "tsv")
}

/// The vault's resource id: the scope of the role assignment.
pub fn vault_scope(side: &AksSide) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
        side.subscription_id, side.key_vault_resource_group, side.key_vault_name
    )
}

fn identity_show(name: &str, rg: &str, sub: &str, query: &'static str) -> Command {
    Command::new(&["az", "identity", "show"])
        .opt("--name", name)
        .opt("--resource-group", rg)
        .opt("--subscription", sub)
        .opt("--query", query)
        .opt("--output", "tsv")
}

pub(crate) fn parts(v: &ValidatedWorkload, side: &AksSide) -> CloudParts {
    let AksSide {
        subscription_id,
        resource_group,
        key_vault_name,
        identity_name,
        identity_name_derivation,
        credential_name,
        credential_name_derivation,
        identity_client_id,
        ..
    } = side;
    // Validation refuses AKS without an issuer.
    let issuer = v.issuer.as_ref().map(|i| i.as_str()).unwrap_or_default();
    let subject = v.subject();
    let scope = vault_scope(side);
    let (sub, rg, id) = (
        subscription_id.as_str(),
        resource_group.as_str(),
        identity_name.as_str(),
    );

    let mut values = vec![
        NamedValue::new("identity_name", "Managed identity", id),
        NamedValue::new(
            "federated_credential_name",
            "Federated credential",
            credential_name.as_str(),
        ),
        NamedValue::new("issuer", "Cluster OIDC issuer", issuer),
        NamedValue::new("audience", "Audience", AUDIENCE),
        NamedValue::new("role", "Role on the vault", KEY_VAULT_ROLE),
        NamedValue::new("role_scope", "Key Vault", scope.clone()),
        NamedValue::new(
            "vault_url",
            "Vault URL",
            format!("https://{key_vault_name}.vault.azure.net/"),
        ),
    ];
    if let Some(client) = identity_client_id {
        values.push(NamedValue::new(
            "identity_client_id",
            "Identity client id",
            client.as_str(),
        ));
    }

    let mut commands = Vec::new();
    if let Some(cluster) = &v.cluster_name {
        commands.push(issuer_command(cluster, resource_group));
    }
    if identity_client_id.is_none() {
        commands.push(
            Command::new(&["az", "identity", "create"])
                .opt("--name", id)
                .opt("--resource-group", rg)
                .opt("--subscription", sub),
        );
        commands.push(identity_show(id, rg, sub, "clientId").capture_into(CLIENT_ID_VAR));
        commands.push(identity_show(id, rg, sub, "principalId").capture_into(PRINCIPAL_ID_VAR));
    }
    commands.push(
        Command::new(&["az", "identity", "federated-credential", "create"])
            .opt("--name", credential_name.as_str())
            .opt("--identity-name", id)
            .opt("--resource-group", rg)
            .opt("--subscription", sub)
            .opt("--issuer", issuer)
            .opt("--subject", subject.clone())
            .opt("--audiences", AUDIENCE),
    );
    let assignment = Command::new(&["az", "role", "assignment", "create"]);
    let assignment = match identity_client_id {
        Some(client) => assignment.opt("--assignee", client.as_str()),
        // A new identity's service principal may not be visible to Graph
        // yet: name it by object id and type, which needs no lookup.
        None => assignment
            .opt_var("--assignee-object-id", PRINCIPAL_ID_VAR)
            .opt("--assignee-principal-type", "ServicePrincipal"),
    };
    commands.push(
        assignment
            .opt("--role", KEY_VAULT_ROLE)
            .opt("--scope", scope.clone()),
    );

    let annotations: Vec<Pair> = identity_client_id
        .iter()
        .map(|c| (CLIENT_ID_ANNOTATION, c.to_string()))
        .collect();
    let labels: Vec<Pair> = vec![(USE_LABEL, "true".to_owned())];
    let annotate = identity_client_id.is_none().then(|| {
        Command::new(&["kubectl", "annotate", "serviceaccount"])
            .arg(v.service_account.as_str())
            .opt("--namespace", v.namespace.as_str())
            .flag("--overwrite")
            .arg_var("azure.workload.identity/client-id=", CLIENT_ID_VAR)
    });

    let mut files = vec![File::json(
        FEDERATED_CREDENTIAL_FILE,
        &serde_json::json!({
            "name": credential_name.as_str(),
            "issuer": issuer,
            "subject": subject,
            "audiences": [AUDIENCE],
        }),
    )];
    files.extend(manifests::files(v, &annotations, &labels));

    let mut warnings: Vec<Notice> = [
        bundle::shortened_notice("managed identity name", identity_name_derivation),
        bundle::shortened_notice("federated credential name", credential_name_derivation),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !issuer.ends_with('/') {
        warnings.push(Notice::new(
            "issuer_without_trailing_slash",
            format!(
                "AKS reports its issuer with a trailing /, and Entra compares it exactly: check that {issuer} is exactly what az aks show prints."
            ),
        ));
    }

    let mut notes = Vec::new();
    if v.cluster_name.is_some() {
        notes.push(format!(
            "The first command prints the cluster's issuer: it must be exactly {issuer} (trailing / included), or the token exchange fails with AADSTS700211."
        ));
    }
    notes.push(match identity_client_id {
        Some(_) => format!(
            "The identity {id} exists already: its client id is in {} and the role is assigned to it.",
            manifests::SERVICE_ACCOUNT_FILE
        ),
        None => format!(
            "The commands create the identity {id}, keep its client id and principal id in shell variables, and annotate the ServiceAccount with the client id ({CLIENT_ID_ANNOTATION}); run them in one shell session."
        ),
    });
    notes.push(format!(
        "The federated credential trusts tokens for exactly {subject} with audience {AUDIENCE}; another namespace or service account needs its own credential (at most 20 per identity)."
    ));
    notes.push(format!(
        "{KEY_VAULT_ROLE} is a data-plane role: it takes effect when the vault uses Azure RBAC (enableRbacAuthorization); a vault on access policies ignores it and needs an access policy with secret get instead."
    ));
    notes.push(manifests::pod_template_note(v, &labels));
    notes.push(
        "The app needs no change when it uses DefaultAzureCredential (or WorkloadIdentityCredential): the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE into labelled pods.".to_owned(),
    );

    CloudParts {
        values,
        files,
        commands,
        annotate,
        terraform: terraform(v, side, issuer, &subject, &scope),
        warnings,
        notes,
    }
}

fn terraform(
    v: &ValidatedWorkload,
    side: &AksSide,
    issuer: &str,
    subject: &str,
    scope: &str,
) -> String {
    let AksSide {
        resource_group,
        identity_name,
        credential_name,
        identity_client_id,
        ..
    } = side;
    let rg = hcl_string(resource_group.as_str());
    let (identity_block, identity) = match identity_client_id {
        Some(_) => (
            format!(
                "data \"azurerm_user_assigned_identity\" \"workload\" {{\n  name                = {}\n  resource_group_name = {rg}\n}}\n",
                hcl_string(identity_name.as_str())
            ),
            "data.azurerm_user_assigned_identity.workload",
        ),
        None => (
            format!(
                "data \"azurerm_resource_group\" \"workload\" {{\n  name = {rg}\n}}\n\nresource \"azurerm_user_assigned_identity\" \"workload\" {{\n  name                = {}\n  resource_group_name = {rg}\n  location            = data.azurerm_resource_group.workload.location\n}}\n",
                hcl_string(identity_name.as_str())
            ),
            "azurerm_user_assigned_identity.workload",
        ),
    };
    format!(
        r#"terraform {{
  required_providers {{
    azurerm    = {{ source = "hashicorp/azurerm", version = ">= 3.0" }}
    kubernetes = {{ source = "hashicorp/kubernetes", version = ">= 2.0" }}
  }}
}}

{identity_block}
resource "azurerm_federated_identity_credential" "workload" {{
  name                = {credential}
  resource_group_name = {rg}
  parent_id           = {identity}.id
  audience            = [{audience}]
  issuer              = {issuer}
  subject             = {subject}
}}

resource "azurerm_role_assignment" "workload_key_vault" {{
  scope                = {scope}
  role_definition_name = {role}
  principal_id         = {identity}.principal_id
}}

{service_account}"#,
        credential = hcl_string(credential_name.as_str()),
        audience = hcl_string(AUDIENCE),
        issuer = hcl_string(issuer),
        subject = hcl_string(subject),
        scope = hcl_string(scope),
        role = hcl_string(KEY_VAULT_ROLE),
        service_account = manifests::terraform_service_account(
            v,
            &[(CLIENT_ID_ANNOTATION, format!("{identity}.client_id"))]
        ),
    )
}
