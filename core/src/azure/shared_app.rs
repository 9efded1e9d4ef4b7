//! The seed's set-up: one AlphaSwarm multi-tenant Entra app carries one
//! federated credential per org (issuer = the platform's OIDC issuer,
//! subject = `org:<org_id>`); the customer consents to the app in their
//! tenant and grants its service principal a role on their subscription.
//! Every consenting tenant trusts every org's credential on the app, so the
//! bundle says plainly that this mode does not isolate tenants.

use super::{
    FEDERATED_CREDENTIAL_FILE, MAX_FEDERATED_CREDENTIALS_PER_APP, SharedApp, ValidatedAzureRequest,
    admin_consent_url, credential_description, subject, subscription_scope,
};
use crate::bundle::{self, Bundle, File, Link, NamedValue, Notice, RenderError, hcl_string};
use crate::ids::CloudKind;
use crate::shell::{Command, Commands};

/// The `federated_credential.json` body (Microsoft Graph's federatedIdentityCredential).
pub fn federated_credential_json(v: &ValidatedAzureRequest) -> serde_json::Value {
    serde_json::json!({
        "name": v.credential_name.as_str(),
        "issuer": v.issuer.as_str(),
        "subject": subject(&v.org_id),
        "description": credential_description(&v.org_id),
        "audiences": [v.audience.as_str()],
    })
}

/// The commands an operator runs, in order. The role assignment needs the
/// customer's subscription and is left out until it is known.
pub fn commands(v: &ValidatedAzureRequest, app: &SharedApp) -> Vec<Command> {
    let mut out = vec![
        Command::new(&["az", "ad", "app", "federated-credential", "create"])
            .opt("--id", app.app_object_id.as_str())
            .opt("--parameters", FEDERATED_CREDENTIAL_FILE),
    ];
    if let Some(subscription) = &v.subscription_id {
        out.push(
            Command::new(&["az", "role", "assignment", "create"])
                .opt("--assignee", app.app_client_id.as_str())
                .opt("--role", v.role.as_str())
                .opt("--scope", subscription_scope(subscription)),
        );
    }
    out
}

fn terraform(v: &ValidatedAzureRequest, app: &SharedApp) -> String {
    // azuread 3.x names the parent `application_id` (2.x used the object id).
    let azurerm = if v.subscription_id.is_some() {
        "\n    azurerm = { source = \"hashicorp/azurerm\", version = \">= 3.0\" }"
    } else {
        ""
    };
    let mut tf = format!(
        r#"terraform {{
  required_providers {{
    azuread = {{ source = "hashicorp/azuread", version = "~> 3.0" }}{azurerm}
  }}
}}

# In AlphaSwarm's tenant (owner of the app):
resource "azuread_application_federated_identity_credential" "alphaswarm" {{
  application_id = {app}
  display_name   = {name}
  description    = {description}
  audiences      = [{audience}]
  issuer         = {issuer}
  subject        = {subject}
}}
"#,
        app = hcl_string(&format!("/applications/{}", app.app_object_id)),
        name = hcl_string(v.credential_name.as_str()),
        description = hcl_string(&credential_description(&v.org_id)),
        audience = hcl_string(v.audience.as_str()),
        issuer = hcl_string(v.issuer.as_str()),
        subject = hcl_string(&subject(&v.org_id)),
    );
    if let Some(subscription) = &v.subscription_id {
        tf.push_str(&format!(
            r#"
# In the customer's tenant, after admin consent created the service principal:
data "azuread_service_principal" "alphaswarm" {{
  client_id = {client}
}}

resource "azurerm_role_assignment" "alphaswarm" {{
  scope                = {scope}
  {role_attribute}
  principal_id         = data.azuread_service_principal.alphaswarm.object_id
}}
"#,
            client = hcl_string(app.app_client_id.as_str()),
            scope = hcl_string(&subscription_scope(subscription)),
            role_attribute = super::role_attribute(v, subscription),
        ));
    }
    tf
}

/// Renders the shared-app bundle.
pub fn render(v: &ValidatedAzureRequest, app: &SharedApp) -> Result<Bundle, RenderError> {
    let subject = subject(&v.org_id);
    let mut values = vec![NamedValue::new("mode", "Mode", v.mode().as_str())];
    values.extend(super::credential_values(v));
    values.extend([
        NamedValue::new(
            "app_client_id",
            "AlphaSwarm app client id",
            app.app_client_id.as_str(),
        ),
        NamedValue::new(
            "app_object_id",
            "AlphaSwarm app object id",
            app.app_object_id.as_str(),
        ),
        NamedValue::new("role", "Role", v.role.as_str()),
    ]);
    values.extend(super::customer_values(v));

    let mut links = Vec::new();
    if let Some(tenant) = &v.tenant_id {
        links.push(Link::new(
            "admin_consent",
            "Grant admin consent to the AlphaSwarm app in your tenant",
            admin_consent_url(tenant, &app.app_client_id),
        ));
    }

    let mut warnings: Vec<Notice> =
        bundle::shortened_notice("federated credential name", &v.credential_name_derivation)
            .into_iter()
            .collect();
    warnings.push(Notice::new(
        "tenant_not_isolated",
        "Shared-app mode does not isolate tenants: every organisation's federated credential sits on the same AlphaSwarm app, so a tenant that consented to it can be reached with any organisation's assertion. Prefer the managed_identity mode, where the identity in your tenant trusts only this organisation.",
    ));
    warnings.push(Notice::new(
        "federated_credential_limit",
        format!(
            "An Entra app holds at most {MAX_FEDERATED_CREDENTIALS_PER_APP} federated credentials. Each organisation uses one (subject {subject}), so one AlphaSwarm app serves at most {MAX_FEDERATED_CREDENTIALS_PER_APP} organisations."
        ),
    ));

    let mut notes = vec![
        format!(
            "Run the federated-credential command in AlphaSwarm's tenant as an owner of the app; it reads {FEDERATED_CREDENTIAL_FILE} from the current directory. The name is immutable; issuer and subject are compared exactly and case-sensitively."
        ),
        "No client secret is created or stored: the federated credential is the only artifact."
            .to_owned(),
    ];
    match (&v.tenant_id, &v.subscription_id) {
        (Some(_), Some(_)) => {}
        (None, _) => notes.push(
            "Give the customer's tenant id to get the admin-consent link; the app needs a service principal in that tenant before a role can be assigned.".to_owned(),
        ),
        (Some(_), None) => notes.push(
            "Give the customer's subscription id to get the role assignment command.".to_owned(),
        ),
    }
    if v.tenant_id.is_some() || v.subscription_id.is_some() {
        notes.push(format!(
            "In the customer's tenant, an administrator opens the admin-consent link (or runs az ad sp create --id {}) so the app gets a service principal, then assigns the role {} at the subscription scope.",
            app.app_client_id, v.role
        ));
    }

    Ok(Bundle {
        cloud: CloudKind::Azure,
        org_id: v.org_id.clone(),
        values,
        files: vec![File::json(
            FEDERATED_CREDENTIAL_FILE,
            &federated_credential_json(v),
        )],
        commands: Commands::render(&commands(v, app))?,
        links,
        terraform: terraform(v, app),
        warnings,
        notes,
    })
}
