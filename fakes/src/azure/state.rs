//! The fake's directory and resource model: tenants, subscriptions,
//! resource groups, app registrations and their service principals,
//! user-assigned managed identities, federated credentials, role
//! assignments and the built-in role definitions they point at.

use alphaswarm_core::baseline::{AzurePermission, azure_action_allowed};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A federated identity credential on an app or a managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    /// Token requests that will still not see this credential (propagation).
    pub unseen_for: u32,
}

#[derive(Debug, Clone)]
pub struct AppRegistration {
    pub object_id: String,
    pub app_id: String,
    pub home_tenant: String,
    pub credentials: Vec<FederatedCredential>,
}

/// A service principal: an app's instance in a tenant (after consent), or
/// a managed identity's.
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    pub object_id: String,
    pub app_id: String,
    pub tenant: String,
}

#[derive(Debug, Clone)]
pub struct ManagedIdentity {
    pub name: String,
    pub resource_group: String,
    pub subscription: String,
    pub tenant: String,
    pub location: String,
    pub client_id: String,
    pub principal_id: String,
    pub credentials: Vec<FederatedCredential>,
}

impl ManagedIdentity {
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

#[derive(Debug, Clone)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub tenant: String,
    pub display_name: String,
    /// `Enabled`, `Disabled`, ...
    pub state: String,
    /// Keyed by lowercase name (ARM names are case-insensitive).
    pub resource_groups: BTreeMap<String, ResourceGroup>,
}

#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub name: String,
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: String,
}

/// A built-in role: Microsoft's id, name and permissions.
pub struct RoleDefinition {
    pub id: &'static str,
    pub name: &'static str,
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
}

/// The built-in roles the fake knows (a subset of Azure's; an unknown role
/// is refused by name, as `az` refuses a role that does not exist).
pub const ROLE_DEFINITIONS: [RoleDefinition; 5] = [
    RoleDefinition {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        actions: &["*/read"],
        not_actions: &[],
    },
    RoleDefinition {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
    },
    RoleDefinition {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        name: "Owner",
        actions: &["*"],
        not_actions: &[],
    },
    RoleDefinition {
        id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name: "User Access Administrator",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: &[],
    },
    RoleDefinition {
        id: "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
        name: "Monitoring Reader",
        actions: &[
            "*/read",
            "Microsoft.OperationalInsights/workspaces/search/action",
            "Microsoft.Support/*",
        ],
        not_actions: &[],
    },
];

pub fn role_by_name_or_id(role: &str) -> Option<&'static RoleDefinition> {
    let guid = role
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(role);
    ROLE_DEFINITIONS
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(role) || r.id.eq_ignore_ascii_case(guid))
}

impl RoleDefinition {
    pub fn permission(&self) -> AzurePermission {
        AzurePermission {
            actions: self.actions.iter().map(|a| (*a).to_owned()).collect(),
            not_actions: self.not_actions.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

/// Where the fake's Entra keeps an issuer's metadata between fetches.
#[derive(Debug, Clone)]
pub struct CachedMetadata {
    pub fetched: SystemTime,
    pub jwks: jsonwebtoken::jwk::JwkSet,
}

/// An assertion the token endpoint saw (its claims, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenAssertion {
    pub tenant: String,
    pub client_id: String,
    pub kid: Option<String>,
    pub alg: String,
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub jti: Option<String>,
    /// The assertion's signature segment: not usable alone, but it lets a
    /// canary test prove the assertion itself never left the proxy elsewhere.
    pub signature: String,
    /// The AADSTS code Entra answered with; `None` when a token was issued.
    pub refused_with: Option<u32>,
}

/// The whole fake cloud.
#[derive(Default)]
pub struct AzureState {
    pub tenants: BTreeMap<String, String>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub apps: Vec<AppRegistration>,
    pub service_principals: Vec<ServicePrincipal>,
    pub identities: Vec<ManagedIdentity>,
    pub role_assignments: Vec<RoleAssignment>,
    /// Added to the real clock (a skewed Entra).
    pub clock_skew_seconds: i64,
    /// How long fetched issuer metadata is reused (0: fetch every time).
    pub metadata_cache: Duration,
    pub metadata: BTreeMap<String, CachedMetadata>,
    /// How many token requests a newly created credential stays invisible.
    pub propagation_requests: u32,
    /// Items per ARM list page.
    pub page_size: usize,
    pub seen: Vec<SeenAssertion>,
    /// Signature segments of the ARM access tokens issued (for canaries).
    pub issued_token_signatures: Vec<String>,
}

impl AzureState {
    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        real + self.clock_skew_seconds
    }

    pub fn subscription_of_scope(&self, scope: &str) -> Option<&Subscription> {
        let id = scope
            .strip_prefix("/subscriptions/")?
            .split('/')
            .next()?
            .to_ascii_lowercase();
        self.subscriptions.get(&id)
    }

    /// A principal (service principal or identity) by object id, in `tenant`.
    pub fn principal_by_object_id(&self, tenant: &str, object_id: &str) -> Option<String> {
        let object_id = object_id.to_ascii_lowercase();
        self.service_principals
            .iter()
            .find(|sp| sp.tenant == tenant && sp.object_id == object_id)
            .map(|sp| sp.object_id.clone())
            .or_else(|| {
                self.identities
                    .iter()
                    .find(|i| i.tenant == tenant && i.principal_id == object_id)
                    .map(|i| i.principal_id.clone())
            })
    }

    /// A principal by the client id in its service principal names.
    pub fn principal_by_app_id(&self, tenant: &str, app_id: &str) -> Option<String> {
        let app_id = app_id.to_ascii_lowercase();
        self.service_principals
            .iter()
            .find(|sp| sp.tenant == tenant && sp.app_id == app_id)
            .map(|sp| sp.object_id.clone())
            .or_else(|| {
                self.identities
                    .iter()
                    .find(|i| i.tenant == tenant && i.client_id == app_id)
                    .map(|i| i.principal_id.clone())
            })
    }

    /// The role assignments of `principal` whose scope covers `scope`.
    fn covering(&self, principal: &str, scope: &str) -> impl Iterator<Item = &RoleAssignment> {
        let scope = scope.to_ascii_lowercase();
        let principal = principal.to_ascii_lowercase();
        self.role_assignments.iter().filter(move |a| {
            let at = a.scope.to_ascii_lowercase();
            a.principal_id == principal
                && (scope == at || scope.starts_with(&format!("{}/", at.trim_end_matches('/'))))
        })
    }

    /// The effective permissions of `principal` at `scope` (ARM's permissions API).
    pub fn permissions(&self, principal: &str, scope: &str) -> Vec<AzurePermission> {
        self.covering(principal, scope)
            .filter_map(|a| role_by_name_or_id(&a.role_definition_id))
            .map(RoleDefinition::permission)
            .collect()
    }

    pub fn allowed(&self, principal: &str, scope: &str, action: &str) -> bool {
        azure_action_allowed(&self.permissions(principal, scope), action)
    }
}

/// A fresh lowercase GUID.
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}
