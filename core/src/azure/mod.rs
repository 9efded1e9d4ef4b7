//! Azure: Workload Identity Federation, in one of two set-ups.
//!
//! - **Customer-managed identity** ([`AzureMode::ManagedIdentity`], the
//!   default and the recommendation): the customer creates a user-assigned
//!   managed identity in their own tenant whose one federated credential
//!   trusts the platform's OIDC issuer and *this* org's subject, and grants
//!   it the role. Another org's assertion matches no credential on it, so
//!   tenants are isolated (step 3 proves it with an assertion for another
//!   subject). See [`managed_identity`].
//! - **Shared app** ([`AzureMode::SharedApp`], the seed's set-up): AlphaSwarm's
//!   multi-tenant Entra app carries one federated credential per org; the
//!   customer consents to the app and grants its service principal the
//!   role. Every consenting tenant trusts every org's credential on that
//!   app, so this mode cannot isolate tenants. See [`shared_app`].
//!
//! No client secret exists anywhere in either mode.

pub mod managed_identity;
pub mod shared_app;

use crate::bundle::{Bundle, NamedValue, RenderError, hcl_string};
use crate::ids::{Audience, Guid, IdError, IdKind, IssuerUrl, OrgId, check_rule};
use crate::name::{self, DerivedName, NameShape};
use crate::rule::{self, Reason, Rule};
use crate::shell::Command;
use crate::validated_string;
use serde::{Deserialize, Serialize};

/// The audience Entra expects in a federated assertion unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The role granted when the request names none: read-only.
pub const DEFAULT_ROLE: &str = "Reader";
/// Entra's limit on federated identity credentials per application (and per identity).
pub const MAX_FEDERATED_CREDENTIALS_PER_APP: usize = 20;
/// The file the `az ad app federated-credential create` command reads.
pub const FEDERATED_CREDENTIAL_FILE: &str = "federated_credential.json";
/// Prefix of the federated credential name; the org id follows it.
pub const CREDENTIAL_NAME_PREFIX: &str = "alphaswarm-";
/// Prefix of the managed identity's name; the org id follows it.
pub const IDENTITY_NAME_PREFIX: &str = "alphaswarm-";
/// The resource group the managed identity lives in unless the request names one.
pub const DEFAULT_RESOURCE_GROUP: &str = "alphaswarm-broker";
/// Where that resource group is created unless the request names a location.
pub const DEFAULT_LOCATION: &str = "eastus";
/// The scope of the token the proxy asks Entra for: Azure Resource Manager.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// Entra's federated credential `name`: `^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$`.
pub const FEDERATED_CREDENTIAL_NAME_RULE: Rule = Rule {
    min: 3,
    max: 120,
    allowed: |c| rule::is_alnum(c) || c == '-' || c == '_',
    allowed_desc: "letters, digits, - and _",
    first: Some((rule::is_alnum, "a letter or digit")),
    last: None,
};

/// A user-assigned managed identity's name: 3-128 of letters, digits, `-`, `_`.
pub const MANAGED_IDENTITY_NAME_RULE: Rule = Rule {
    max: 128,
    ..FEDERATED_CREDENTIAL_NAME_RULE
};

/// A resource group name (ARM: 1-90 of letters, digits, `-_.()`, not ending
/// in `.`). ARM also allows non-ASCII letters and a leading `-` or `.`; the
/// rendered commands do not (az would read `--name -x` as two flags).
pub const RESOURCE_GROUP_RULE: Rule = Rule {
    min: 1,
    max: 90,
    allowed: |c| rule::is_alnum(c) || "-_.()".contains(c),
    allowed_desc: "letters, digits, - _ . ( and )",
    first: Some((
        |c| rule::is_alnum(c) || c == '_' || c == '(',
        "a letter, digit, '_' or '('",
    )),
    last: Some((|c| c != '.', "anything but '.'")),
};

/// An Azure location's programmatic name, e.g. `eastus`, `westeurope`.
pub const LOCATION_RULE: Rule = Rule {
    min: 2,
    max: 40,
    allowed: rule::is_lower_alnum,
    allowed_desc: "lowercase letters and digits",
    first: Some((|c| c.is_ascii_lowercase(), "a lowercase letter")),
    last: None,
};

validated_string!(
    /// The immutable name of a federated identity credential on an Entra app
    /// or a managed identity.
    FederatedCredentialName,
    |s| check_rule(IdKind::FederatedCredentialName, &FEDERATED_CREDENTIAL_NAME_RULE, s)
);

validated_string!(
    /// The name of the customer's user-assigned managed identity.
    ManagedIdentityName,
    |s| check_rule(IdKind::ManagedIdentityName, &MANAGED_IDENTITY_NAME_RULE, s)
);

validated_string!(
    /// An Azure resource group name.
    ResourceGroupName,
    |s| check_rule(IdKind::AzureResourceGroup, &RESOURCE_GROUP_RULE, s)
);

validated_string!(
    /// An Azure location (region) name.
    AzureLocation,
    |s| check_rule(IdKind::AzureLocation, &LOCATION_RULE, s)
);

impl AzureLocation {
    /// Accepts the display form too: `East US` is `eastus`.
    pub fn parse_normalised(s: &str) -> Result<Self, IdError> {
        let name: String = s
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        AzureLocation::parse(&name)
    }
}

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

/// How the customer's tenant trusts AlphaSwarm (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum AzureMode {
    /// A user-assigned managed identity in the customer's tenant (recommended).
    #[default]
    ManagedIdentity,
    /// AlphaSwarm's multi-tenant app; does not isolate tenants.
    SharedApp,
}

impl AzureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AzureMode::ManagedIdentity => "managed_identity",
            AzureMode::SharedApp => "shared_app",
        }
    }
}

impl std::fmt::Display for AzureMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Step 2 input as the wizard sends it: raw strings, validated by [`Self::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AzureBootstrapRequest {
    pub org_id: String,
    /// Defaults to [`AzureMode::ManagedIdentity`].
    #[serde(default)]
    pub mode: Option<AzureMode>,
    /// Shared app only: object id of AlphaSwarm's Entra app (parent of the
    /// federated credential).
    #[serde(default)]
    pub app_object_id: String,
    /// Shared app only: client (application) id of the same app; the
    /// customer consents to it.
    #[serde(default)]
    pub app_client_id: String,
    /// The platform's OIDC issuer, exactly as its discovery document states it.
    pub issuer: String,
    /// Defaults to [`DEFAULT_AUDIENCE`].
    #[serde(default)]
    pub audience: Option<String>,
    /// The customer's tenant; enables the admin-consent link (shared app).
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The customer's subscription; enables the role assignment.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Defaults to [`DEFAULT_ROLE`].
    #[serde(default)]
    pub role: Option<String>,
    /// Managed identity only: its resource group (default [`DEFAULT_RESOURCE_GROUP`]).
    #[serde(default)]
    pub resource_group: Option<String>,
    /// Managed identity only: the resource group's location (default [`DEFAULT_LOCATION`]).
    #[serde(default)]
    pub location: Option<String>,
}

/// The mode-specific half of a validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzureSetup {
    SharedApp(SharedApp),
    ManagedIdentity(ManagedIdentity),
}

/// AlphaSwarm's multi-tenant app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedApp {
    pub app_object_id: Guid,
    pub app_client_id: Guid,
}

/// The customer's user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentity {
    pub name: ManagedIdentityName,
    /// How the identity name was derived (shortened or not).
    pub name_derivation: DerivedName,
    pub resource_group: ResourceGroupName,
    pub location: AzureLocation,
}

/// A request whose every value passed its rule; the only input of rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAzureRequest {
    pub org_id: OrgId,
    pub issuer: IssuerUrl,
    pub audience: Audience,
    pub tenant_id: Option<Guid>,
    pub subscription_id: Option<Guid>,
    pub role: AzureRole,
    pub credential_name: FederatedCredentialName,
    /// How the credential name was derived (shortened or not).
    pub credential_name_derivation: DerivedName,
    pub setup: AzureSetup,
}

impl ValidatedAzureRequest {
    pub fn mode(&self) -> AzureMode {
        match self.setup {
            AzureSetup::SharedApp(_) => AzureMode::SharedApp,
            AzureSetup::ManagedIdentity(_) => AzureMode::ManagedIdentity,
        }
    }
}

/// `None` for an absent or blank optional field: forms send "" for "not given".
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

fn guid_field(value: &str, field: &'static str) -> Result<Guid, RenderError> {
    // Pasted ids often carry surrounding whitespace; the GUID itself never does.
    Ok(Guid::parse_normalised(value.trim()).map_err(|e| e.at(field))?)
}

fn required_guid(value: &str, field: &'static str) -> Result<Guid, RenderError> {
    if value.trim().is_empty() {
        return Err(RenderError::Missing { field });
    }
    guid_field(value, field)
}

impl AzureBootstrapRequest {
    pub fn validate(&self) -> Result<ValidatedAzureRequest, RenderError> {
        let org_id = OrgId::parse(&self.org_id).map_err(|e| e.at("org_id"))?;
        let mode = self.mode.unwrap_or_default();
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
        let setup = match mode {
            AzureMode::SharedApp => AzureSetup::SharedApp(SharedApp {
                app_object_id: required_guid(&self.app_object_id, "app_object_id")?,
                app_client_id: required_guid(&self.app_client_id, "app_client_id")?,
            }),
            AzureMode::ManagedIdentity => {
                let name_derivation = identity_name(&org_id);
                AzureSetup::ManagedIdentity(ManagedIdentity {
                    name: ManagedIdentityName::parse(&name_derivation.value)?,
                    name_derivation,
                    resource_group: ResourceGroupName::parse(
                        given(&self.resource_group).map_or(DEFAULT_RESOURCE_GROUP, str::trim),
                    )
                    .map_err(|e| e.at("resource_group"))?,
                    location: AzureLocation::parse_normalised(
                        given(&self.location).unwrap_or(DEFAULT_LOCATION),
                    )
                    .map_err(|e| e.at("location"))?,
                })
            }
        };
        Ok(ValidatedAzureRequest {
            org_id,
            issuer,
            audience,
            tenant_id,
            subscription_id,
            role,
            credential_name,
            credential_name_derivation,
            setup,
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

/// `alphaswarm-<org_id>`: the customer's managed identity for this org.
pub fn identity_name(org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: IDENTITY_NAME_PREFIX,
            suffix: "",
            rule: &MANAGED_IDENTITY_NAME_RULE,
            sanitise: name::sanitise_alnum_dash,
        },
        org,
    )
}

/// The subject the platform's OIDC assertions for this org carry.
pub fn subject(org: &OrgId) -> String {
    org.purpose()
}

/// The subject of step 3's isolation probe: one no organisation can have
/// (org ids never contain `:`), so an identity that accepts it trusts more
/// than this org's subject.
pub fn isolation_probe_subject(org: &OrgId) -> String {
    format!("{}:isolation-probe", subject(org))
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

/// The command that grants `role` to a principal (by object id) on a
/// subscription: step 4's fix for a missing role.
pub fn role_assignment_fix(principal_object_id: &Guid, role: &str, subscription: &Guid) -> Command {
    Command::new(&["az", "role", "assignment", "create"])
        .opt("--assignee-object-id", principal_object_id.as_str())
        .opt("--assignee-principal-type", "ServicePrincipal")
        .opt("--role", role)
        .opt("--scope", subscription_scope(subscription))
}

/// The federated credential's values both bundles show.
fn credential_values(v: &ValidatedAzureRequest) -> Vec<NamedValue> {
    vec![
        NamedValue::new(
            "federated_credential_name",
            "Federated credential name",
            v.credential_name.as_str(),
        ),
        NamedValue::new("issuer", "Issuer", v.issuer.as_str()),
        NamedValue::new("subject", "Subject", subject(&v.org_id)),
        NamedValue::new("audience", "Audience", v.audience.as_str()),
    ]
}

/// The customer-side values both bundles show: tenant, subscription, scope.
fn customer_values(v: &ValidatedAzureRequest) -> Vec<NamedValue> {
    let mut values = Vec::new();
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
    values
}

/// The role line of an `azurerm_role_assignment`: by name, or by definition id.
fn role_attribute(v: &ValidatedAzureRequest, subscription: &Guid) -> String {
    if v.role.is_definition_id() {
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
    }
}

/// Steps 3-5 input as the wizard sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AzureConnectionRequest {
    /// Defaults to [`AzureMode::ManagedIdentity`].
    #[serde(default)]
    pub mode: Option<AzureMode>,
    pub tenant_id: String,
    pub subscription_id: String,
    /// The customer identity's client id; required in managed-identity mode.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// A connection request whose ids are GUIDs (lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedAzureConnection {
    pub mode: AzureMode,
    pub tenant_id: Guid,
    pub subscription_id: Guid,
    /// Always present in managed-identity mode; whatever was given otherwise.
    pub client_id: Option<Guid>,
}

impl ValidatedAzureConnection {
    /// The request in its normalised form (mode filled in, GUIDs lowercase).
    pub fn to_request(&self) -> AzureConnectionRequest {
        AzureConnectionRequest {
            mode: Some(self.mode),
            tenant_id: self.tenant_id.to_string(),
            subscription_id: self.subscription_id.to_string(),
            client_id: self.client_id.as_ref().map(ToString::to_string),
        }
    }
}

impl AzureConnectionRequest {
    pub fn validate(&self) -> Result<ValidatedAzureConnection, RenderError> {
        let mode = self.mode.unwrap_or_default();
        let tenant_id = required_guid(&self.tenant_id, "tenant_id")?;
        let subscription_id = required_guid(&self.subscription_id, "subscription_id")?;
        let client_id = match (mode, given(&self.client_id)) {
            (_, Some(c)) => Some(guid_field(c, "client_id")?),
            (AzureMode::ManagedIdentity, None) => {
                return Err(RenderError::Missing { field: "client_id" });
            }
            (AzureMode::SharedApp, None) => None,
        };
        Ok(ValidatedAzureConnection {
            mode,
            tenant_id,
            subscription_id,
            client_id,
        })
    }
}

/// Renders the Azure bundle for a validated request.
pub fn render_validated(v: &ValidatedAzureRequest) -> Result<Bundle, RenderError> {
    match &v.setup {
        AzureSetup::SharedApp(app) => shared_app::render(v, app),
        AzureSetup::ManagedIdentity(identity) => managed_identity::render(v, identity),
    }
}

/// The commands an operator runs, in order, for either mode.
pub fn commands(v: &ValidatedAzureRequest) -> Vec<Command> {
    match &v.setup {
        AzureSetup::SharedApp(app) => shared_app::commands(v, app),
        AzureSetup::ManagedIdentity(identity) => managed_identity::commands(v, identity),
    }
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
            mode: Some(AzureMode::SharedApp),
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
        let AzureSetup::SharedApp(app) = &v.setup else {
            panic!("shared app");
        };
        assert_eq!(
            app.app_client_id.as_str(),
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        );
        assert_eq!(v.credential_name.as_str(), "alphaswarm-org-acme");
        assert!(v.tenant_id.is_none());
    }

    #[test]
    fn managed_identity_is_the_default_and_needs_no_app() {
        let v = AzureBootstrapRequest {
            org_id: "org-acme".into(),
            issuer: "https://alpha-swarm.ai/oidc/".into(),
            location: Some("West Europe".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(v.mode(), AzureMode::ManagedIdentity);
        let AzureSetup::ManagedIdentity(identity) = &v.setup else {
            panic!("managed identity");
        };
        assert_eq!(identity.name.as_str(), "alphaswarm-org-acme");
        assert_eq!(identity.resource_group.as_str(), DEFAULT_RESOURCE_GROUP);
        assert_eq!(identity.location.as_str(), "westeurope");
    }

    #[test]
    fn shared_app_needs_both_app_ids() {
        let mut r = request();
        r.app_object_id = String::new();
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("missing_field", Some("app_object_id"))
        );
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
        let mut r = request();
        r.mode = Some(AzureMode::ManagedIdentity);
        r.resource_group = Some("rg.".into());
        assert_eq!(r.validate().unwrap_err().field(), Some("resource_group"));
        r.resource_group = None;
        r.location = Some("east-us".into());
        let e = r.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_azure_location", Some("location"))
        );
    }

    #[test]
    fn a_loopback_http_issuer_is_accepted_for_local_runs_only() {
        for ok in [
            "http://127.0.0.1:8787/oidc/",
            "http://localhost/oidc/",
            "http://127.0.0.1",
        ] {
            let v = AzureBootstrapRequest {
                issuer: ok.into(),
                ..request()
            };
            assert!(v.validate().is_ok(), "{ok}");
            assert!(IssuerUrl::parse(ok).unwrap().is_loopback_http());
        }
        for refused in [
            "http://alpha-swarm.ai/oidc/",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "http://10.0.0.1/oidc/",
        ] {
            assert!(IssuerUrl::parse(refused).is_err(), "{refused}");
        }
        assert!(
            !IssuerUrl::parse("https://alpha-swarm.ai/oidc/")
                .unwrap()
                .is_loopback_http()
        );
    }

    #[test]
    fn subject_fits_entra_and_every_name_fits_the_rule() {
        let longest = OrgId::parse(&"a".repeat(64)).unwrap();
        assert!(subject(&longest).len() <= 600);
        assert!(isolation_probe_subject(&longest).len() <= 600);
        for org in [OrgId::platform(), longest, OrgId::parse("a").unwrap()] {
            assert!(FEDERATED_CREDENTIAL_NAME_RULE.accepts(&credential_name(&org).value));
            assert!(MANAGED_IDENTITY_NAME_RULE.accepts(&identity_name(&org).value));
            assert_ne!(isolation_probe_subject(&org), subject(&org));
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

    #[test]
    fn connection_requests_validate_guids_and_the_client_id() {
        let ok = AzureConnectionRequest {
            mode: None,
            tenant_id: " 72F988BF-86F1-41AF-91AB-2D7CD011DB47 ".into(),
            subscription_id: "00000000-1111-2222-3333-444444444444".into(),
            client_id: Some("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d".into()),
        };
        let v = ok.validate().unwrap();
        assert_eq!(v.mode, AzureMode::ManagedIdentity);
        assert_eq!(v.tenant_id.as_str(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        let normalised = v.to_request();
        assert_eq!(normalised.mode, Some(AzureMode::ManagedIdentity));
        assert_eq!(normalised.validate().unwrap(), v);
        let no_client = AzureConnectionRequest {
            client_id: Some(" ".into()),
            ..ok.clone()
        };
        let e = no_client.validate().unwrap_err();
        assert_eq!((e.code(), e.field()), ("missing_field", Some("client_id")));
        let shared = AzureConnectionRequest {
            mode: Some(AzureMode::SharedApp),
            ..no_client
        };
        assert!(shared.validate().unwrap().client_id.is_none());
        let bad = AzureConnectionRequest {
            subscription_id: "sub".into(),
            ..ok
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("invalid_guid", Some("subscription_id"))
        );
    }
}
