//! The Azure test world: the loopback Entra + ARM fake and an in-process
//! proxy whose federation issuer is its own loopback address, so the fake
//! fetches the proxy's discovery document and JWKS over HTTP exactly as
//! Entra fetches AlphaSwarm's. Customer set-ups are made by running the
//! bundles the proxy renders (never by writing the fake's state directly).
#![allow(dead_code)]

use crate::common::TestProxy;
#[allow(unused_imports)] // the benchmarks include this module without using it
pub use crate::common::assert_error;
use alphaswarm_core::Bundle;
use alphaswarm_fakes::azure::{AzLogin, AzureFake};
use alphaswarm_proxy::{azure, federation};
use serde_json::{Value, json};

/// AlphaSwarm's own tenant and its multi-tenant app (shared-app mode).
pub const PLATFORM_TENANT: &str = "a1a1a1a1-0000-4000-8000-000000000001";
pub const APP_OBJECT_ID: &str = "a1a1a1a1-0000-4000-8000-0000000000a0";
pub const APP_CLIENT_ID: &str = "a1a1a1a1-0000-4000-8000-0000000000c0";
/// Two customer tenants with one subscription each.
pub const TENANT_A: &str = "aaaaaaaa-1111-4111-8111-111111111111";
pub const SUB_A: &str = "aaaaaaaa-2222-4222-8222-222222222222";
pub const TENANT_B: &str = "bbbbbbbb-1111-4111-8111-111111111111";
pub const SUB_B: &str = "bbbbbbbb-2222-4222-8222-222222222222";

pub struct AzureWorld {
    pub proxy: TestProxy,
    pub fake: AzureFake,
    /// The proxy's issuer, exactly as configured.
    pub issuer: String,
}

pub fn customer(tenant: &str, subscription: &str) -> AzLogin {
    AzLogin {
        tenant: tenant.to_owned(),
        subscription: Some(subscription.to_owned()),
    }
}

pub fn platform() -> AzLogin {
    AzLogin {
        tenant: PLATFORM_TENANT.to_owned(),
        subscription: None,
    }
}

pub fn path(org: &str, step: &str) -> String {
    format!("/admin/accounts/{org}/cloud/azure/{step}")
}

pub fn body(mode: &str, tenant: &str, subscription: &str, client_id: Option<&str>) -> Value {
    let mut body = json!({ "mode": mode, "tenant_id": tenant, "subscription_id": subscription });
    if let Some(client) = client_id {
        body["client_id"] = json!(client);
    }
    body
}

impl AzureWorld {
    pub async fn start(name: &str) -> AzureWorld {
        Self::start_with(name, &[]).await
    }

    /// `extra` overrides the settings below (an empty value removes one).
    pub async fn start_with(name: &str, extra: &[(&str, &str)]) -> AzureWorld {
        Self::start_full(name, "/oidc/", extra).await
    }

    /// The issuer is `http://<proxy address><issuer_path>`.
    pub async fn start_full(name: &str, issuer_path: &str, extra: &[(&str, &str)]) -> AzureWorld {
        let fake = AzureFake::start().await.unwrap();
        fake.add_subscription(TENANT_A, SUB_A, "Contoso production");
        fake.add_subscription(TENANT_B, SUB_B, "Fabrikam");
        fake.register_app(PLATFORM_TENANT, APP_OBJECT_ID, APP_CLIENT_ID);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}{issuer_path}", listener.local_addr().unwrap());
        let (login, arm) = (fake.login_url(), fake.arm_url());
        let mut settings: Vec<(&str, &str)> = vec![
            (federation::ISSUER_VAR, issuer.as_str()),
            (azure::LOGIN_ENDPOINT_URL, login.as_str()),
            (azure::ARM_ENDPOINT_URL, arm.as_str()),
            (azure::APP_CLIENT_ID, APP_CLIENT_ID),
            (azure::APP_OBJECT_ID, APP_OBJECT_ID),
            (azure::SETTLE_SECONDS, "0"),
        ];
        for (k, v) in extra {
            settings.retain(|(key, _)| key != k);
            settings.push((k, v));
        }
        let proxy = TestProxy::start_on(name, listener, &settings).await;
        AzureWorld {
            proxy,
            fake,
            issuer,
        }
    }

    /// Step 2 through the proxy: the bundle (asserting 200).
    pub async fn bootstrap(&self, org: &str, body: Value) -> Bundle {
        let session = self.proxy.login().await;
        let (status, answer) = self
            .proxy
            .post(&path(org, "bootstrap"), &session, body)
            .await;
        assert_eq!(status, 200, "{answer}");
        serde_json::from_value(answer["bundle"].clone()).unwrap()
    }

    /// The customer-managed identity set-up for `org` in a tenant, made by
    /// running the bundle the proxy rendered; returns the identity's client
    /// id as the bundle's last command prints it.
    pub async fn onboard_identity(
        &self,
        org: &str,
        tenant: &str,
        subscription: &str,
        extra: Value,
    ) -> String {
        let mut request = json!({ "tenant_id": tenant, "subscription_id": subscription });
        if let (Some(req), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
            req.extend(extra.clone());
        }
        let bundle = self.bootstrap(org, request).await;
        let outputs = self
            .fake
            .apply_bundle(&customer(tenant, subscription), None, &bundle)
            .unwrap_or_else(|e| panic!("the bundle does not run: {e}"));
        outputs.last().unwrap().trim().to_owned()
    }

    /// The seed's shared-app set-up for `org`: the credential on AlphaSwarm's
    /// app (run in AlphaSwarm's tenant), then, when `consent`, the tenant's
    /// admin consent (the bundle's link) and the role assignment.
    pub async fn onboard_shared(
        &self,
        org: &str,
        tenant: &str,
        subscription: &str,
        consent: bool,
    ) -> Bundle {
        let bundle = self
            .bootstrap(org, json!({ "mode": "shared_app", "tenant_id": tenant, "subscription_id": subscription }))
            .await;
        let credential_only = Bundle {
            commands: alphaswarm_core::shell::Commands {
                bash: bundle.commands.bash[..1].to_vec(),
                powershell: Vec::new(),
            },
            ..bundle.clone()
        };
        self.fake
            .apply_bundle(
                &customer(tenant, subscription),
                Some(&platform()),
                &credential_only,
            )
            .unwrap();
        if consent {
            let link = bundle
                .links
                .iter()
                .find(|l| l.name == "admin_consent")
                .unwrap();
            self.fake.follow_admin_consent_link(&link.url).unwrap();
            let rest = Bundle {
                commands: alphaswarm_core::shell::Commands {
                    bash: bundle.commands.bash[1..].to_vec(),
                    powershell: Vec::new(),
                },
                ..bundle.clone()
            };
            self.fake
                .apply_bundle(&customer(tenant, subscription), Some(&platform()), &rest)
                .unwrap();
        }
        bundle
    }

    /// A route that needs no session (the issuer's documents).
    pub async fn public(&self, path: &str) -> Value {
        let (status, body) = self
            .proxy
            .send(reqwest::Method::GET, path, None, None)
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// `DELETE …/cloud/azure` for `org`.
    pub async fn disconnect(&self, token: &str, org: &str) -> (u16, Value) {
        self.proxy
            .send(
                reqwest::Method::DELETE,
                &format!("/admin/accounts/{org}/cloud/azure"),
                Some(token),
                None,
            )
            .await
    }

    /// A wizard step with a stepped-up `token` (one TOTP code serves a
    /// whole test: each code is accepted once).
    pub async fn step(&self, token: &str, org: &str, step: &str, body: Value) -> (u16, Value) {
        self.proxy.post(&path(org, step), token, body).await
    }
}

/// The key ids of a JWKS, in order.
pub fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}
