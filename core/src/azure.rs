//! Azure: Workload Identity Federation on AlphaSwarm's multi-tenant Entra app.
//!
//! AlphaSwarm's app carries one federated credential per org (issuer = the
//! platform's OIDC issuer, subject = `org:<org_id>`); the customer consents
//! to the app in their tenant and grants its service principal a role on
//! their subscription. No client secret exists anywhere.

use crate::bundle::{self, Bundle, File, Link, NamedValue, Notice, RenderError, hcl_string};
use crate::ids::{Audience, CloudKind, Guid, IdError, IdKind, IssuerUrl, OrgId, check_rule};
use crate::name::{self, DerivedName, NameShape};
use crate::rule::{self, Reason, Rule};
use crate::shell::{Command, Commands};
use crate::validated_string;
use serde::{Deserialize, Serialize};

/// The audience Entra expects in a federated assertion unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The role granted when the request names none: read-only.
pub const DEFAULT_ROLE: &str = "Reader";
/// Entra's limit on federated identity credentials per application.
pub const MAX_FEDERATED_CREDENTIALS_PER_APP: usize = 20;
/// The file the `az ad app federated-credential create` command reads.
pub const FEDERATED_CREDENTIAL_FILE: &str = "federated_credential.json";
/// Prefix of the federated credential name; the org id follows it.
pub const CREDENTIAL_NAME_PREFIX: &str = "alphaswarm-";

/// Entra's federated credential `name`: `^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$`.
pub const FEDERATED_CREDENTIAL_NAME_RULE: Rule = Rule {
    min: 3,
    max: 120,
    allowed: |c| rule::is_alnum(c) || c == '-' || c == '_',
    allowed_desc: "letters, digits, - and _",
    first: Some((rule::is_alnum, "a letter or digit")),
    last: None,
};

validated_string!(
    /// The immutable name of a federated identity credential on an Entra app.
    FederatedCredentialName,
    |s| check_rule(IdKind::FederatedCredentialName, &FEDERATED_CREDENTIAL_NAME_RULE, s)
);

/// Built-in roles offered by name. Read-oriented first; Contributor is
/// allowed for customers who want the broker to change resources. Owner and
/// User Access Administrator are deliberately absent: the broker must never
/// be able to grant itself more.
pub const KNOWN_ROLES: [&str; 8] = [
    "Reader",
    "Security Reader",
    "Monitoring Reader",
    "Cost Management Reader",
    "Billing Reader",
    "Log Analytics Reader",
    "Storage Blob Data Reader",
    "Contributor",
];

validated_string!(
    /// An Azure role: a built-in name from [`KNOWN_ROLES`] or a role
    /// definition GUID (lowercase), e.g. for a custom role.
    AzureRole,
    |s| {
        if KNOWN_ROLES.contains(&s) || (Guid::parse(s).is_ok() && !s.chars().any(|c| c.is_ascii_uppercase())) {
            Ok(())
        } else {
            Err(IdError::new(IdKind::AzureRole, Reason::Format { expected: "a built-in role name (Reader, Security Reader, Monitoring Reader, Cost Management Reader, Billing Reader, Log Analytics Reader, Storage Blob Data Reader, Contributor) or a role definition GUID" }))
        }
    }
);

impl AzureRole {
    /// Accepts a known name in any letter case and a GUID in any case.
    pub fn parse_normalised(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if let Some(known) = KNOWN_ROLES.iter().find(|r| r.eq_ignore_ascii_case(s)) {
            return AzureRole::parse(known);
        }
        AzureRole::parse(&s.to_ascii_lowercase())
    }
    /// Whether this is a role definition id rather than a name.
    pub fn is_definition_id(&self) -> bool {
        Guid::parse(self.as_str()).is_ok()
    }
}

/// Step 2 input as the wizard sends it: raw strings, validated by [`Self::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AzureBootstrapRequest {
    pub org_id: String,
    /// Object id of AlphaSwarm's Entra app (parent of the federated credential).
    pub app_object_id: String,
    /// Client (application) id of the same app; the customer consents to it.
    pub app_client_id: String,
    /// The platform's OIDC issuer, exactly as its discovery document states it.
    pub issuer: String,
    /// Defaults to [`DEFAULT_AUDIENCE`].
    #[serde(default)]
    pub audience: Option<String>,
    /// The customer's tenant; enables the admin-consent link.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The customer's subscription; enables the role assignment.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Defaults to [`DEFAULT_ROLE`].
    #[serde(default)]
    pub role: Option<String>,
}

/// A request whose every value passed its rule; the only input of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAzureRequest {
    pub org_id: OrgId,
    pub app_object_id: Guid,
    pub app_client_id: Guid,
    pub issuer: IssuerUrl,
    pub audience: Audience,
    pub tenant_id: Option<Guid>,
    pub subscription_id: Option<Guid>,
    pub role: AzureRole,
    pub credential_name: FederatedCredentialName,
    /// How the credential name was derived (shortened or not).
    pub credential_name_derivation: DerivedName,
}

/// `None` for an absent or blank optional field: forms send "" for "not given".
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

fn guid_field(value: &str, field: &'static str) -> Result<Guid, RenderError> {
    // Pasted ids often carry surrounding whitespace; the GUID itself never does.
    Ok(Guid::parse_normalised(value.trim()).map_err(|e| e.at(field))?)
}

impl AzureBootstrapRequest {
    pub fn validate(&self) -> Result<ValidatedAzureRequest, RenderError> {
        let org_id = OrgId::parse(&self.org_id).map_err(|e| e.at("org_id"))?;
        let app_object_id = guid_field(&self.app_object_id, "app_object_id")?;
        let app_client_id = guid_field(&self.app_client_id, "app_client_id")?;
        // Entra compares issuer and audience exactly: no trimming, no case folding.
        let issuer = IssuerUrl::parse(&self.issuer).map_err(|e| e.at("issuer"))?;
        let audience = match self.audience.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Audience::parse(a).map_err(|e| e.at("audience"))?,
            None => Audience::parse(DEFAULT_AUDIENCE)?,
        };
        let tenant_id = given(&self.tenant_id)
            .map(|t| guid_field(t, "tenant_id"))
            .transpose()?;
        let subscription_id = given(&self.subscription_id)
            .map(|s| guid_field(s, "subscription_id"))
            .transpose()?;
        let role = AzureRole::parse_normalised(given(&self.role).unwrap_or(DEFAULT_ROLE))
            .map_err(|e| e.at("role"))?;
        let credential_name_derivation = credential_name(&org_id);
        let credential_name = FederatedCredentialName::parse(&credential_name_derivation.value)?;
        Ok(ValidatedAzureRequest {
            org_id,
            app_object_id,
            app_client_id,
            issuer,
            audience,
            tenant_id,
            subscription_id,
            role,
            credential_name,
            credential_name_derivation,
        })
    }
}

/// `alphaswarm-<org_id>`, shortened only if Entra's name rule refused it.
pub fn credential_name(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: CREDENTIAL_NAME_PREFIX,
            suffix: "",
            rule: &FEDERATED_CREDENTIAL_NAME_RULE,
            sanitise: name::sanitise_alnum_dash,
        },
        org,
    )
}

/// The subject the platform's OIDC tokens for this org carry.
pub fn subject(org: &OrgId) -> String {
    org.purpose()
}

/// `/subscriptions/<id>`: the scope of the role assignment.
pub fn subscription_scope(subscription: &Guid) -> String {
    format!("/subscriptions/{subscription}")
}

/// `https://login.microsoftonline.com/<tenant>/adminconsent?client_id=<client>`.
pub fn admin_consent_url(tenant: &Guid, client: &Guid) -> String {
    format!("https://login.microsoftonline.com/{tenant}/adminconsent?client_id={client}")
}

fn credential_description(org: &OrgId) -> String {
    format!("AlphaSwarm broker access for organisation {org}")
}

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
pub fn commands(v: &ValidatedAzureRequest) -> Vec<Command> {
    let mut out = vec![
        Command::new(&["az", "ad", "app", "federated-credential", "create"])
            .opt("--id", v.app_object_id.as_str())
            .opt("--parameters", FEDERATED_CREDENTIAL_FILE),
    ];
    if let Some(subscription) = &v.subscription_id {
        out.push(
            Command::new(&["az", "role", "assignment", "create"])
                .opt("--assignee", v.app_client_id.as_str())
                .opt("--role", v.role.as_str())
                .opt("--scope", subscription_scope(subscription)),
        );
    }
    out
}

fn terraform(v: &ValidatedAzureRequest) -> Result<String, RenderError> {
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
        app = hcl_string(&format!("/applications/{}", v.app_object_id)),
        name = hcl_string(v.credential_name.as_str()),
        description = hcl_string(&credential_description(&v.org_id)),
        audience = hcl_string(v.audience.as_str()),
        issuer = hcl_string(v.issuer.as_str()),
        subject = hcl_string(&subject(&v.org_id)),
    );
    if let Some(subscription) = &v.subscription_id {
        let role_attribute = if v.role.is_definition_id() {
            format!(
                "role_definition_id   = {}",
                hcl_string(&format!(
                    "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                    subscription_scope(subscription),
                    v.role
                ))
            )
        } else {
            format!("role_definition_name = {}", hcl_string(v.role.as_str()))
        };
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
            client = hcl_string(v.app_client_id.as_str()),
            scope = hcl_string(&subscription_scope(subscription)),
        ));
    }
    Ok(tf)
}

/// Renders the Azure bundle for a validated request.
pub fn render_validated(v: &ValidatedAzureRequest) -> Result<Bundle, RenderError> {
    let subject = subject(&v.org_id);
    let mut values = vec![
        NamedValue::new(
            "federated_credential_name",
            "Federated credential name",
            v.credential_name.as_str(),
        ),
        NamedValue::new("issuer", "Issuer", v.issuer.as_str()),
        NamedValue::new("subject", "Subject", subject.clone()),
        NamedValue::new("audience", "Audience", v.audience.as_str()),
        NamedValue::new(
            "app_client_id",
            "AlphaSwarm app client id",
            v.app_client_id.as_str(),
        ),
        NamedValue::new(
            "app_object_id",
            "AlphaSwarm app object id",
            v.app_object_id.as_str(),
        ),
        NamedValue::new("role", "Role", v.role.as_str()),
    ];
    if let Some(tenant) = &v.tenant_id {
        values.push(NamedValue::new("tenant_id", "Tenant id", tenant.as_str()));
    }
    if let Some(subscription) = &v.subscription_id {
        values.push(NamedValue::new(
            "subscription_id",
            "Subscription id",
            subscription.as_str(),
        ));
        values.push(NamedValue::new(
            "role_scope",
            "Role scope",
            subscription_scope(subscription),
        ));
    }

    let mut links = Vec::new();
    if let Some(tenant) = &v.tenant_id {
        links.push(Link::new(
            "admin_consent",
            "Grant admin consent to the AlphaSwarm app in your tenant",
            admin_consent_url(tenant, &v.app_client_id),
        ));
    }

    let mut warnings: Vec<Notice> =
        bundle::shortened_notice("federated credential name", &v.credential_name_derivation)
            .into_iter()
            .collect();
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
            v.app_client_id, v.role
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
        commands: Commands::render(&commands(v))?,
        links,
        terraform: terraform(v)?,
        warnings,
        notes,
    })
}

/// Validates the request and renders its bundle.
pub fn render(req: &AzureBootstrapRequest) -> Result<Bundle, RenderError> {
    render_validated(&req.validate()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    fn request() -> AzureBootstrapRequest {
        AzureBootstrapRequest {
            org_id: "org-acme".into(),
            app_object_id: "11111111-2222-3333-4444-555555555555".into(),
            app_client_id: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE".into(),
            issuer: "https://alpha-swarm.ai/oidc/".into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_normalisation() {
        let v = request().validate().unwrap();
        assert_eq!(v.audience.as_str(), DEFAULT_AUDIENCE);
        assert_eq!(v.role.as_str(), "Reader");
        assert_eq!(
            v.app_client_id.as_str(),
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        );
        assert_eq!(v.credential_name.as_str(), "alphaswarm-org-acme");
        assert!(v.tenant_id.is_none());
    }

    #[test]
    fn roles_by_name_in_any_case_or_by_guid() {
        assert_eq!(
            AzureRole::parse_normalised("security reader")
                .unwrap()
                .as_str(),
            "Security Reader"
        );
        let id = AzureRole::parse_normalised("ACDD72A7-3385-48EF-BD42-F606FBA81AE7").unwrap();
        assert!(id.is_definition_id());
        assert_eq!(id.as_str(), "acdd72a7-3385-48ef-bd42-f606fba81ae7");
        for refused in ["Owner", "User Access Administrator", "Reader; rm -rf /", ""] {
            assert_eq!(
                AzureRole::parse_normalised(refused).unwrap_err().code(),
                "invalid_azure_role"
            );
        }
    }

    #[test]
    fn errors_name_the_field() {
        let mut r = request();
        r.tenant_id = Some("not-a-guid".into());
        let e = r.validate().unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_guid", Some("tenant_id")));
        let mut r = request();
        r.issuer = "http://alpha-swarm.ai/oidc/".into();
        assert_eq!(r.validate().unwrap_err().field(), Some("issuer"));
    }

    #[test]
    fn subject_fits_entra_and_every_name_fits_the_rule() {
        let longest = OrgId::parse(&"a".repeat(64)).unwrap();
        assert!(subject(&longest).len() <= 600);
        for org in [OrgId::platform(), longest, OrgId::parse("a").unwrap()] {
            assert!(FEDERATED_CREDENTIAL_NAME_RULE.accepts(&credential_name(&org).value));
        }
    }

    #[test]
    fn blank_optionals_are_absent() {
        let mut r = request();
        r.tenant_id = Some("  ".into());
        r.role = Some(String::new());
        r.audience = Some(String::new());
        let v = r.validate().unwrap();
        assert!(v.tenant_id.is_none());
        assert_eq!(v.role.as_str(), DEFAULT_ROLE);
        assert_eq!(v.audience.as_str(), DEFAULT_AUDIENCE);
    }
}
