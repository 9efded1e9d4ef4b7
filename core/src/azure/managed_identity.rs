//! The customer-managed identity set-up (recommended): a user-assigned
//! managed identity in the customer's own tenant, with one federated
//! credential that trusts the platform's issuer and this org's subject, and
//! the role on the subscription. The proxy exchanges its assertion for that
//! identity's token by the identity's client id; another org's assertion
//! matches no credential on it.

use super::{
    ManagedIdentity, ValidatedAzureRequest, credential_values, customer_values, role_attribute,
    subject, subscription_scope,
};
use crate::bundle::{self, Bundle, NamedValue, RenderError, hcl_string};
use crate::ids::CloudKind;
use crate::shell::{Command, Commands};

/// `--subscription <id>` when the subscription is known (else az's default).
fn in_subscription(command: Command, v: &ValidatedAzureRequest) -> Command {
    match &v.subscription_id {
        Some(subscription) => command.opt("--subscription", subscription.as_str()),
        None => command,
    }
}

/// `az identity show … --query <field> --output tsv`: one property of the identity.
fn identity_show(v: &ValidatedAzureRequest, identity: &ManagedIdentity, field: &str) -> Command {
    in_subscription(
        Command::new(&["az", "identity", "show"])
            .opt("--name", identity.name.as_str())
            .opt("--resource-group", identity.resource_group.as_str()),
        v,
    )
    .opt("--query", field)
    .opt("--output", "tsv")
}

/// The commands an operator runs in the customer's tenant, in order: the
/// resource group, the identity, its federated credential, the role (once
/// the subscription is known; the principal id is read from the identity
/// created two lines above), and last the client id to paste into step 3.
pub fn commands(v: &ValidatedAzureRequest, identity: &ManagedIdentity) -> Vec<Command> {
    let mut out = vec![
        in_subscription(
            Command::new(&["az", "group", "create"])
                .opt("--name", identity.resource_group.as_str())
                .opt("--location", identity.location.as_str()),
            v,
        ),
        in_subscription(
            Command::new(&["az", "identity", "create"])
                .opt("--name", identity.name.as_str())
                .opt("--resource-group", identity.resource_group.as_str()),
            v,
        ),
        in_subscription(
            Command::new(&["az", "identity", "federated-credential", "create"])
                .opt("--name", v.credential_name.as_str())
                .opt("--identity-name", identity.name.as_str())
                .opt("--resource-group", identity.resource_group.as_str()),
            v,
        )
        .opt("--issuer", v.issuer.as_str())
        .opt("--subject", subject(&v.org_id))
        .opt("--audiences", v.audience.as_str()),
    ];
    if let Some(subscription) = &v.subscription_id {
        out.push(
            Command::new(&["az", "role", "assignment", "create"])
                .opt_output_of(
                    "--assignee-object-id",
                    identity_show(v, identity, "principalId"),
                )
                .opt("--assignee-principal-type", "ServicePrincipal")
                .opt("--role", v.role.as_str())
                .opt("--scope", subscription_scope(subscription)),
        );
    }
    out.push(identity_show(v, identity, "clientId"));
    out
}

fn terraform(v: &ValidatedAzureRequest, identity: &ManagedIdentity) -> String {
    let provider_subscription = v
        .subscription_id
        .as_ref()
        .map(|s| format!("\n  subscription_id = {}", hcl_string(s.as_str())))
        .unwrap_or_default();
    let mut tf = format!(
        r#"terraform {{
  required_providers {{
    azurerm = {{ source = "hashicorp/azurerm", version = "~> 4.0" }}
  }}
}}

provider "azurerm" {{
  features {{}}{provider_subscription}
}}

# In the customer's tenant:
resource "azurerm_resource_group" "alphaswarm" {{
  name     = {resource_group}
  location = {location}
}}

resource "azurerm_user_assigned_identity" "alphaswarm" {{
  name                = {identity}
  resource_group_name = azurerm_resource_group.alphaswarm.name
  location            = azurerm_resource_group.alphaswarm.location
}}

# Trusts AlphaSwarm's issuer for this organisation's subject only.
resource "azurerm_federated_identity_credential" "alphaswarm" {{
  name                = {name}
  resource_group_name = azurerm_resource_group.alphaswarm.name
  parent_id           = azurerm_user_assigned_identity.alphaswarm.id
  audience            = [{audience}]
  issuer              = {issuer}
  subject             = {subject}
}}
"#,
        resource_group = hcl_string(identity.resource_group.as_str()),
        location = hcl_string(identity.location.as_str()),
        identity = hcl_string(identity.name.as_str()),
        name = hcl_string(v.credential_name.as_str()),
        audience = hcl_string(v.audience.as_str()),
        issuer = hcl_string(v.issuer.as_str()),
        subject = hcl_string(&subject(&v.org_id)),
    );
    if let Some(subscription) = &v.subscription_id {
        tf.push_str(&format!(
            r#"
resource "azurerm_role_assignment" "alphaswarm" {{
  scope                = {scope}
  {role_attribute}
  principal_id         = azurerm_user_assigned_identity.alphaswarm.principal_id
  principal_type       = "ServicePrincipal"
}}
"#,
            scope = hcl_string(&subscription_scope(subscription)),
            role_attribute = role_attribute(v, subscription),
        ));
    }
    tf.push_str(
        r#"
output "alphaswarm_client_id" {
  description = "Paste into the AlphaSwarm wizard's step 3 (client id)."
  value       = azurerm_user_assigned_identity.alphaswarm.client_id
}
"#,
    );
    tf
}

/// Renders the customer-managed identity bundle.
pub fn render(
    v: &ValidatedAzureRequest,
    identity: &ManagedIdentity,
) -> Result<Bundle, RenderError> {
    let subject = subject(&v.org_id);
    let mut values = vec![
        NamedValue::new("mode", "Mode", v.mode().as_str()),
        NamedValue::new(
            "identity_name",
            "Managed identity name",
            identity.name.as_str(),
        ),
        NamedValue::new(
            "resource_group",
            "Resource group",
            identity.resource_group.as_str(),
        ),
        NamedValue::new("location", "Location", identity.location.as_str()),
    ];
    values.extend(credential_values(v));
    values.push(NamedValue::new("role", "Role", v.role.as_str()));
    values.extend(customer_values(v));

    let warnings = [
        bundle::shortened_notice("managed identity name", &identity.name_derivation),
        bundle::shortened_notice("federated credential name", &v.credential_name_derivation),
    ]
    .into_iter()
    .flatten()
    .collect();

    let login = match &v.tenant_id {
        Some(tenant) => format!("az login --tenant {tenant}"),
        None => "az login --tenant <your tenant id>".to_owned(),
    };
    let mut notes = vec![
        format!(
            "Run these commands in the customer's tenant ({login}) as a user who may create managed identities and assign roles on the subscription (Owner or User Access Administrator)."
        ),
        format!(
            "The identity trusts AlphaSwarm's issuer for the subject {subject} only, so no other organisation's assertion is accepted; step 3 checks exactly that."
        ),
        "The last command prints the identity's client id: paste it into step 3.".to_owned(),
        "No client secret is created or stored: the federated credential is the only artifact."
            .to_owned(),
    ];
    if v.subscription_id.is_none() {
        notes.push(
            "Give the customer's subscription id to get the role assignment command.".to_owned(),
        );
    }

    Ok(Bundle {
        cloud: CloudKind::Azure,
        org_id: v.org_id.clone(),
        values,
        files: Vec::new(),
        commands: Commands::render(&commands(v, identity))?,
        links: Vec::new(),
        terraform: terraform(v, identity),
        warnings,
        notes,
    })
}
