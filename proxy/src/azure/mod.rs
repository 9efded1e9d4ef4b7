//! Azure calls behind [`AzureApi`] so the wizard's provider never sees HTTP.
//!
//! The real implementation, [`RestClient`], speaks Entra's token endpoint
//! (client credentials with a federated `client_assertion`) and Azure
//! Resource Manager's REST API over reqwest; tests point both at the
//! loopback fake in `alphaswarm-fakes` (module `azure`) through
//! [`LOGIN_ENDPOINT_URL`] and [`ARM_ENDPOINT_URL`]. Failures are
//! [`AzureError`]s: Entra's AADSTS codes and ARM's error codes, parsed, and
//! classified into stable codes with hints by [`AzureError::to_api_error`].
//! Raw upstream bodies never leave this module; access tokens and
//! assertions are never logged, printed or serialised.

mod client;
mod error;

pub use client::RestClient;
pub use error::{AzureError, ExchangeContext, Service};

use crate::config::ConfigError;
use alphaswarm_core::azure::DEFAULT_AUDIENCE;
use alphaswarm_core::baseline::AzurePermission;
use alphaswarm_core::ids::{Audience, Guid};
use async_trait::async_trait;
use serde::Serialize;
use std::time::Duration;

pub const LOGIN_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL";
pub const ARM_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_AZURE_ARM_ENDPOINT_URL";
pub const AUDIENCE: &str = "ALPHASWARM_ADMIN_AZURE_AUDIENCE";
pub const APP_CLIENT_ID: &str = "ALPHASWARM_ADMIN_AZURE_APP_CLIENT_ID";
pub const APP_OBJECT_ID: &str = "ALPHASWARM_ADMIN_AZURE_APP_OBJECT_ID";
pub const SETTLE_SECONDS: &str = "ALPHASWARM_ADMIN_AZURE_SETTLE_SECONDS";

pub const DEFAULT_LOGIN_ENDPOINT: &str = "https://login.microsoftonline.com";
pub const DEFAULT_ARM_ENDPOINT: &str = "https://management.azure.com";

/// AlphaSwarm's multi-tenant Entra app (shared-app mode only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedAppIds {
    pub client_id: Guid,
    pub object_id: Guid,
}

#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// Base URLs without a trailing `/`.
    pub login_endpoint: String,
    pub arm_endpoint: String,
    pub audience: Audience,
    pub shared_app: Option<SharedAppIds>,
    /// How long step 3 retries while a new federated credential propagates.
    pub settle: Duration,
}

/// An endpoint override: https, or (outside production) plain http; the
/// same rule as the account integrations' endpoints.
fn endpoint(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
    production: bool,
) -> Result<String, ConfigError> {
    let raw = get(var).unwrap_or_else(|| default.to_owned());
    crate::accounts::checked_endpoint(&raw, production)
        .map_err(|why| ConfigError::Invalid { var, why })
}

fn guid(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<Guid>, ConfigError> {
    get(var)
        .map(|v| {
            Guid::parse_normalised(v.trim()).map_err(|_| ConfigError::Invalid {
                var,
                why: "use the GUID from the app registration's overview page".into(),
            })
        })
        .transpose()
}

impl AzureConfig {
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<Self, ConfigError> {
        let audience = match get(AUDIENCE) {
            Some(a) => Audience::parse(a.trim()).map_err(|_| ConfigError::Invalid {
                var: AUDIENCE,
                why:
                    "use the audience of the federated credentials, e.g. api://AzureADTokenExchange"
                        .into(),
            })?,
            None => Audience::parse(DEFAULT_AUDIENCE).map_err(|_| ConfigError::Invalid {
                var: AUDIENCE,
                why: "the default audience is invalid".into(),
            })?,
        };
        let shared_app = match (guid(&get, APP_CLIENT_ID)?, guid(&get, APP_OBJECT_ID)?) {
            (Some(client_id), Some(object_id)) => Some(SharedAppIds {
                client_id,
                object_id,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Incomplete {
                    var: APP_CLIENT_ID,
                    other: APP_OBJECT_ID,
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Incomplete {
                    var: APP_OBJECT_ID,
                    other: APP_CLIENT_ID,
                });
            }
        };
        let settle = match get(SETTLE_SECONDS) {
            None => 60,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= 600)
                .ok_or_else(|| ConfigError::Invalid {
                    var: SETTLE_SECONDS,
                    why: "use a whole number of seconds from 0 to 600".into(),
                })?,
        };
        Ok(AzureConfig {
            login_endpoint: endpoint(&get, LOGIN_ENDPOINT_URL, DEFAULT_LOGIN_ENDPOINT, production)?,
            arm_endpoint: endpoint(&get, ARM_ENDPOINT_URL, DEFAULT_ARM_ENDPOINT, production)?,
            audience,
            shared_app,
            settle: Duration::from_secs(settle),
        })
    }
}

/// An ARM access token from Entra, with the claims the wizard reads. The
/// token itself is a credential: `Debug` hides it, nothing serialises it.
#[derive(Clone)]
pub struct ArmToken {
    access_token: String,
    /// `oid`: the service principal's (or managed identity's) object id.
    pub object_id: String,
    /// `tid`.
    pub tenant_id: String,
    /// `appid` (v1 tokens) or `azp` (v2): the client id the token is for.
    pub app_id: Option<String>,
    /// Entra's `expires_in`: seconds the token lives (it decides, 60-90 min).
    pub expires_in: Option<u64>,
}

impl ArmToken {
    pub fn new(
        access_token: String,
        object_id: String,
        tenant_id: String,
        app_id: Option<String>,
    ) -> Self {
        ArmToken {
            access_token,
            object_id,
            tenant_id,
            app_id,
            expires_in: None,
        }
    }

    pub fn with_expires_in(mut self, seconds: Option<u64>) -> Self {
        self.expires_in = seconds;
        self
    }
    pub fn bearer(&self) -> &str {
        &self.access_token
    }
}

impl std::fmt::Debug for ArmToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmToken")
            .field("object_id", &self.object_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleAssignment {
    pub role_definition_id: String,
    pub principal_id: String,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
    pub provisioning_state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub name: String,
    pub display_name: String,
    pub regional_display_name: Option<String>,
}

/// The calls the Azure wizard makes.
#[async_trait]
pub trait AzureApi: Send + Sync {
    /// Client credentials with a federated assertion at
    /// `<login>/<tenant>/oauth2/v2.0/token`, scope ARM.
    async fn token(
        &self,
        tenant: &Guid,
        client_id: &Guid,
        assertion: &str,
    ) -> Result<ArmToken, AzureError>;

    /// `GET /subscriptions/{id}` (2022-12-01).
    async fn subscription(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Subscription, AzureError>;

    /// Role assignments of `principal_id` at, above or below the
    /// subscription (2022-04-01, `$filter=principalId eq '…'`).
    async fn role_assignments(
        &self,
        token: &ArmToken,
        subscription: &Guid,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError>;

    /// The caller's effective permissions on the subscription (2022-04-01).
    async fn permissions(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Vec<AzurePermission>, AzureError>;

    /// `GET /subscriptions/{id}/resourcegroups` (2021-04-01).
    async fn resource_groups(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Vec<ResourceGroup>, AzureError>;

    /// `GET /subscriptions/{id}/locations` (2022-12-01).
    async fn locations(
        &self,
        token: &ArmToken,
        subscription: &Guid,
    ) -> Result<Vec<Location>, AzureError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)], production: bool) -> Result<AzureConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AzureConfig::from_lookup(|k| map.get(k).cloned(), production)
    }

    #[test]
    fn defaults_are_the_public_cloud() {
        let c = parse(&[], true).unwrap();
        assert_eq!(c.login_endpoint, DEFAULT_LOGIN_ENDPOINT);
        assert_eq!(c.arm_endpoint, DEFAULT_ARM_ENDPOINT);
        assert_eq!(c.audience.as_str(), DEFAULT_AUDIENCE);
        assert!(c.shared_app.is_none());
        assert_eq!(c.settle, Duration::from_secs(60));
    }

    #[test]
    fn endpoints_are_https_in_production_and_named_when_wrong() {
        let local = [
            (LOGIN_ENDPOINT_URL, "http://127.0.0.1:9/"),
            (ARM_ENDPOINT_URL, "http://127.0.0.1:10"),
        ];
        let c = parse(&local, false).unwrap();
        assert_eq!(c.login_endpoint, "http://127.0.0.1:9");
        assert_eq!(parse(&local, true).unwrap_err().var(), LOGIN_ENDPOINT_URL);
        assert_eq!(
            parse(&[(ARM_ENDPOINT_URL, "ftp://x")], false)
                .unwrap_err()
                .var(),
            ARM_ENDPOINT_URL
        );
        assert_eq!(
            parse(&[(ARM_ENDPOINT_URL, "https://u:p@x/")], false)
                .unwrap_err()
                .var(),
            ARM_ENDPOINT_URL
        );
        assert_eq!(
            parse(
                &[(APP_CLIENT_ID, "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d")],
                false
            )
            .unwrap_err()
            .var(),
            APP_CLIENT_ID
        );
        assert_eq!(
            parse(&[(APP_OBJECT_ID, "nope")], false).unwrap_err().var(),
            APP_OBJECT_ID
        );
        assert_eq!(
            parse(&[(SETTLE_SECONDS, "601")], false).unwrap_err().var(),
            SETTLE_SECONDS
        );
    }
}
