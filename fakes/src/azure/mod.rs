//! A loopback Microsoft Entra ID + Azure Resource Manager, as faithful as
//! the proxy's Azure steps need: two listeners (login and ARM, like
//! `login.microsoftonline.com` and `management.azure.com`) over one state.
//!
//! - **Entra** ([`entra`]) verifies a federated client assertion the way
//!   Entra does: it fetches the issuer's discovery document and JWKS over
//!   HTTP, checks RS256 by `kid`, then `iss`, `aud` and `sub` byte for byte
//!   against the federated credentials of the client, then `nbf`/`exp`, and
//!   knows which tenants consented to which app. Refusals are Entra's own
//!   error bodies (AADSTS codes of federation-formats.md §2).
//! - **ARM** ([`arm`]) answers the subscription, resource groups, locations,
//!   role assignments and effective permissions of the principal in the
//!   bearer token, from the fake's state.
//! - **State** is built the way a customer builds the real thing: by running
//!   the bundle's own rendered `az` commands ([`AzureFake::apply_bundle`],
//!   [`AzureFake::az`]) and following its admin-consent link. A handle
//!   ([`AzureFake`]) lets tests and the sandbox add tenants, skew the clock,
//!   delay credential propagation or cache issuer keys.

pub mod arm;
pub mod az;
pub mod entra;
pub mod state;

use crate::server::{Running, serve};
use alphaswarm_core::Bundle;
use axum::Router;
use axum::routing::{get, post};
pub use az::{AzError, AzLogin};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
pub use state::SeenAssertion;
use state::{AzureState, Subscription};
use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard, OnceLock};
use std::time::Duration;

/// Shared by both listeners' handlers.
#[derive(Clone)]
pub struct Shared(Arc<Inner>);

pub struct Inner {
    world: crate::shared::Shared<AzureState>,
    http: reqwest::Client,
    /// Signs the fake's own ARM access tokens (HS256: only the fake reads them).
    token_key: [u8; 32],
    arm_base: OnceLock<String>,
}

#[derive(Serialize, Deserialize)]
struct ArmClaims {
    aud: String,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    oid: String,
    sub: String,
    tid: String,
    appid: String,
    idtyp: String,
    ver: String,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, AzureState> {
        self.0.world.state()
    }

    fn arm_base(&self) -> String {
        self.0.arm_base.get().cloned().unwrap_or_default()
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Option<T> {
        let response = self.0.http.get(url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// A v1.0-shaped ARM access token, as Entra issues for client credentials.
    fn issue_arm_token(&self, tenant: &str, app_id: &str, object_id: &str, exp: i64) -> String {
        let now = self.lock().now();
        let claims = ArmClaims {
            aud: "https://management.azure.com/".into(),
            iss: format!("https://sts.windows.net/{tenant}/"),
            iat: now,
            nbf: now,
            exp,
            oid: object_id.into(),
            sub: object_id.into(),
            tid: tenant.into(),
            appid: app_id.into(),
            idtyp: "app".into(),
            ver: "1.0".into(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.0.token_key),
        )
        .unwrap_or_default();
        let signature = token.rsplit('.').next().unwrap_or_default().to_owned();
        self.lock().issued_token_signatures.push(signature);
        token
    }

    fn verify_arm_token(&self, token: &str) -> Result<arm::Caller, arm::ArmFailure> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_audience(&["https://management.azure.com/"]);
        let claims = jsonwebtoken::decode::<ArmClaims>(
            token,
            &DecodingKey::from_secret(&self.0.token_key),
            &validation,
        )
        .map_err(|_| {
            arm::arm_error(
                axum::http::StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            )
        })?
        .claims;
        if claims.exp <= self.lock().now() {
            return Err(arm::arm_error(
                axum::http::StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            ));
        }
        Ok(arm::Caller {
            object_id: claims.oid,
            tenant: claims.tid,
            app_id: claims.appid,
        })
    }
}

/// The running fake and the handle on its state.
pub struct AzureFake {
    shared: Shared,
    login: Running,
    arm: Running,
}

impl AzureFake {
    /// Starts both listeners on ephemeral loopback ports.
    pub async fn start() -> std::io::Result<AzureFake> {
        // reqwest (fetching the issuer's keys) needs a process-wide TLS
        // provider; Err means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut token_key = [0u8; 32];
        token_key.copy_from_slice(&uuid::Uuid::new_v4().as_bytes().repeat(2));
        let shared = Shared(Arc::new(Inner {
            world: crate::shared::Shared::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            token_key,
            arm_base: OnceLock::new(),
        }));
        shared.lock().page_size = 100;
        let login_router = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
            .with_state(shared.clone());
        let arm_router = Router::new()
            .route("/subscriptions/{id}", get(arm::subscription))
            .route(
                "/subscriptions/{id}/resourcegroups",
                get(arm::resource_groups),
            )
            .route(
                "/subscriptions/{id}/resourceGroups",
                get(arm::resource_groups),
            )
            .route("/subscriptions/{id}/locations", get(arm::locations))
            .route(
                "/subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments",
                get(arm::role_assignments),
            )
            .route(
                "/subscriptions/{id}/providers/Microsoft.Authorization/permissions",
                get(arm::permissions),
            )
            .with_state(shared.clone());
        let login = serve(login_router, 0).await?;
        let arm = serve(arm_router, 0).await?;
        let _ = shared.0.arm_base.set(arm.url());
        Ok(AzureFake { shared, login, arm })
    }

    /// Base URL of the token endpoint host (`ALPHASWARM_ADMIN_AZURE_LOGIN_ENDPOINT_URL`).
    pub fn login_url(&self) -> String {
        self.login.url()
    }

    /// Base URL of ARM (`ALPHASWARM_ADMIN_AZURE_ARM_ENDPOINT_URL`).
    pub fn arm_url(&self) -> String {
        self.arm.url()
    }

    fn state(&self) -> MutexGuard<'_, AzureState> {
        self.shared.lock()
    }

    pub fn add_tenant(&self, tenant: &str) {
        self.state()
            .tenants
            .insert(tenant.to_ascii_lowercase(), tenant.to_ascii_lowercase());
    }

    /// An enabled subscription of `tenant` (added if new).
    pub fn add_subscription(&self, tenant: &str, subscription: &str, display_name: &str) {
        self.add_tenant(tenant);
        let id = subscription.to_ascii_lowercase();
        self.state().subscriptions.insert(
            id.clone(),
            Subscription {
                id,
                tenant: tenant.to_ascii_lowercase(),
                display_name: display_name.to_owned(),
                state: "Enabled".to_owned(),
                resource_groups: BTreeMap::new(),
            },
        );
    }

    /// AlphaSwarm's multi-tenant app, registered in its home tenant.
    pub fn register_app(&self, home_tenant: &str, object_id: &str, app_id: &str) {
        self.add_tenant(home_tenant);
        az::app_registration(
            &mut self.state(),
            &home_tenant.to_ascii_lowercase(),
            object_id,
            app_id,
        );
    }

    /// What an administrator's click on the bundle's admin-consent link does:
    /// the app gets a service principal in the link's tenant.
    pub fn follow_admin_consent_link(&self, url: &str) -> Result<String, AzError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| AzError(format!("not a URL: {url}")))?;
        let mut segments = parsed.path_segments().into_iter().flatten();
        let (Some(tenant), Some("adminconsent")) = (segments.next(), segments.next()) else {
            return Err(AzError(format!("not an admin-consent link: {url}")));
        };
        let client = parsed
            .query_pairs()
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| AzError("the consent link has no client_id".into()))?;
        self.state().consent(&tenant.to_ascii_lowercase(), &client)
    }

    /// Removes an app's service principal from a tenant (revoked consent).
    pub fn revoke_consent(&self, tenant: &str, app_id: &str) {
        let (tenant, app_id) = (tenant.to_ascii_lowercase(), app_id.to_ascii_lowercase());
        self.state()
            .service_principals
            .retain(|sp| !(sp.tenant == tenant && sp.app_id == app_id));
    }

    /// Runs one rendered `az` command (bash text) as `login`; its stdout.
    pub fn az(&self, login: &AzLogin, command: &str) -> Result<String, AzError> {
        self.az_with_files(login, command, &BTreeMap::new())
    }

    /// [`Self::az`] in a directory holding `files` (name → contents), for
    /// commands that read one (`--parameters federated_credential.json`).
    pub fn az_with_files(
        &self,
        login: &AzLogin,
        command: &str,
        files: &BTreeMap<String, String>,
    ) -> Result<String, AzError> {
        self.state().run_az(login, &az::split_bash(command)?, files)
    }

    /// Runs every bash command of a bundle, in order, with the bundle's own
    /// files; `az ad app …` commands (AlphaSwarm's side of the shared app)
    /// run as `platform`, the rest as `customer`. Returns each command's stdout.
    pub fn apply_bundle(
        &self,
        customer: &AzLogin,
        platform: Option<&AzLogin>,
        bundle: &Bundle,
    ) -> Result<Vec<String>, AzError> {
        let files: BTreeMap<String, String> = bundle
            .files
            .iter()
            .map(|f| (f.name.clone(), f.contents.clone()))
            .collect();
        let mut outputs = Vec::new();
        for command in &bundle.commands.bash {
            let words = az::split_bash(command)?;
            let login = match (words.get(1).map(String::as_str), platform) {
                (Some("ad"), Some(platform)) if words.get(2).map(String::as_str) == Some("app") => {
                    platform
                }
                _ => customer,
            };
            outputs.push(self.state().run_az(login, &words, &files)?);
        }
        Ok(outputs)
    }

    /// Seconds added to the fake's clock (an Entra whose time differs).
    pub fn set_clock_skew(&self, seconds: i64) {
        self.state().clock_skew_seconds = seconds;
    }

    /// How long Entra reuses an issuer's fetched keys (default: not at all).
    pub fn set_metadata_cache(&self, ttl: Duration) {
        self.state().metadata_cache = ttl;
    }

    /// Credentials created from now on stay invisible for this many token requests.
    pub fn set_propagation_requests(&self, requests: u32) {
        self.state().propagation_requests = requests;
    }

    /// Items per ARM list page (default 100).
    pub fn set_page_size(&self, size: usize) {
        self.state().page_size = size;
    }

    pub fn set_subscription_state(&self, subscription: &str, state: &str) {
        if let Some(sub) = self
            .state()
            .subscriptions
            .get_mut(&subscription.to_ascii_lowercase())
        {
            sub.state = state.to_owned();
        }
    }

    /// A resource group, as `az group create` would make it.
    pub fn add_resource_group(&self, subscription: &str, name: &str, location: &str) {
        if let Some(sub) = self
            .state()
            .subscriptions
            .get_mut(&subscription.to_ascii_lowercase())
        {
            sub.resource_groups.insert(
                name.to_ascii_lowercase(),
                state::ResourceGroup {
                    name: name.to_owned(),
                    location: location.to_owned(),
                },
            );
        }
    }

    /// Every assertion the token endpoint judged (claims only), oldest first.
    pub fn seen_assertions(&self) -> Vec<SeenAssertion> {
        self.state().seen.clone()
    }

    /// Signature segments of every ARM access token issued so far.
    pub fn issued_token_signatures(&self) -> Vec<String> {
        self.state().issued_token_signatures.clone()
    }

    /// The federated credentials of the managed identity with `client_id`:
    /// (name, issuer, subject, audiences).
    pub fn identity_credentials(
        &self,
        client_id: &str,
    ) -> Vec<(String, String, String, Vec<String>)> {
        let client_id = client_id.to_ascii_lowercase();
        self.state()
            .identities
            .iter()
            .filter(|i| i.client_id == client_id)
            .flat_map(|i| i.credentials.iter())
            .map(|c| {
                (
                    c.name.clone(),
                    c.issuer.clone(),
                    c.subject.clone(),
                    c.audiences.clone(),
                )
            })
            .collect()
    }
}
