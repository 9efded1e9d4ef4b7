//! The proxy's own secrets, resolved through the `CredentialResolver` chain
//! (seeds 000/002; seed 004 retires plain environment variables), and the
//! proxy's side of the chain: its integration store as `integration_store`
//! ([`integration`]), the describe route and credential minting ([`routes`]).
//!
//! Each secret has a [`CredentialKey`] under the service `alphaswarm_admin`,
//! chosen so the env store's naming (`<SERVICE>_<PURPOSE>`) is exactly the
//! variable the proxy always read: the README's run command and every
//! existing deployment keep working, while Vault, a cloud secret store or a
//! bootstrap file may hold the value instead (they rank above env).
//!
//! | key | env store name | field |
//! |---|---|---|
//! | `alphaswarm_admin:cloud_aws_external_id_secret` | `ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET` | `credential` |
//! | `alphaswarm_admin:integrations_key` | `ALPHASWARM_ADMIN_INTEGRATIONS_KEY` | `credential` |
//! | `alphaswarm_admin:aws_platform` | `ALPHASWARM_ADMIN_AWS_PLATFORM_<FIELD>` | `access_key_id`, `secret_access_key`, `session_token` |
//!
//! The platform credentials fall back to the standard AWS variables
//! (`AWS_ACCESS_KEY_ID`, ...) when no store holds the key, as every AWS SDK
//! does. The chain that resolves these has no `integration_store`: the
//! integrations key is what opens that store.

pub mod integration;
pub mod routes;

use crate::app::StartError;
use crate::config::{self, Config};
use alphaswarm_core::keys::CredentialKey;
use alphaswarm_resolver::{CredentialResolver, Environment, ResolveError, Source};
use serde::Serialize;
use std::collections::HashMap;

/// The service every key of the proxy's own secrets is under.
pub const SERVICE: &str = "alphaswarm_admin";

/// One of the proxy's own secrets: its key and the settings it feeds.
#[derive(Debug, Clone, Copy)]
pub struct OwnSecret {
    pub purpose: &'static str,
    /// `(field of the credential, configuration variable it fills)`.
    pub fields: &'static [(&'static str, &'static str)],
    /// Fields that must be there when the key resolves.
    pub required: &'static [&'static str],
}

pub const EXTERNAL_ID_SECRET: OwnSecret = OwnSecret {
    purpose: "cloud_aws_external_id_secret",
    fields: &[("credential", config::EXTERNAL_ID_SECRET)],
    required: &["credential"],
};

pub const INTEGRATIONS_KEY: OwnSecret = OwnSecret {
    purpose: "integrations_key",
    fields: &[("credential", config::INTEGRATIONS_KEY)],
    required: &["credential"],
};

pub const AWS_PLATFORM: OwnSecret = OwnSecret {
    purpose: "aws_platform",
    fields: &[
        ("access_key_id", "AWS_ACCESS_KEY_ID"),
        ("secret_access_key", "AWS_SECRET_ACCESS_KEY"),
        ("session_token", "AWS_SESSION_TOKEN"),
    ],
    required: &["access_key_id", "secret_access_key"],
};

pub const OWN_SECRETS: [OwnSecret; 3] = [EXTERNAL_ID_SECRET, INTEGRATIONS_KEY, AWS_PLATFORM];

impl OwnSecret {
    pub fn key(&self) -> CredentialKey {
        CredentialKey::new(SERVICE, self.purpose).expect("the proxy's own keys are valid")
    }
}

/// Where one of the proxy's own secrets came from, for describe; no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnSecretSource {
    pub credential_key: String,
    /// The store that answered; `None` when none held it (the setting is unset).
    pub source: Option<Source>,
    pub fields: Vec<&'static str>,
    /// Sandbox mode's settings replace whatever the store answered (the
    /// platform key is the simulated account's), so `source` is not in use.
    pub laid_over: bool,
}

/// The resolver chain and where each of the proxy's own secrets came from.
pub struct Credentials {
    pub resolver: CredentialResolver,
    pub own: Vec<OwnSecretSource>,
    /// Stores that failed but were passed over for a lower one (the
    /// operator should know their secret came from further down).
    pub warnings: Vec<String>,
}

/// Reads the proxy's configuration from `env`, its own secrets resolved
/// through the default chain built from the same variables. Errors name
/// the key, the store and the field, never a value.
pub async fn load(env: Environment) -> Result<(Config, Credentials), StartError> {
    load_laid_over(env, &[]).await
}

/// [`load`] with `over` laid over everything the chain and `env` answer:
/// sandbox mode points every client at the simulated clouds, whatever a
/// store holds (the platform key must be the simulated account's).
pub async fn load_laid_over(
    env: Environment,
    over: &[(&'static str, String)],
) -> Result<(Config, Credentials), StartError> {
    let resolver = CredentialResolver::from_env(&env)
        .map_err(|errors| StartError::Resolver(errors.to_string()))?;
    let mut overlay: HashMap<&'static str, String> = HashMap::new();
    let mut own = Vec::new();
    let mut warnings = Vec::new();
    for secret in OWN_SECRETS {
        let key = secret.key();
        let found = match resolver.resolve_detailed(&key, None).await {
            Ok(resolution) => {
                for failure in &resolution.passed_over {
                    warnings.push(format!(
                        "{key} resolved from {} because a higher store failed: {failure}",
                        resolution.credential.source()
                    ));
                }
                Some(resolution.credential)
            }
            Err(ResolveError::NotFound { .. }) => None,
            Err(error) => return Err(StartError::OwnSecret(error.to_string())),
        };
        if let Some(credential) = &found {
            for field in secret.required {
                credential.require(field).map_err(|e| {
                    StartError::OwnSecret(format!("{e} (resolved from {})", credential.source()))
                })?;
            }
            for (field, variable) in secret.fields {
                if let Some(value) = credential.get(field) {
                    overlay.insert(variable, value.to_owned());
                }
            }
            tracing::info!(%key, source = %credential.source(), "proxy secret resolved");
        }
        own.push(OwnSecretSource {
            credential_key: key.to_string(),
            source: found.as_ref().map(|c| c.source()),
            fields: secret.fields.iter().map(|(field, _)| *field).collect(),
            laid_over: secret
                .required
                .iter()
                .filter_map(|required| secret.fields.iter().find(|(field, _)| field == required))
                .all(|(_, variable)| over.iter().any(|(laid, _)| laid == variable)),
        });
    }
    let config = Config::from_lookup(|name| {
        over.iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.clone())
            .or_else(|| overlay.get(name).cloned())
            .or_else(|| env.get(name).map(str::to_owned))
    })
    .map_err(|error| {
        let secret = OWN_SECRETS
            .iter()
            .find(|s| s.fields.iter().any(|(_, var)| *var == error.var()));
        match secret {
            Some(secret) => StartError::OwnSecret(format!(
                "credential {} (field {}): {error}; store it in a secret store of the chain or set {}",
                secret.key(),
                secret
                    .fields
                    .iter()
                    .find(|(_, var)| *var == error.var())
                    .map_or("credential", |(field, _)| *field),
                error.var()
            )),
            None => StartError::Config(error),
        }
    })?;
    Ok((
        config,
        Credentials {
            resolver,
            own,
            warnings,
        },
    ))
}

/// [`load`] from the process environment.
pub async fn load_from_process() -> Result<(Config, Credentials), StartError> {
    load(Environment::from_process()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use alphaswarm_core::keys::{Store, store_name};

    /// The env store names each key exactly as the variable the proxy
    /// always read, so env keeps working unchanged.
    #[test]
    fn env_names_are_the_proxys_variables() {
        for (secret, variable) in [
            (EXTERNAL_ID_SECRET, config::EXTERNAL_ID_SECRET),
            (INTEGRATIONS_KEY, config::INTEGRATIONS_KEY),
        ] {
            assert_eq!(
                store_name(&secret.key(), &Store::Env).unwrap().name,
                variable
            );
        }
        assert_eq!(
            store_name(&AWS_PLATFORM.key(), &Store::Env).unwrap().name,
            "ALPHASWARM_ADMIN_AWS_PLATFORM"
        );
    }

    /// Describe must not name a store as the platform key's source when
    /// the sandbox replaced the key it answered.
    #[tokio::test]
    async fn a_secret_the_sandbox_replaces_is_marked_laid_over() {
        let env = Environment::from_pairs([
            (
                "ALPHASWARM_ADMIN_AWS_PLATFORM_ACCESS_KEY_ID",
                "AKIAIOSFODNN7EXAMPLE",
            ),
            (
                "ALPHASWARM_ADMIN_AWS_PLATFORM_SECRET_ACCESS_KEY",
                "canary-not-this",
            ),
        ]);
        let sandbox = [
            ("AWS_ACCESS_KEY_ID", "AKIASANDBOXEXAMPLE00".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "sandbox".to_owned()),
        ];
        let (_, laid) = load_laid_over(env.clone(), &sandbox).await.unwrap();
        let (_, plain) = load(env).await.unwrap();
        let platform = |c: &Credentials| {
            c.own
                .iter()
                .find(|o| o.credential_key == AWS_PLATFORM.key().to_string())
                .cloned()
                .unwrap()
        };
        assert_eq!(platform(&laid).source, Some(Source::Env));
        assert!(platform(&laid).laid_over);
        assert!(!platform(&plain).laid_over);
        assert!(laid.own.iter().filter(|o| o.laid_over).count() == 1);
    }
}
