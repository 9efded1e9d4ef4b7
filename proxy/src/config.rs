//! Every setting the proxy reads, parsed once at start-up into [`Config`].
//! A bad or missing value is a [`ConfigError`] naming the env var; values of
//! secret variables are never part of an error or a log line.

use crate::accounts::{AccountsConfig, DOCKERHUB_DEFAULT_URL, HUGGINGFACE_DEFAULT_URL};
use crate::aws::AwsConfig;
use crate::azure::AzureConfig;
use crate::federation::FederationConfig;
use crate::gcp::GcpConfig;
use crate::health::sweep::HealthSettings;
use alphaswarm_core::aws::RoleNamePattern;
use alphaswarm_core::ids::TemplateUrl;
use alphaswarm_core::{AwsAccountId, CoreError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ENV: &str = "ALPHASWARM_ENV";
pub const BIND: &str = "ALPHASWARM_ADMIN_BIND";
pub const STATE_DIR: &str = "ALPHASWARM_ADMIN_STATE_DIR";
pub const AUDIT_PATH: &str = "ALPHASWARM_ADMIN_AUDIT_PATH";
pub const WEB_DIR: &str = "ALPHASWARM_ADMIN_WEB_DIR";
pub const PARTNER_ACCOUNT_ID: &str = "ALPHASWARM_ADMIN_AWS_PARTNER_ACCOUNT_ID";
pub const EXTERNAL_ID_SECRET: &str = "ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET";
pub const ROLE_NAME_PATTERN: &str = "ALPHASWARM_ADMIN_AWS_ROLE_NAME_PATTERN";
pub const INTEGRATIONS_PATH: &str = "ALPHASWARM_ADMIN_INTEGRATIONS_PATH";
pub const INTEGRATIONS_KEY: &str = "ALPHASWARM_ADMIN_INTEGRATIONS_KEY";
/// PostgreSQL for several replicas; unset: SQLite at `<state dir>/alphaswarm.db`.
pub const DATABASE_URL: &str = "ALPHASWARM_ADMIN_DATABASE_URL";
pub const DATABASE_CONNECT_TIMEOUT: &str = "ALPHASWARM_ADMIN_DATABASE_CONNECT_TIMEOUT_SECONDS";
pub const OIDC_ISSUER: &str = "ALPHASWARM_ADMIN_OIDC_ISSUER";
pub const OIDC_JWKS_URL: &str = "ALPHASWARM_ADMIN_OIDC_JWKS_URL";
pub const OIDC_AUDIENCE: &str = "ALPHASWARM_ADMIN_OIDC_AUDIENCE";
pub const STEP_UP_MAX_AGE: &str = "ALPHASWARM_ADMIN_STEP_UP_MAX_AGE_SECONDS";
/// STS/IAM/EC2 base URL override (tests point it at moto or the AWS fake);
/// read by [`AwsConfig`].
pub const AWS_ENDPOINT_URL: &str = crate::aws::ENDPOINT_URL_VAR;
/// IAM alone (tests with moto send SimulatePrincipalPolicy, which moto lacks,
/// to the AWS fake mirroring it); read by [`AwsConfig`].
pub const AWS_IAM_ENDPOINT_URL: &str = crate::aws::IAM_ENDPOINT_URL_VAR;
/// Where the generic CloudFormation template is hosted: enables the
/// bundle's quick-create ("Launch stack") link.
pub const AWS_TEMPLATE_URL: &str = "ALPHASWARM_ADMIN_AWS_TEMPLATE_URL";
pub const AWS_SETTLE_SECONDS: &str = "ALPHASWARM_ADMIN_AWS_SETTLE_SECONDS";
/// Clock skew tolerated on identity-provider tokens (`exp`, `nbf`, `iat`).
pub const OIDC_LEEWAY: &str = "ALPHASWARM_ADMIN_OIDC_LEEWAY_SECONDS";
/// Host names the proxy answers to (DNS-rebinding guard); comma-separated.
pub const ALLOWED_HOSTS: &str = "ALPHASWARM_ADMIN_ALLOWED_HOSTS";
pub const HTTP_HEADER_TIMEOUT: &str = "ALPHASWARM_ADMIN_HTTP_HEADER_TIMEOUT_SECONDS";
pub const HTTP_REQUEST_TIMEOUT: &str = "ALPHASWARM_ADMIN_HTTP_REQUEST_TIMEOUT_SECONDS";
pub const HTTP_MAX_CONNECTIONS: &str = "ALPHASWARM_ADMIN_HTTP_MAX_CONNECTIONS";
/// A signed audit checkpoint after this many rows ...
pub const AUDIT_CHECKPOINT_ROWS: &str = "ALPHASWARM_ADMIN_AUDIT_CHECKPOINT_ROWS";
/// ... and at least this often while rows are being written.
pub const AUDIT_CHECKPOINT_SECONDS: &str = "ALPHASWARM_ADMIN_AUDIT_CHECKPOINT_SECONDS";
/// HuggingFace base URL override (tests and the sandbox: the loopback fake).
pub const HUGGINGFACE_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_HUGGINGFACE_ENDPOINT_URL";
/// Docker Hub base URL override.
pub const DOCKERHUB_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_DOCKERHUB_ENDPOINT_URL";
/// How often every connection is re-checked in the background (0: never).
pub const HEALTH_INTERVAL: &str = "ALPHASWARM_ADMIN_HEALTH_INTERVAL_SECONDS";
/// How many background checks run at once.
pub const HEALTH_CONCURRENCY: &str = "ALPHASWARM_ADMIN_HEALTH_CONCURRENCY";
/// The Cloudflare API base (tests point it at the loopback fake).
pub const CLOUDFLARE_ENDPOINT_URL: &str = "ALPHASWARM_ADMIN_CLOUDFLARE_ENDPOINT_URL";

/// `json` for one JSON object per log line; plain text otherwise.
pub const LOG_FORMAT: &str = "ALPHASWARM_ADMIN_LOG_FORMAT";
/// Every cloud simulated on loopback ([`crate::sandbox`]).
pub const SANDBOX: &str = crate::sandbox::SANDBOX_VAR;

pub const DEFAULT_BIND: &str = "127.0.0.1:8787";

/// A secret value: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub jwks_url: String,
    pub audience: String,
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat` (at most 60).
    pub leeway_seconds: u64,
}

/// The HTTP edge: who may connect, how long they may take, how many at once.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Lower-case host names or IP literals a request's `Host` may name.
    pub allowed_hosts: Vec<String>,
    /// No list was configured: the bind address and `localhost` only.
    pub allowed_hosts_defaulted: bool,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

/// When the audit trail gets a signed checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointSettings {
    pub every_rows: u64,
    pub every: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub state_dir: PathBuf,
    pub audit_path: PathBuf,
    pub web_dir: PathBuf,
    pub partner_account_id: Option<AwsAccountId>,
    /// `None` in development: a per-install secret is minted in the state dir.
    pub external_id_secret: Option<Secret>,
    pub role_name_pattern: RoleNamePattern,
    pub aws_template_url: Option<TemplateUrl>,
    /// The file era's store: imported into the database once, then only read.
    pub integrations_path: PathBuf,
    /// `None` in development: a key is minted once in the state dir.
    pub integrations_key: Option<Secret>,
    /// Where the shared state lives (store, audit chain, import record).
    pub database: crate::db::Target,
    pub database_connect_timeout_seconds: u64,
    pub oidc: Option<OidcConfig>,
    pub step_up_max_age_seconds: u64,
    /// Endpoints, region and the platform's own credentials (AWS_ACCESS_KEY_ID, ...).
    pub aws: AwsConfig,
    pub aws_settle_seconds: u64,
    pub http: HttpSettings,
    pub audit_checkpoints: CheckpointSettings,
    /// AlphaSwarm's OIDC issuer (ALPHASWARM_ADMIN_FEDERATION_ISSUER).
    pub federation: FederationConfig,
    /// Entra/ARM endpoints, audience, the shared app (ALPHASWARM_ADMIN_AZURE_*).
    pub azure: AzureConfig,
    /// STS/IAM Credentials/Resource Manager/Compute endpoints, the audience
    /// template, settle time (ALPHASWARM_ADMIN_GCP_*).
    pub gcp: GcpConfig,
    /// HuggingFace and Docker Hub endpoints.
    pub accounts: AccountsConfig,
    /// The background health re-check.
    pub health: HealthSettings,
    /// The Cloudflare API root, without a trailing slash.
    pub cloudflare_endpoint: String,
    /// Sandbox mode: the clouds are the loopback fakes (never in production).
    pub sandbox: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required in production: {why}")]
    RequiredInProduction {
        var: &'static str,
        why: &'static str,
    },
    #[error("{var} is invalid: {why}")]
    Invalid { var: &'static str, why: String },
    #[error("{var} needs {other} as well")]
    Incomplete {
        var: &'static str,
        other: &'static str,
    },
    #[error("{var} is required when {with} is set: {why}")]
    RequiredWith {
        var: &'static str,
        with: &'static str,
        why: &'static str,
    },
}

impl ConfigError {
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::RequiredInProduction { var, .. }
            | ConfigError::Invalid { var, .. }
            | ConfigError::Incomplete { var, .. }
            | ConfigError::RequiredWith { var, .. } => var,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parses from any variable lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let environment = match get(ENV).as_deref() {
            None | Some("development" | "dev" | "local" | "test") => Environment::Development,
            Some("production" | "prod") => Environment::Production,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    var: ENV,
                    why: "use production or development".into(),
                });
            }
        };
        let production = environment == Environment::Production;
        let sandbox = crate::sandbox::requested(&get);
        if production && sandbox {
            return Err(ConfigError::Invalid {
                var: SANDBOX,
                why: "production never simulates clouds: unset it, or leave ALPHASWARM_ENV unset to try the sandbox".into(),
            });
        }
        let bind = get(BIND)
            .unwrap_or_else(|| DEFAULT_BIND.to_owned())
            .parse::<SocketAddr>()
            .map_err(|_| ConfigError::Invalid {
                var: BIND,
                why: "use host:port with an IP address, e.g. 127.0.0.1:8787".into(),
            })?;
        let home = home_dir();
        let state_dir = state_dir(&get, &home);
        let audit_path = get(AUDIT_PATH)
            .map(|p| expand_home(&p, &home))
            .unwrap_or_else(|| state_dir.join("audit.jsonl"));
        let integrations_path = get(INTEGRATIONS_PATH)
            .map(|p| expand_home(&p, &home))
            .unwrap_or_else(|| state_dir.join("integrations.json"));
        let web_dir = get(WEB_DIR)
            .map(|p| expand_home(&p, &home))
            .unwrap_or_else(|| PathBuf::from("web/dist"));

        let partner_account_id = get(PARTNER_ACCOUNT_ID)
            .map(|v| {
                AwsAccountId::parse(v.trim()).map_err(|_| ConfigError::Invalid {
                    var: PARTNER_ACCOUNT_ID,
                    why: "an AWS account id is exactly 12 digits".into(),
                })
            })
            .transpose()?;

        let external_id_secret = get(EXTERNAL_ID_SECRET).map(Secret);
        if let Some(secret) = &external_id_secret
            && secret.expose().len() < 32
        {
            return Err(ConfigError::Invalid {
                var: EXTERNAL_ID_SECRET,
                why: "use at least 32 characters of random data (e.g. openssl rand -hex 32)".into(),
            });
        }
        if production && external_id_secret.is_none() {
            return Err(ConfigError::RequiredInProduction {
                var: EXTERNAL_ID_SECRET,
                why: "external ids must stay stable across restarts and replicas",
            });
        }
        let integrations_key = get(INTEGRATIONS_KEY).map(Secret);
        if production && integrations_key.is_none() {
            return Err(ConfigError::RequiredInProduction {
                var: INTEGRATIONS_KEY,
                why: "an ephemeral key would make the store unreadable after a restart",
            });
        }
        let database = match get(DATABASE_URL) {
            Some(url) => crate::db::Target::postgres(&url)?,
            None => crate::db::Target::Sqlite(state_dir.join(crate::db::DATABASE_FILE)),
        };
        if matches!(database, crate::db::Target::Postgres(_)) {
            // Replicas must agree on these; a per-process default would differ.
            for (var, missing) in [
                (INTEGRATIONS_KEY, integrations_key.is_none()),
                (EXTERNAL_ID_SECRET, external_id_secret.is_none()),
            ] {
                if missing {
                    return Err(ConfigError::RequiredWith {
                        var,
                        with: DATABASE_URL,
                        why: "replicas sharing a database must share it too",
                    });
                }
            }
        }
        let database_connect_timeout_seconds =
            parse_number(&get, DATABASE_CONNECT_TIMEOUT, 10, 1..=300, "seconds")?;
        let role_name_pattern = get(ROLE_NAME_PATTERN)
            .map(|p| {
                RoleNamePattern::parse(p.trim()).map_err(|e| ConfigError::Invalid {
                    var: ROLE_NAME_PATTERN,
                    why: format!("{e} ({})", e.hint()),
                })
            })
            .transpose()?
            .unwrap_or_default();
        let aws_template_url = get(AWS_TEMPLATE_URL)
            .map(|u| {
                TemplateUrl::parse(u.trim()).map_err(|e| ConfigError::Invalid {
                    var: AWS_TEMPLATE_URL,
                    why: format!("{e} ({})", e.hint()),
                })
            })
            .transpose()?;
        let aws = AwsConfig::from_lookup(get).map_err(|e| ConfigError::Invalid {
            var: aws_config_var(e.field()),
            why: e.to_string(),
        })?;

        let leeway_seconds = parse_number(&get, OIDC_LEEWAY, 30, 0..=60, "seconds")?;
        let oidc = match (get(OIDC_ISSUER), get(OIDC_JWKS_URL), get(OIDC_AUDIENCE)) {
            (Some(issuer), Some(jwks_url), Some(audience)) => Some(OidcConfig {
                issuer: identity_provider_url(OIDC_ISSUER, issuer, production)?,
                jwks_url: identity_provider_url(OIDC_JWKS_URL, jwks_url, production)?,
                audience,
                leeway_seconds,
            }),
            (None, None, None) => None,
            (None, _, _) => {
                return Err(ConfigError::Incomplete {
                    var: OIDC_ISSUER,
                    other: "all three OIDC settings",
                });
            }
            (_, None, _) => {
                return Err(ConfigError::Incomplete {
                    var: OIDC_JWKS_URL,
                    other: "all three OIDC settings",
                });
            }
            (_, _, None) => {
                return Err(ConfigError::Incomplete {
                    var: OIDC_AUDIENCE,
                    other: "all three OIDC settings",
                });
            }
        };
        if production && oidc.is_none() {
            return Err(ConfigError::RequiredInProduction {
                var: OIDC_ISSUER,
                why: "production sessions come from the identity provider (issuer, JWKS URL and audience)",
            });
        }
        let step_up_max_age_seconds =
            parse_number(&get, STEP_UP_MAX_AGE, 300, 10..=86_400, "seconds")?;
        let aws_settle_seconds = parse_number(&get, AWS_SETTLE_SECONDS, 30, 0..=600, "seconds")?;
        let audit_checkpoints = CheckpointSettings {
            every_rows: parse_number(&get, AUDIT_CHECKPOINT_ROWS, 100, 1..=1_000_000, "rows")?,
            every: Duration::from_secs(parse_number(
                &get,
                AUDIT_CHECKPOINT_SECONDS,
                300,
                1..=86_400,
                "seconds",
            )?),
        };
        let federation = FederationConfig::from_lookup(get, production)?;
        let azure = AzureConfig::from_lookup(get, production)?;
        let gcp = GcpConfig::from_lookup(get, production)?;
        let http = http_settings(
            &get,
            bind,
            &[
                (AWS_SETTLE_SECONDS, aws_settle_seconds),
                (crate::azure::SETTLE_SECONDS, azure.settle.as_secs()),
                (crate::gcp::SETTLE_SECONDS, gcp.settle.as_secs()),
            ],
        )?;
        let endpoint = |var: &'static str, default: &str| {
            let raw = get(var).unwrap_or_else(|| default.to_owned());
            crate::accounts::checked_endpoint(&raw, production)
                .map_err(|why| ConfigError::Invalid { var, why })
        };
        let accounts = AccountsConfig {
            huggingface_url: endpoint(HUGGINGFACE_ENDPOINT_URL, HUGGINGFACE_DEFAULT_URL)?,
            dockerhub_url: endpoint(DOCKERHUB_ENDPOINT_URL, DOCKERHUB_DEFAULT_URL)?,
        };
        let health = HealthSettings::new(
            parse_number(
                &get,
                HEALTH_INTERVAL,
                6 * 3600,
                0..=7 * 24 * 3600,
                "seconds",
            )?,
            parse_number(&get, HEALTH_CONCURRENCY, 8, 1..=256, "checks")?,
        );
        let cloudflare_endpoint = endpoint(
            CLOUDFLARE_ENDPOINT_URL,
            alphaswarm_core::cloudflare::API_BASE,
        )?;
        Ok(Config {
            environment,
            bind,
            state_dir,
            audit_path,
            web_dir,
            partner_account_id,
            external_id_secret,
            role_name_pattern,
            aws_template_url,
            integrations_path,
            integrations_key,
            database,
            database_connect_timeout_seconds,
            oidc,
            step_up_max_age_seconds,
            aws,
            aws_settle_seconds,
            http,
            audit_checkpoints,
            federation,
            azure,
            gcp,
            accounts,
            health,
            cloudflare_endpoint,
            sandbox,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// The env var an AWS configuration error names (its field is one).
fn aws_config_var(field: Option<&str>) -> &'static str {
    [AWS_ENDPOINT_URL, AWS_IAM_ENDPOINT_URL, "AWS_REGION"]
        .into_iter()
        .find(|var| Some(*var) == field)
        .unwrap_or("AWS_REGION")
}

fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| ConfigError::Invalid {
            var,
            why: format!(
                "use a whole number of {unit} from {} to {}",
                range.start(),
                range.end()
            ),
        })
}

/// An identity-provider URL; production accepts https only (a token
/// signature is worth nothing if its keys can be swapped in transit).
fn identity_provider_url(
    var: &'static str,
    value: String,
    production: bool,
) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(value.trim()).map_err(|_| ConfigError::Invalid {
        var,
        why: "use an absolute https:// URL".into(),
    })?;
    match url.scheme() {
        "https" => Ok(value.trim().to_owned()),
        "http" if !production => Ok(value.trim().to_owned()),
        "http" => Err(ConfigError::Invalid {
            var,
            why: "production needs an https:// URL".into(),
        }),
        _ => Err(ConfigError::Invalid {
            var,
            why: "use an absolute https:// URL".into(),
        }),
    }
}

fn http_settings(
    get: &impl Fn(&str) -> Option<String>,
    bind: SocketAddr,
    settle_windows: &[(&'static str, u64)],
) -> Result<HttpSettings, ConfigError> {
    let allowed_hosts_defaulted = get(ALLOWED_HOSTS).is_none();
    let allowed_hosts = match get(ALLOWED_HOSTS) {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                normalise_host(h).ok_or_else(|| ConfigError::Invalid {
                    var: ALLOWED_HOSTS,
                    why: "list host names or IP addresses separated by commas, e.g. admin.example.com,10.0.0.5".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => default_allowed_hosts(bind),
    };
    let header_timeout = parse_number(get, HTTP_HEADER_TIMEOUT, 10, 1..=300, "seconds")?;
    let request_timeout = parse_number(get, HTTP_REQUEST_TIMEOUT, 120, 1..=3_600, "seconds")?;
    if let Some((settle_var, settle)) = settle_windows
        .iter()
        .find(|(_, settle)| request_timeout <= *settle)
    {
        return Err(ConfigError::Invalid {
            var: HTTP_REQUEST_TIMEOUT,
            why: format!(
                "must be longer than {settle_var} ({settle}), or a step waiting for the cloud to settle would always time out"
            ),
        });
    }
    let max_connections = parse_number(get, HTTP_MAX_CONNECTIONS, 512, 1..=65_536, "connections")?;
    Ok(HttpSettings {
        allowed_hosts,
        allowed_hosts_defaulted,
        header_timeout: Duration::from_secs(header_timeout),
        request_timeout: Duration::from_secs(request_timeout),
        max_connections: max_connections as usize,
    })
}

/// The bind address and `localhost`; a loopback bind also answers to the
/// other loopback spellings a browser may use.
fn default_allowed_hosts(bind: SocketAddr) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned(), host_of_ip(bind.ip())];
    if bind.ip().is_loopback() {
        hosts.extend(["127.0.0.1".to_owned(), "[::1]".to_owned()]);
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

fn host_of_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The host part of a `Host` value or an allowed-hosts entry, lower-cased,
/// without its port; `None` when it is neither a DNS name nor an IP literal.
pub fn normalise_host(value: &str) -> Option<String> {
    let value = value.trim().to_ascii_lowercase();
    if let Some(rest) = value.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: std::net::Ipv6Addr = ip.parse().ok()?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return port_ok.then(|| format!("[{ip}]"));
    }
    if let Ok(ip) = value.parse::<std::net::Ipv6Addr>() {
        return Some(format!("[{ip}]"));
    }
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        Some(_) => return None,
        None => value.as_str(),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    valid.then(|| host.to_owned())
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn state_dir(get: &impl Fn(&str) -> Option<String>, home: &Path) -> PathBuf {
    get(STATE_DIR)
        .map(|p| expand_home(&p, home))
        .unwrap_or_else(|| home.join(".alphaswarm"))
}

/// The state directory alone (the CLI's audit commands need nothing else).
pub fn state_dir_from_env() -> PathBuf {
    state_dir(
        &|name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty()),
        &home_dir(),
    )
}

fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    /// Every setting production requires, with the given secret and key.
    fn complete_production<'a>(secret: &'a str, key: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![
            (ENV, "production"),
            (EXTERNAL_ID_SECRET, secret),
            (INTEGRATIONS_KEY, key),
            (OIDC_ISSUER, "https://idp.example/"),
            (OIDC_JWKS_URL, "https://idp.example/jwks"),
            (OIDC_AUDIENCE, "alphaswarm"),
        ]
    }

    #[test]
    fn zero_config_is_a_local_development_proxy() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8787");
        assert!(config.partner_account_id.is_none());
        assert!(!config.is_production());
        assert_eq!(config.step_up_max_age_seconds, 300);
    }

    #[test]
    fn production_requires_the_secrets_and_names_them() {
        let err = parse(&[(ENV, "production")]).unwrap_err();
        assert_eq!(err.var(), EXTERNAL_ID_SECRET);
        let secret = "s".repeat(40);
        let err = parse(&[(ENV, "production"), (EXTERNAL_ID_SECRET, &secret)]).unwrap_err();
        assert_eq!(err.var(), INTEGRATIONS_KEY);
        let key = "k".repeat(44);
        let err = parse(&[
            (ENV, "production"),
            (EXTERNAL_ID_SECRET, &secret),
            (INTEGRATIONS_KEY, &key),
        ])
        .unwrap_err();
        assert_eq!(err.var(), OIDC_ISSUER);
        let complete = complete_production(&secret, &key);
        assert!(parse(&complete).unwrap().is_production());
        let mut plain_http = complete.clone();
        plain_http.push((CLOUDFLARE_ENDPOINT_URL, "http://127.0.0.1:9/client/v4"));
        assert_eq!(
            parse(&plain_http).unwrap_err().var(),
            CLOUDFLARE_ENDPOINT_URL
        );
    }

    #[test]
    fn production_refuses_the_sandbox_and_development_takes_it() {
        let secret = "s".repeat(40);
        let key = "k".repeat(44);
        let mut production = complete_production(&secret, &key);
        production.push((SANDBOX, "1"));
        let err = parse(&production).unwrap_err();
        assert_eq!(err.var(), SANDBOX);
        assert!(
            err.to_string()
                .contains("production never simulates clouds")
        );
        assert!(parse(&[(SANDBOX, "1")]).unwrap().sandbox);
        assert!(!parse(&[(SANDBOX, "0")]).unwrap().sandbox);
        assert!(!parse(&[]).unwrap().sandbox);
    }

    #[test]
    fn every_default_path_is_under_the_state_dir() {
        let config = parse(&[(STATE_DIR, "/srv/alphaswarm")]).unwrap();
        let crate::db::Target::Sqlite(database) = &config.database else {
            panic!("SQLite is the default database");
        };
        for path in [database, &config.integrations_path, &config.audit_path] {
            assert!(path.starts_with("/srv/alphaswarm"), "{}", path.display());
        }
    }

    #[test]
    fn bad_values_name_the_variable_and_never_echo_secrets() {
        let err = parse(&[(PARTNER_ACCOUNT_ID, "12345")]).unwrap_err();
        assert_eq!(err.var(), PARTNER_ACCOUNT_ID);
        let err = parse(&[(EXTERNAL_ID_SECRET, "short-canary")]).unwrap_err();
        assert_eq!(err.var(), EXTERNAL_ID_SECRET);
        assert!(!err.to_string().contains("short-canary"));
        assert_eq!(parse(&[(BIND, "nowhere")]).unwrap_err().var(), BIND);
        assert_eq!(
            parse(&[(ROLE_NAME_PATTERN, "fixed")]).unwrap_err().var(),
            ROLE_NAME_PATTERN
        );
        assert_eq!(
            parse(&[(OIDC_ISSUER, "https://idp.example/")])
                .unwrap_err()
                .var(),
            OIDC_JWKS_URL
        );
        assert_eq!(
            parse(&[(STEP_UP_MAX_AGE, "0")]).unwrap_err().var(),
            STEP_UP_MAX_AGE
        );
        assert_eq!(
            parse(&[(ROLE_NAME_PATTERN, "broker {org_id}")])
                .unwrap_err()
                .var(),
            ROLE_NAME_PATTERN
        );
        assert_eq!(
            parse(&[(AWS_TEMPLATE_URL, "ftp://example.com/t.json")])
                .unwrap_err()
                .var(),
            AWS_TEMPLATE_URL
        );
        assert_eq!(
            parse(&[(AWS_IAM_ENDPOINT_URL, "file:///etc/passwd")])
                .unwrap_err()
                .var(),
            AWS_IAM_ENDPOINT_URL
        );
        assert_eq!(
            parse(&[("AWS_REGION", "mars")]).unwrap_err().var(),
            "AWS_REGION"
        );
    }

    #[test]
    fn production_refuses_identity_provider_urls_without_tls() {
        let secret = "s".repeat(40);
        let key = "k".repeat(44);
        let with = |issuer: &str, jwks: &str, env: &str| {
            parse(&[
                (ENV, env),
                (EXTERNAL_ID_SECRET, secret.as_str()),
                (INTEGRATIONS_KEY, key.as_str()),
                (OIDC_ISSUER, issuer),
                (OIDC_JWKS_URL, jwks),
                (OIDC_AUDIENCE, "alphaswarm"),
            ])
        };
        let https = ("https://idp.example/", "https://idp.example/jwks");
        assert!(with(https.0, https.1, "production").is_ok());
        let err = with("http://idp.example/", https.1, "production").unwrap_err();
        assert_eq!(err.var(), OIDC_ISSUER);
        let err = with(https.0, "http://idp.example/jwks", "production").unwrap_err();
        assert_eq!(err.var(), OIDC_JWKS_URL);
        assert_eq!(
            with(https.0, "file:///jwks", "development")
                .unwrap_err()
                .var(),
            OIDC_JWKS_URL
        );
        // Development may use a loopback identity provider over plain http.
        let dev = with(
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/jwks",
            "development",
        )
        .unwrap();
        assert_eq!(dev.oidc.unwrap().leeway_seconds, 30);
        assert_eq!(
            parse(&[(OIDC_LEEWAY, "61")]).unwrap_err().var(),
            OIDC_LEEWAY,
            "exp leeway is at most 60 s"
        );
    }

    #[test]
    fn http_edge_settings_have_safe_defaults_and_are_checked() {
        let config = parse(&[]).unwrap();
        assert_eq!(
            config.http.allowed_hosts,
            ["127.0.0.1", "[::1]", "localhost"].map(String::from)
        );
        assert_eq!(config.http.header_timeout, Duration::from_secs(10));
        let config = parse(&[
            (BIND, "0.0.0.0:80"),
            (ALLOWED_HOSTS, "Admin.Example.com, 10.0.0.5:8787,[::1]"),
        ])
        .unwrap();
        assert_eq!(
            config.http.allowed_hosts,
            ["admin.example.com", "10.0.0.5", "[::1]"].map(String::from)
        );
        assert_eq!(
            parse(&[(ALLOWED_HOSTS, "evil.example/x")])
                .unwrap_err()
                .var(),
            ALLOWED_HOSTS
        );
        assert!(parse(&[(HTTP_REQUEST_TIMEOUT, "90")]).is_ok());
        for settle in [AWS_SETTLE_SECONDS, crate::azure::SETTLE_SECONDS] {
            assert_eq!(
                parse(&[(HTTP_REQUEST_TIMEOUT, "90"), (settle, "90")])
                    .unwrap_err()
                    .var(),
                HTTP_REQUEST_TIMEOUT,
                "a request must outlive the {settle} window"
            );
        }
        assert_eq!(
            parse(&[(HTTP_MAX_CONNECTIONS, "0")]).unwrap_err().var(),
            HTTP_MAX_CONNECTIONS
        );
        assert_eq!(
            normalise_host("LOCALHOST:8787").as_deref(),
            Some("localhost")
        );
        assert_eq!(normalise_host("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(normalise_host("evil.example:x"), None);
        assert_eq!(normalise_host(""), None);
    }

    #[test]
    fn account_endpoints_and_health_settings_are_checked() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.accounts.huggingface_url, "https://huggingface.co");
        assert_eq!(config.accounts.dockerhub_url, "https://hub.docker.com");
        assert_eq!(
            config.health.interval,
            Some(std::time::Duration::from_secs(6 * 3600))
        );
        assert_eq!(config.health.concurrency, 8);
        let config = parse(&[
            (HUGGINGFACE_ENDPOINT_URL, "http://127.0.0.1:9000/"),
            (HEALTH_INTERVAL, "0"),
        ])
        .unwrap();
        assert_eq!(config.accounts.huggingface_url, "http://127.0.0.1:9000");
        assert_eq!(config.health.interval, None);
        for (var, value) in [
            (DOCKERHUB_ENDPOINT_URL, "ftp://hub.example"),
            (HEALTH_CONCURRENCY, "0"),
            (HEALTH_INTERVAL, "forever"),
        ] {
            assert_eq!(parse(&[(var, value)]).unwrap_err().var(), var);
        }
        let secret = "s".repeat(40);
        let key = "k".repeat(44);
        let mut production = complete_production(&secret, &key);
        assert!(parse(&production).unwrap().is_production());
        production.push((HUGGINGFACE_ENDPOINT_URL, "http://127.0.0.1:9000"));
        assert_eq!(
            parse(&production).unwrap_err().var(),
            HUGGINGFACE_ENDPOINT_URL
        );
    }

    #[test]
    fn aws_settings_are_parsed_once() {
        let config = parse(&[
            (ROLE_NAME_PATTERN, "as-{org_id}-broker"),
            (
                AWS_TEMPLATE_URL,
                "https://example-bucket.s3.amazonaws.com/alphaswarm.json",
            ),
            (AWS_ENDPOINT_URL, "http://127.0.0.1:5000"),
        ])
        .unwrap();
        assert_eq!(config.role_name_pattern.as_str(), "as-{org_id}-broker");
        assert!(config.aws_template_url.is_some());
        assert_eq!(config.aws.endpoints.sts, "http://127.0.0.1:5000");
        assert!(config.aws.platform.is_none());
    }

    #[test]
    fn the_cloudflare_endpoint_defaults_to_the_real_api_and_is_checked() {
        assert_eq!(
            parse(&[]).unwrap().cloudflare_endpoint,
            "https://api.cloudflare.com/client/v4"
        );
        let config =
            parse(&[(CLOUDFLARE_ENDPOINT_URL, "http://127.0.0.1:8080/client/v4/")]).unwrap();
        assert_eq!(
            config.cloudflare_endpoint,
            "http://127.0.0.1:8080/client/v4"
        );
        for bad in [
            "ftp://example.com/",
            "api.cloudflare.com",
            "https://user:secret-canary@example.com/",
            "https://example.com/?token=x",
        ] {
            let err = parse(&[(CLOUDFLARE_ENDPOINT_URL, bad)]).unwrap_err();
            assert_eq!(err.var(), CLOUDFLARE_ENDPOINT_URL, "{bad}");
            assert!(!err.to_string().contains("secret-canary"));
        }
    }
}
