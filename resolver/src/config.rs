//! The default chain, built from the environment as seed 000 describes.
//!
//! | priority | store | when |
//! |---|---|---|
//! | 10 | `m2m` | `ALPHASWARM_AUTH_M2M_ENABLED=true` |
//! | 20 | `integration_store` | plugged in by the proxy ([`PRIORITY_INTEGRATION_STORE`]) |
//! | 30 | `file` | always (`ALPHASWARM_BOOTSTRAP_STATE_DIR`, default `data/bootstrap`) |
//! | 40 | the cloud store | `ALPHASWARM_DEFAULT_CLOUD_PROVIDER` = `aws` / `gcp` / `azure` |
//! | 50 | `vault` | `ALPHASWARM_VAULT_ADDR` set |
//! | 100 | `env` | always: the safety net |
//!
//! Every misconfiguration is reported at once, one [`ConfigError`] each,
//! naming the variable and never its value.

use std::sync::Arc;

use alphaswarm_core::keys::{self, CredentialKey};

use crate::auth::aws::AwsCredentialChain;
use crate::auth::azure::AzureCredential;
use crate::auth::gcp::GcpCredentials;
use crate::chain::CredentialResolver;
use crate::clock::{Clock, SystemClock};
use crate::environment::Environment;
use crate::error::{ConfigError, ConfigErrors};
use crate::fields;
use crate::http::check_url;
use crate::stores::{
    AwsSecretsManagerStore, AzureKeyVaultStore, EnvStore, FileStore, GcpSecretManagerStore,
    M2mConfig, M2mStore, VaultAuth, VaultConfig, VaultStore, aws_secrets_manager,
    gcp_secret_manager,
};

pub const PRIORITY_M2M: u32 = 10;
pub const PRIORITY_INTEGRATION_STORE: u32 = 20;
pub const PRIORITY_FILE: u32 = 30;
pub const PRIORITY_CLOUD: u32 = 40;
pub const PRIORITY_VAULT: u32 = 50;
pub const PRIORITY_ENV: u32 = 100;

pub const DEFAULT_BOOTSTRAP_STATE_DIR: &str = "data/bootstrap";

/// Which cloud's secret store joins the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudConfig {
    Aws {
        region: String,
        prefix: String,
        endpoint: String,
    },
    Gcp {
        project: String,
        prefix: String,
        endpoint: String,
    },
    Azure {
        vault_url: String,
        tenant: Option<String>,
    },
}

/// The chain's settings, parsed and checked.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    pub bootstrap_state_dir: String,
    pub m2m: Option<M2mConfig>,
    pub cloud: Option<CloudConfig>,
    pub vault: Option<VaultConfig>,
}

struct Collector<'a> {
    env: &'a Environment,
    errors: Vec<ConfigError>,
}

impl Collector<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        self.env.get(name).map(|v| v.trim().to_owned())
    }

    fn required(&mut self, name: &str, why: &str, hint: &str) -> Option<String> {
        let value = self.optional(name);
        if value.is_none() {
            self.errors
                .push(ConfigError::new(name, format!("is required {why}"), hint));
        }
        value
    }

    fn url(&mut self, name: &str, value: Option<String>, hint: &str) -> Option<String> {
        let value = value?;
        match check_url(&value) {
            Ok(_) => Some(value.trim_end_matches('/').to_owned()),
            Err(problem) => {
                self.errors.push(ConfigError::new(name, problem, hint));
                None
            }
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.optional(name).map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "on") => true,
            Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "off") => false,
            Some(_) => {
                self.errors.push(ConfigError::new(
                    name,
                    "is not a boolean",
                    "Use true or false.",
                ));
                false
            }
        }
    }

    /// Validates a naming option through the core's store rules.
    fn naming(&mut self, variable: &str, store: &keys::Store) -> bool {
        match store.validate() {
            Ok(()) => true,
            Err(error) => {
                self.errors
                    .push(ConfigError::from_key_error(variable, &error));
                false
            }
        }
    }
}

impl ChainConfig {
    pub fn from_env(env: &Environment) -> Result<ChainConfig, ConfigErrors> {
        let mut c = Collector {
            env,
            errors: Vec::new(),
        };
        let bootstrap_state_dir = c
            .optional("ALPHASWARM_BOOTSTRAP_STATE_DIR")
            .unwrap_or_else(|| DEFAULT_BOOTSTRAP_STATE_DIR.to_owned());
        c.naming(
            "ALPHASWARM_BOOTSTRAP_STATE_DIR",
            &keys::Store::File {
                bootstrap_state_dir: bootstrap_state_dir.clone(),
            },
        );
        let m2m = m2m(&mut c);
        let cloud = cloud(&mut c);
        let vault = vault(&mut c);
        if c.errors.is_empty() {
            Ok(ChainConfig {
                bootstrap_state_dir,
                m2m,
                cloud,
                vault,
            })
        } else {
            Err(ConfigErrors(c.errors))
        }
    }
}

fn m2m(c: &mut Collector) -> Option<M2mConfig> {
    if !c.flag("ALPHASWARM_AUTH_M2M_ENABLED") {
        return None;
    }
    let why = "when ALPHASWARM_AUTH_M2M_ENABLED is true";
    let token_url = c.required(
        "ALPHASWARM_AUTH_M2M_TOKEN_URL",
        why,
        "Set the OAuth 2.0 token endpoint of the platform's identity provider.",
    );
    let token_url = c.url(
        "ALPHASWARM_AUTH_M2M_TOKEN_URL",
        token_url,
        "Use the identity provider's https token endpoint.",
    );
    let client_id = c.required(
        "ALPHASWARM_AUTH_M2M_CLIENT_ID",
        why,
        "Set the machine client's id.",
    );
    let client_secret = c.required(
        "ALPHASWARM_AUTH_M2M_CLIENT_SECRET",
        why,
        "Set the machine client's secret (mount it from a Kubernetes secret).",
    );
    let keys = match c.optional("ALPHASWARM_AUTH_M2M_KEYS") {
        None => fields::m2m_keys().collect(),
        Some(list) => {
            let parsed: Result<Vec<CredentialKey>, _> = list
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::parse)
                .collect();
            match parsed {
                Ok(keys) => keys,
                Err(error) => {
                    c.errors.push(ConfigError::from_key_error(
                        "ALPHASWARM_AUTH_M2M_KEYS",
                        &error,
                    ));
                    Vec::new()
                }
            }
        }
    };
    Some(M2mConfig {
        token_url: token_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        scope: c.optional("ALPHASWARM_AUTH_M2M_SCOPE"),
        audience: c.optional("ALPHASWARM_AUTH_M2M_AUDIENCE"),
        keys,
    })
}

fn cloud(c: &mut Collector) -> Option<CloudConfig> {
    let variable = "ALPHASWARM_DEFAULT_CLOUD_PROVIDER";
    let provider = c.optional(variable)?.to_ascii_lowercase();
    match provider.as_str() {
        "aws" => {
            let region = c
                .optional("ALPHASWARM_AWS_REGION")
                .or_else(|| c.optional("AWS_REGION"));
            if region.is_none() {
                c.errors.push(ConfigError::new(
                    "ALPHASWARM_AWS_REGION",
                    "is required when ALPHASWARM_DEFAULT_CLOUD_PROVIDER is aws",
                    "Set the region of the secrets, e.g. us-east-1.",
                ));
            }
            let region = region.filter(|r| {
                let ok = is_region(r);
                if !ok {
                    c.errors.push(ConfigError::new(
                        "ALPHASWARM_AWS_REGION",
                        "is not an AWS region code",
                        "Use a region code such as us-east-1 or eu-west-3.",
                    ));
                }
                ok
            })?;
            let prefix = c
                .optional("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX")
                .unwrap_or_else(|| keys::DEFAULT_AWS_PREFIX.to_owned());
            let ok = c.naming(
                "ALPHASWARM_AWS_SECRETSMANAGER_PREFIX",
                &keys::Store::AwsSecretsManager {
                    prefix: prefix.clone(),
                },
            );
            let endpoint = aws_secrets_manager::endpoint(c.env, &region);
            let variable = if c.optional("AWS_ENDPOINT_URL_SECRETS_MANAGER").is_some() {
                "AWS_ENDPOINT_URL_SECRETS_MANAGER"
            } else {
                "AWS_ENDPOINT_URL"
            };
            let endpoint = c.url(
                variable,
                Some(endpoint),
                "Unset it for the regional endpoint, or use an https VPC endpoint URL.",
            )?;
            ok.then_some(CloudConfig::Aws {
                region,
                prefix,
                endpoint,
            })
        }
        "gcp" => {
            let project = c.required(
                "ALPHASWARM_GCP_PROJECT_ID",
                "when ALPHASWARM_DEFAULT_CLOUD_PROVIDER is gcp",
                "Set the project that holds the secrets, e.g. alphaswarm-prod.",
            )?;
            let prefix = c
                .optional("ALPHASWARM_GCP_SECRET_PREFIX")
                .unwrap_or_else(|| keys::DEFAULT_GCP_PREFIX.to_owned());
            let store = keys::Store::GcpSecretManager {
                project: project.clone(),
                prefix: prefix.clone(),
            };
            let variable = match store.validate() {
                Err(keys::KeyError::InvalidStoreOption {
                    field: "project", ..
                }) => "ALPHASWARM_GCP_PROJECT_ID",
                _ => "ALPHASWARM_GCP_SECRET_PREFIX",
            };
            let ok = c.naming(variable, &store);
            let endpoint = c
                .optional("ALPHASWARM_GCP_SECRETMANAGER_ENDPOINT")
                .unwrap_or_else(|| gcp_secret_manager::DEFAULT_ENDPOINT.to_owned());
            let endpoint = c.url(
                "ALPHASWARM_GCP_SECRETMANAGER_ENDPOINT",
                Some(endpoint),
                "Unset it for the public endpoint, or use a Private Service Connect https URL.",
            )?;
            ok.then_some(CloudConfig::Gcp {
                project,
                prefix,
                endpoint,
            })
        }
        "azure" => {
            let url = c.required(
                "ALPHASWARM_AZURE_KEYVAULT_URL",
                "when ALPHASWARM_DEFAULT_CLOUD_PROVIDER is azure",
                "Set the vault URL, e.g. https://alphaswarm-vault.vault.azure.net/.",
            );
            let vault_url = c.url(
                "ALPHASWARM_AZURE_KEYVAULT_URL",
                url,
                "Use the vault's https URL from the portal (Vault URI).",
            )?;
            Some(CloudConfig::Azure {
                vault_url,
                tenant: c.optional("ALPHASWARM_AZURE_TENANT_ID"),
            })
        }
        _ => {
            c.errors.push(ConfigError::new(
                variable,
                "is not one of aws, gcp, azure",
                "Set aws, gcp or azure, or unset it to use no cloud secret store.",
            ));
            None
        }
    }
}

fn is_region(region: &str) -> bool {
    (9..=32).contains(&region.len())
        && region
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        && region.starts_with(|ch: char| ch.is_ascii_lowercase())
        && region.ends_with(|ch: char| ch.is_ascii_digit())
}

fn vault(c: &mut Collector) -> Option<VaultConfig> {
    let role_id = c.optional("ALPHASWARM_VAULT_ROLE_ID");
    let secret_id = c.optional("ALPHASWARM_VAULT_SECRET_ID");
    let Some(addr) = c.optional("ALPHASWARM_VAULT_ADDR") else {
        let stray: Vec<String> = c
            .env
            .names_with_prefix("ALPHASWARM_VAULT_")
            .map(str::to_owned)
            .collect();
        if !stray.is_empty() {
            c.errors.push(ConfigError::new(
                "ALPHASWARM_VAULT_ADDR",
                format!("is required when {} is set", stray.join(", ")),
                "Set the Vault address, or unset the other Vault variables.",
            ));
        }
        return None;
    };
    let addr = c.url(
        "ALPHASWARM_VAULT_ADDR",
        Some(addr),
        "Use Vault's https address, e.g. https://vault.example.com.",
    );
    let mount = c
        .optional("ALPHASWARM_VAULT_MOUNT")
        .unwrap_or_else(|| keys::DEFAULT_VAULT_MOUNT.to_owned());
    let ok = c.naming(
        "ALPHASWARM_VAULT_MOUNT",
        &keys::Store::VaultKv2 {
            mount: mount.clone(),
            prefix: keys::DEFAULT_VAULT_PREFIX.to_owned(),
        },
    );
    let auth = match (role_id, secret_id, c.optional("VAULT_TOKEN")) {
        (Some(role_id), Some(secret_id), _) => Some(VaultAuth::AppRole { role_id, secret_id }),
        (Some(_), None, _) | (None, Some(_), _) => {
            let missing = if c.optional("ALPHASWARM_VAULT_ROLE_ID").is_none() {
                "ALPHASWARM_VAULT_ROLE_ID"
            } else {
                "ALPHASWARM_VAULT_SECRET_ID"
            };
            c.errors.push(ConfigError::new(
                missing,
                "AppRole needs both ALPHASWARM_VAULT_ROLE_ID and ALPHASWARM_VAULT_SECRET_ID",
                "Set both from the AppRole (role-id and a secret-id), or neither to use VAULT_TOKEN.",
            ));
            None
        }
        (None, None, Some(token)) => Some(VaultAuth::Token(token)),
        (None, None, None) => {
            c.errors.push(ConfigError::new(
                "ALPHASWARM_VAULT_ROLE_ID",
                "Vault has no login: neither AppRole (ALPHASWARM_VAULT_ROLE_ID + ALPHASWARM_VAULT_SECRET_ID) nor VAULT_TOKEN is set",
                "Create an AppRole with read-only access to the secrets and set its role id and a secret id.",
            ));
            None
        }
    };
    ok.then_some(())?;
    Some(VaultConfig {
        addr: addr?,
        namespace: c.optional("ALPHASWARM_VAULT_NAMESPACE"),
        mount,
        prefix: keys::DEFAULT_VAULT_PREFIX.to_owned(),
        auth: auth?,
    })
}

/// Builds the chain `config` describes. Identity sources (AWS chain, ADC,
/// Azure identity) are chosen here, so their misconfigurations surface now.
pub fn build(
    config: &ChainConfig,
    env: &Environment,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
) -> Result<CredentialResolver, ConfigErrors> {
    let mut errors = Vec::new();
    let mut resolver = CredentialResolver::new();
    resolver.push(PRIORITY_ENV, Arc::new(EnvStore::new(env.clone())));
    match FileStore::new(&config.bootstrap_state_dir) {
        Ok(store) => resolver.push(PRIORITY_FILE, Arc::new(store)),
        Err(e) => errors.push(ConfigError::from_key_error(
            "ALPHASWARM_BOOTSTRAP_STATE_DIR",
            &e,
        )),
    }
    if let Some(m2m) = &config.m2m {
        resolver.push(
            PRIORITY_M2M,
            Arc::new(M2mStore::new(m2m.clone(), http.clone(), clock.clone())),
        );
    }
    match &config.cloud {
        None => {}
        Some(CloudConfig::Aws {
            region,
            prefix,
            endpoint,
        }) => {
            let store = AwsCredentialChain::from_env(env, region, http.clone(), clock.clone())
                .and_then(|chain| {
                    AwsSecretsManagerStore::new(
                        prefix,
                        region,
                        endpoint.clone(),
                        chain,
                        http.clone(),
                    )
                    .map_err(|e| {
                        ConfigError::from_key_error("ALPHASWARM_AWS_SECRETSMANAGER_PREFIX", &e)
                    })
                });
            match store {
                Ok(store) => resolver.push(PRIORITY_CLOUD, Arc::new(store)),
                Err(e) => errors.push(e),
            }
        }
        Some(CloudConfig::Gcp {
            project,
            prefix,
            endpoint,
        }) => {
            let store =
                GcpCredentials::from_env(env, http.clone(), clock.clone()).and_then(|creds| {
                    GcpSecretManagerStore::new(
                        project,
                        prefix,
                        endpoint.clone(),
                        creds,
                        http.clone(),
                    )
                    .map_err(|e| ConfigError::from_key_error("ALPHASWARM_GCP_SECRET_PREFIX", &e))
                });
            match store {
                Ok(store) => resolver.push(PRIORITY_CLOUD, Arc::new(store)),
                Err(e) => errors.push(e),
            }
        }
        Some(CloudConfig::Azure { vault_url, tenant }) => {
            let store =
                AzureCredential::from_env(env, tenant.as_deref(), http.clone(), clock.clone())
                    .and_then(|credential| {
                        AzureKeyVaultStore::new(vault_url, credential, http.clone()).map_err(
                            |problem| {
                                ConfigError::new(
                                    "ALPHASWARM_AZURE_KEYVAULT_URL",
                                    problem,
                                    "Use the vault's https URL.",
                                )
                            },
                        )
                    });
            match store {
                Ok(store) => resolver.push(PRIORITY_CLOUD, Arc::new(store)),
                Err(e) => errors.push(e),
            }
        }
    }
    if let Some(vault) = &config.vault {
        match VaultStore::new(vault.clone(), http.clone(), clock.clone()) {
            Ok(store) => resolver.push(PRIORITY_VAULT, Arc::new(store)),
            Err(e) => errors.push(ConfigError::from_key_error("ALPHASWARM_VAULT_MOUNT", &e)),
        }
    }
    if errors.is_empty() {
        Ok(resolver)
    } else {
        Err(ConfigErrors(errors))
    }
}

impl CredentialResolver {
    /// The default chain for `env` (seed 000), with the real clock.
    pub fn from_env(env: &Environment) -> Result<CredentialResolver, ConfigErrors> {
        let config = ChainConfig::from_env(env)?;
        let http = crate::http::client().map_err(|problem| {
            ConfigErrors(vec![ConfigError::new(
                "(TLS)",
                problem,
                "Check the system's TLS set-up.",
            )])
        })?;
        build(&config, env, http, Arc::new(SystemClock))
    }
}
