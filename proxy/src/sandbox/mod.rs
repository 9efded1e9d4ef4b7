//! Sandbox mode: every cloud simulated on this machine.
//!
//! With `ALPHASWARM_ADMIN_SANDBOX=1` (the run command sets it when it finds
//! no real cloud configuration) the proxy starts the loopback fakes of
//! `alphaswarm-fakes` in-process — the same ones the tests use, which check
//! SigV4, trust policies, external ids, federated credentials, pool
//! bindings and token scopes as the real services do — and points its own
//! cloud clients at them ([`Sandbox::settings`] overlays the environment).
//! Production refuses the mode at start-up ([`crate::config`]).
//!
//! "Apply in the sandbox" ([`apply`]) plays the customer's administrator:
//! it applies the artifacts the proxy *rendered* for the org to the
//! simulated cloud, so steps 3-5 pass or fail for real reasons, and can
//! break the set-up on purpose to show the error paths.

pub mod apply;

use crate::config::{self, PARTNER_ACCOUNT_ID};
use crate::{aws, azure, federation, gcp};
use alphaswarm_fakes::aws::{AccessKey, AwsFake, AwsFakeConfig};
use alphaswarm_fakes::azure::{AzLogin, AzureFake};
use alphaswarm_fakes::cloudflare::{CloudflareFake, RunningCloudflare};
use alphaswarm_fakes::dockerhub::DockerHub;
use alphaswarm_fakes::gcp::GcpFake;
use alphaswarm_fakes::huggingface::HuggingFace;
use alphaswarm_fakes::server::Running;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// The setting that turns the sandbox on (`1`/`true`) or off.
pub const SANDBOX_VAR: &str = "ALPHASWARM_ADMIN_SANDBOX";

/// AlphaSwarm's simulated platform account (AWS's documentation example id).
pub const PARTNER_ACCOUNT: &str = "111122223333";
/// The simulated customer's AWS account, where "Apply" creates the role.
pub const CUSTOMER_ACCOUNT: &str = "210987654321";
/// AlphaSwarm's simulated Entra tenant and its multi-tenant app.
pub const PLATFORM_TENANT: &str = "a1a1a1a1-0000-4000-8000-000000000001";
pub const APP_OBJECT_ID: &str = "a1a1a1a1-0000-4000-8000-0000000000a0";
pub const APP_CLIENT_ID: &str = "a1a1a1a1-0000-4000-8000-0000000000c0";
/// The simulated customer's Entra tenant and subscription.
pub const CUSTOMER_TENANT: &str = "5a5a5a5a-1111-4111-8111-111111111111";
pub const CUSTOMER_SUBSCRIPTION: &str = "5a5a5a5a-2222-4222-8222-222222222222";
/// The simulated customer's Google Cloud project.
pub const GCP_PROJECT: &str = "sandbox-project";
pub const GCP_PROJECT_NUMBER: &str = "123456789012";

/// How long a step retries while a simulated cloud "settles".
const SETTLE_SECONDS: &str = "2";

/// What the platform's IAM user may do: assume roles, nothing else.
const PLATFORM_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;

/// Whether the environment asks for the sandbox (`1`, `true`, `yes`, `on`).
pub fn requested(get: &impl Fn(&str) -> Option<String>) -> bool {
    get(SANDBOX_VAR).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The simulated clouds, running on loopback for as long as this lives.
pub struct Sandbox {
    aws: AwsFake,
    platform_key: AccessKey,
    azure: AzureFake,
    gcp: GcpFake,
    gcp_server: Running,
    cloudflare: RunningCloudflare,
    huggingface: Running,
    dockerhub: Running,
    /// `http://<proxy bind>/oidc/`: Entra and Google fetch its JWKS from the proxy.
    issuer: String,
}

impl Sandbox {
    /// Starts every fake on an ephemeral loopback port. `proxy` is where the
    /// proxy will listen: the simulated Entra and Google STS fetch the
    /// federation issuer's keys from it, as the real ones do.
    pub async fn start(proxy: SocketAddr) -> std::io::Result<Sandbox> {
        let aws = AwsFake::start(AwsFakeConfig::default()).await?;
        let platform_key = aws
            .state()
            .create_user(PARTNER_ACCOUNT, "alphaswarm-platform", PLATFORM_POLICY)
            .map_err(|f| std::io::Error::other(format!("{f:?}")))?;
        let azure = AzureFake::start().await?;
        azure.add_subscription(
            CUSTOMER_TENANT,
            CUSTOMER_SUBSCRIPTION,
            "Sandbox subscription",
        );
        azure.register_app(PLATFORM_TENANT, APP_OBJECT_ID, APP_CLIENT_ID);
        let gcp = GcpFake::new();
        gcp.allow_loopback_issuers();
        gcp.add_project(GCP_PROJECT, GCP_PROJECT_NUMBER);
        let gcp_server = gcp.serve().await?;
        let cloudflare = CloudflareFake::new().start().await?;
        let huggingface = HuggingFace::new().start().await?;
        let dockerhub = DockerHub::new().start().await?;
        Ok(Sandbox {
            aws,
            platform_key,
            azure,
            gcp,
            gcp_server,
            cloudflare,
            huggingface,
            dockerhub,
            issuer: format!("http://{}/oidc/", loopback_of(proxy)),
        })
    }

    /// The settings that point every cloud client at the fakes; they take
    /// precedence over the environment (an empty value unsets one).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let gcp_url = self.gcp_server.url();
        vec![
            (aws::ENDPOINT_URL_VAR, self.aws.url()),
            (aws::IAM_ENDPOINT_URL_VAR, String::new()),
            ("AWS_ACCESS_KEY_ID", self.platform_key.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.platform_key.secret_access_key.clone(),
            ),
            ("AWS_SESSION_TOKEN", String::new()),
            (PARTNER_ACCOUNT_ID, PARTNER_ACCOUNT.to_owned()),
            (federation::ISSUER_VAR, self.issuer.clone()),
            (azure::LOGIN_ENDPOINT_URL, self.azure.login_url()),
            (azure::ARM_ENDPOINT_URL, self.azure.arm_url()),
            (azure::APP_CLIENT_ID, APP_CLIENT_ID.to_owned()),
            (azure::APP_OBJECT_ID, APP_OBJECT_ID.to_owned()),
            (gcp::STS_ENDPOINT_URL, gcp_url.clone()),
            (gcp::IAMCREDENTIALS_ENDPOINT_URL, gcp_url.clone()),
            (gcp::CRM_ENDPOINT_URL, gcp_url.clone()),
            (gcp::COMPUTE_ENDPOINT_URL, gcp_url),
            (config::CLOUDFLARE_ENDPOINT_URL, self.cloudflare.api_url()),
            (config::HUGGINGFACE_ENDPOINT_URL, self.huggingface.url()),
            (config::DOCKERHUB_ENDPOINT_URL, self.dockerhub.url()),
            // The fakes apply a change at once; a short window keeps a
            // broken-on-purpose step from retrying for the real clouds' 30-60 s.
            (config::AWS_SETTLE_SECONDS, SETTLE_SECONDS.to_owned()),
            (azure::SETTLE_SECONDS, SETTLE_SECONDS.to_owned()),
            (gcp::SETTLE_SECONDS, SETTLE_SECONDS.to_owned()),
            (SANDBOX_VAR, "1".to_owned()),
        ]
    }

    /// What the UI shows about the sandbox: the simulated customer ids an
    /// operator types into the wizard.
    pub fn describe(&self) -> Value {
        json!({
            "aws": { "account_id": CUSTOMER_ACCOUNT },
            "azure": { "tenant_id": CUSTOMER_TENANT, "subscription_id": CUSTOMER_SUBSCRIPTION },
            "gcp": { "project_id": GCP_PROJECT, "project_number": GCP_PROJECT_NUMBER },
            "cloudflare": { "account_id": self.cloudflare.fake.account_id() },
        })
    }

    fn customer_login(&self) -> AzLogin {
        AzLogin {
            tenant: CUSTOMER_TENANT.to_owned(),
            subscription: Some(CUSTOMER_SUBSCRIPTION.to_owned()),
        }
    }

    fn platform_login(&self) -> AzLogin {
        AzLogin {
            tenant: PLATFORM_TENANT.to_owned(),
            subscription: None,
        }
    }
}

/// A wildcard bind is reached on loopback.
fn loopback_of(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// The environment with the sandbox's settings laid over it.
pub fn overlay(
    settings: Vec<(&'static str, String)>,
    get: impl Fn(&str) -> Option<String>,
) -> impl Fn(&str) -> Option<String> {
    move |name: &str| match settings.iter().find(|(k, _)| *k == name) {
        Some((_, value)) => Some(value.clone()),
        None => get(name),
    }
}
