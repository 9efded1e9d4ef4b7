//! Azure identities in `DefaultAzureCredential`'s order (without the CLI
//! fallbacks): a client secret in the environment (`AZURE_CLIENT_SECRET`),
//! workload identity (`AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` +
//! `AZURE_TENANT_ID`, as the AKS webhook injects them), then managed identity
//! (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER` on App Service and Container Apps,
//! else IMDS; `AZURE_POD_IDENTITY_AUTHORITY_HOST` moves IMDS). Tokens are
//! cached per scope until shortly before they expire.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::Clock;
use crate::environment::Environment;
use crate::error::{ConfigError, StoreError};
use crate::http::{
    AccessToken, TokenCache, check_url, post_token_form, token_from_response, transport_error,
};

const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
const IMDS_HOST: &str = "http://169.254.169.254";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

enum Provider {
    ClientSecret {
        authority: String,
        tenant: String,
        client_id: String,
        secret: String,
    },
    WorkloadIdentity {
        authority: String,
        tenant: String,
        client_id: String,
        token_file: PathBuf,
    },
    AppServiceIdentity {
        endpoint: String,
        header: String,
        client_id: Option<String>,
    },
    Imds {
        host: String,
        client_id: Option<String>,
    },
}

pub struct AzureCredential {
    provider: Provider,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    caches: tokio::sync::Mutex<BTreeMap<String, Arc<TokenCache<AccessToken>>>>,
}

impl AzureCredential {
    /// `fallback_tenant` is `ALPHASWARM_AZURE_TENANT_ID`, used when `AZURE_TENANT_ID` is unset.
    pub fn from_env(
        env: &Environment,
        fallback_tenant: Option<&str>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        Ok(AzureCredential {
            provider: choose(env, fallback_tenant)?,
            http,
            clock,
            caches: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    pub fn describe(&self) -> String {
        match &self.provider {
            Provider::ClientSecret {
                tenant, client_id, ..
            } => {
                format!("client secret (AZURE_CLIENT_SECRET) of {client_id} in tenant {tenant}")
            }
            Provider::WorkloadIdentity {
                tenant, client_id, ..
            } => {
                format!(
                    "workload identity (AZURE_FEDERATED_TOKEN_FILE) as {client_id} in tenant {tenant}"
                )
            }
            Provider::AppServiceIdentity { client_id, .. } => match client_id {
                Some(id) => format!("managed identity {id} (IDENTITY_ENDPOINT)"),
                None => "system-assigned managed identity (IDENTITY_ENDPOINT)".to_owned(),
            },
            Provider::Imds { host, client_id } => match client_id {
                Some(id) => format!("managed identity {id} (IMDS at {host})"),
                None => format!("system-assigned managed identity (IMDS at {host})"),
            },
        }
    }

    async fn cache(&self, scope: &str) -> Arc<TokenCache<AccessToken>> {
        self.caches
            .lock()
            .await
            .entry(scope.to_owned())
            .or_insert_with(|| Arc::new(TokenCache::new(self.clock.clone())))
            .clone()
    }

    /// A token for `scope` (e.g. `https://vault.azure.net/.default`).
    pub async fn token(&self, scope: &str) -> Result<AccessToken, StoreError> {
        self.cache(scope)
            .await
            .get_or_fetch(|| async {
                let token = self.fetch(scope).await?;
                let expires_at = token.expires_at;
                Ok((token, expires_at))
            })
            .await
    }

    pub async fn invalidate(&self, scope: &str) {
        self.cache(scope).await.invalidate().await;
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, StoreError> {
        let now = self.clock.now();
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        match &self.provider {
            Provider::ClientSecret {
                authority,
                tenant,
                client_id,
                secret,
            } => {
                post_token_form(
                    &self.http,
                    "Microsoft Entra ID",
                    &format!("{authority}/{tenant}/oauth2/v2.0/token"),
                    &[
                        ("client_id", client_id),
                        ("client_secret", secret),
                        ("grant_type", "client_credentials"),
                        ("scope", scope),
                    ],
                    None,
                    now,
                )
                .await
            }
            Provider::WorkloadIdentity {
                authority,
                tenant,
                client_id,
                token_file,
            } => {
                // Re-read each time: the kubelet rotates the projected token.
                let assertion = std::fs::read_to_string(token_file).map_err(|e| {
                    StoreError::unauthenticated(
                        format!("AZURE_FEDERATED_TOKEN_FILE {} cannot be read ({})", token_file.display(), e.kind()),
                        "Label the pod azure.workload.identity/use: \"true\" so the webhook projects the token.",
                    )
                })?;
                post_token_form(
                    &self.http,
                    "Microsoft Entra ID",
                    &format!("{authority}/{tenant}/oauth2/v2.0/token"),
                    &[
                        ("client_id", client_id),
                        ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                        ("client_assertion", assertion.trim()),
                        ("grant_type", "client_credentials"),
                        ("scope", scope),
                    ],
                    None,
                    now,
                )
                .await
            }
            Provider::AppServiceIdentity {
                endpoint,
                header,
                client_id,
            } => {
                self.managed_identity(
                    "the managed identity endpoint",
                    endpoint,
                    "2019-08-01",
                    resource,
                    client_id.as_deref(),
                    ("x-identity-header", header),
                    "Check the managed identity assigned to the app (IDENTITY_ENDPOINT is set by the platform).",
                )
                .await
            }
            Provider::Imds { host, client_id } => {
                self.managed_identity(
                    "the instance metadata service (managed identity)",
                    &format!("{host}/metadata/identity/oauth2/token"),
                    "2018-02-01",
                    resource,
                    client_id.as_deref(),
                    ("metadata", "true"),
                    "No Azure identity: on AKS enable workload identity for the pod; elsewhere assign a managed identity or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET.",
                )
                .await
            }
        }
    }
}

impl AzureCredential {
    /// A managed-identity token request: `GET endpoint?api-version&resource[&client_id]`
    /// with the platform's proof header. `hint` explains a connection failure.
    #[allow(clippy::too_many_arguments)]
    async fn managed_identity(
        &self,
        who: &str,
        endpoint: &str,
        api_version: &str,
        resource: &str,
        client_id: Option<&str>,
        (header, value): (&str, &str),
        hint: &str,
    ) -> Result<AccessToken, StoreError> {
        let now = self.clock.now();
        let mut url = reqwest::Url::parse(endpoint)
            .map_err(|_| StoreError::unexpected(format!("{who}'s address is not a URL")))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version)
            .append_pair("resource", resource);
        if let Some(id) = client_id {
            url.query_pairs_mut().append_pair("client_id", id);
        }
        let response = self
            .http
            .get(url)
            .header(header, value)
            .send()
            .await
            .map_err(|e| {
                let mut error = transport_error(who, &e);
                error.hint = hint.to_owned();
                error
            })?;
        token_from_response(who, response, now).await
    }
}

fn choose(env: &Environment, fallback_tenant: Option<&str>) -> Result<Provider, ConfigError> {
    let authority = env
        .get("AZURE_AUTHORITY_HOST")
        .unwrap_or(DEFAULT_AUTHORITY)
        .trim_end_matches('/')
        .to_owned();
    check_url(&authority).map_err(|problem| {
        ConfigError::new(
            "AZURE_AUTHORITY_HOST",
            problem,
            "Leave it unset for the public cloud, or use your cloud's login host.",
        )
    })?;
    let tenant = env.get("AZURE_TENANT_ID").or(fallback_tenant);
    let client_id = env.get("AZURE_CLIENT_ID");
    let missing = |variable: &str, with: &str| {
        ConfigError::new(
            variable,
            format!("is required with {with}"),
            "Set AZURE_CLIENT_ID and AZURE_TENANT_ID (the workload identity webhook injects both).",
        )
    };
    if let Some(secret) = env.get("AZURE_CLIENT_SECRET") {
        return Ok(Provider::ClientSecret {
            authority,
            tenant: tenant
                .ok_or_else(|| missing("AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"))?
                .to_owned(),
            client_id: client_id
                .ok_or_else(|| missing("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"))?
                .to_owned(),
            secret: secret.to_owned(),
        });
    }
    if let Some(token_file) = env.get("AZURE_FEDERATED_TOKEN_FILE") {
        return Ok(Provider::WorkloadIdentity {
            authority,
            tenant: tenant
                .ok_or_else(|| missing("AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"))?
                .to_owned(),
            client_id: client_id
                .ok_or_else(|| missing("AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"))?
                .to_owned(),
            token_file: PathBuf::from(token_file),
        });
    }
    let client_id = client_id.map(str::to_owned);
    match (env.get("IDENTITY_ENDPOINT"), env.get("IDENTITY_HEADER")) {
        (Some(endpoint), Some(header)) => {
            check_url(endpoint).map_err(|problem| {
                ConfigError::new(
                    "IDENTITY_ENDPOINT",
                    problem,
                    "The platform sets IDENTITY_ENDPOINT; do not override it.",
                )
            })?;
            Ok(Provider::AppServiceIdentity {
                endpoint: endpoint.to_owned(),
                header: header.to_owned(),
                client_id,
            })
        }
        (Some(_), None) => Err(missing("IDENTITY_HEADER", "IDENTITY_ENDPOINT")),
        _ => Ok(Provider::Imds {
            host: env
                .get("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                .unwrap_or(IMDS_HOST)
                .trim_end_matches('/')
                .to_owned(),
            client_id,
        }),
    }
}
