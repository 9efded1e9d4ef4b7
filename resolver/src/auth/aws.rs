//! The AWS credential chain, in the SDKs' order: environment keys, the shared
//! profile files, web identity (IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE` +
//! `AWS_ROLE_ARN`), container credentials (`AWS_CONTAINER_CREDENTIALS_*`:
//! EKS Pod Identity, ECS), then IMDSv2. The provider is chosen once, at
//! start-up, from what is configured; temporary credentials are cached until
//! shortly before they expire.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::clock::Clock;
use crate::environment::Environment;
use crate::error::{ConfigError, StoreError, server_text};
use crate::http::{TokenCache, read, transport_error};

/// Credentials to sign with. `Debug` shows the key id only.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

enum Provider {
    Static {
        credentials: AwsCredentials,
        origin: String,
    },
    Temporary(Temporary),
}

/// Providers of credentials that expire.
enum Temporary {
    WebIdentity {
        token_file: PathBuf,
        role_arn: String,
        session_name: String,
        sts_url: String,
    },
    Container {
        url: String,
        token: Option<String>,
        token_file: Option<PathBuf>,
    },
    Imds {
        endpoint: String,
    },
}

/// The chosen provider plus its cache.
pub struct AwsCredentialChain {
    provider: Provider,
    http: reqwest::Client,
    cache: TokenCache<AwsCredentials>,
}

const CONTAINER_HOST: &str = "http://169.254.170.2";
const IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// Link-local and loopback hosts the SDKs allow for plain-http container credentials.
const CONTAINER_HTTP_HOSTS: [&str; 3] = ["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"];
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);

impl AwsCredentialChain {
    /// Picks the provider from `env` (and the profile files it names).
    pub fn from_env(
        env: &Environment,
        region: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let provider = choose(env, region)?;
        Ok(AwsCredentialChain {
            provider,
            http,
            cache: TokenCache::new(clock),
        })
    }

    /// Where the credentials come from, for `describe()`; no secret.
    pub fn describe(&self) -> String {
        match &self.provider {
            Provider::Static { origin, .. } => origin.clone(),
            Provider::Temporary(Temporary::WebIdentity { role_arn, .. }) => {
                format!("web identity (AWS_WEB_IDENTITY_TOKEN_FILE) as {role_arn}")
            }
            Provider::Temporary(Temporary::Container { url, .. }) => {
                format!("container credentials from {url}")
            }
            Provider::Temporary(Temporary::Imds { endpoint }) => {
                format!("instance metadata (IMDSv2) at {endpoint}")
            }
        }
    }

    pub async fn credentials(&self) -> Result<AwsCredentials, StoreError> {
        let provider = match &self.provider {
            Provider::Static { credentials, .. } => return Ok(credentials.clone()),
            Provider::Temporary(provider) => provider,
        };
        self.cache
            .get_or_fetch(|| async {
                let temporary = match provider {
                    Temporary::WebIdentity {
                        token_file,
                        role_arn,
                        session_name,
                        sts_url,
                    } => {
                        self.web_identity(token_file, role_arn, session_name, sts_url)
                            .await?
                    }
                    Temporary::Container {
                        url,
                        token,
                        token_file,
                    } => {
                        self.container(url, token.as_deref(), token_file.as_deref())
                            .await?
                    }
                    Temporary::Imds { endpoint } => self.imds(endpoint).await?,
                };
                Ok((temporary.credentials, temporary.expires_at))
            })
            .await
    }

    /// Drops cached temporary credentials (the store said they expired).
    pub async fn invalidate(&self) {
        self.cache.invalidate().await;
    }

    async fn web_identity(
        &self,
        token_file: &Path,
        role_arn: &str,
        session_name: &str,
        sts_url: &str,
    ) -> Result<Expiring, StoreError> {
        // Re-read each time: the kubelet rotates the projected token.
        let token = read_token_file(token_file, "AWS_WEB_IDENTITY_TOKEN_FILE")?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "AssumeRoleWithWebIdentity")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", role_arn)
            .append_pair("RoleSessionName", session_name)
            .append_pair("WebIdentityToken", &token)
            .finish();
        let who = "STS AssumeRoleWithWebIdentity";
        let response = self
            .http
            .post(format!("{}/", sts_url.trim_end_matches('/')))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(who, &e))?;
        let (status, text) = read(who, response).await?;
        if status != 200 {
            let code = sts_error_code(&text).unwrap_or_else(|| "no error code".to_owned());
            return Err(StoreError::unauthenticated(
                format!("{who} for {role_arn} was refused ({status} {code})"),
                "Check the role's trust policy: the cluster's OIDC provider as Federated principal, and the service account as :sub condition (the annotation eks.amazonaws.com/role-arn).",
            ));
        }
        let parsed: WebIdentityResponse = quick_xml::de::from_str(&text)
            .map_err(|_| StoreError::unexpected(format!("{who} answered without credentials")))?;
        parsed.result.credentials.into_temporary(who)
    }

    async fn container(
        &self,
        url: &str,
        token: Option<&str>,
        token_file: Option<&Path>,
    ) -> Result<Expiring, StoreError> {
        let who = "the container credentials endpoint";
        let mut request = self.http.get(url);
        let authorization = match token_file {
            Some(path) => Some(read_token_file(
                path,
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            )?),
            None => token.map(str::to_owned),
        };
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let response = request.send().await.map_err(|e| transport_error(who, &e))?;
        let (status, text) = read(who, response).await?;
        if status != 200 {
            return Err(StoreError::unauthenticated(
                format!("{who} answered {status}"),
                "Check the pod identity association (EKS) or the task role (ECS).",
            ));
        }
        serde_json::from_str::<JsonCredentials>(&text)
            .map_err(|_| StoreError::unexpected(format!("{who} answered without credentials")))?
            .into_temporary(who)
    }

    async fn imds(&self, endpoint: &str) -> Result<Expiring, StoreError> {
        let who = "the instance metadata service";
        let base = endpoint.trim_end_matches('/');
        let fail = |e: reqwest::Error| transport_error(who, &e);
        let token = self
            .http
            .put(format!("{base}/latest/api/token"))
            .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
            .timeout(IMDS_TIMEOUT)
            .send()
            .await
            .map_err(fail)?;
        let (status, token) = read(who, token).await?;
        if status != 200 {
            return Err(StoreError::unauthenticated(
                format!("{who} refused a session token ({status})"),
                "Check the instance's metadata options (IMDSv2 enabled, hop limit 2 for containers).",
            ));
        }
        let get = |path: String| {
            self.http
                .get(format!(
                    "{base}/latest/meta-data/iam/security-credentials/{path}"
                ))
                .header("x-aws-ec2-metadata-token", token.trim())
                .timeout(IMDS_TIMEOUT)
                .send()
        };
        let (status, roles) = read(who, get(String::new()).await.map_err(fail)?).await?;
        let role = roles.lines().next().unwrap_or_default().trim().to_owned();
        if status != 200 || role.is_empty() {
            return Err(StoreError::unauthenticated(
                format!("{who} has no instance role ({status})"),
                "Attach an instance profile with a role to the instance.",
            ));
        }
        let (status, text) = read(who, get(role).await.map_err(fail)?).await?;
        if status != 200 {
            return Err(StoreError::unauthenticated(
                format!("{who} gave no credentials for the instance role ({status})"),
                "Check the instance profile.",
            ));
        }
        serde_json::from_str::<JsonCredentials>(&text)
            .map_err(|_| StoreError::unexpected(format!("{who} answered without credentials")))?
            .into_temporary(who)
    }
}

struct Expiring {
    credentials: AwsCredentials,
    expires_at: SystemTime,
}

fn parse_expiration(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// The JSON shape of container and instance credentials.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonCredentials {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    token: Option<String>,
    expiration: String,
}

impl JsonCredentials {
    fn into_temporary(self, who: &str) -> Result<Expiring, StoreError> {
        let expires_at = parse_expiration(&self.expiration).ok_or_else(|| {
            StoreError::unexpected(format!("{who} gave credentials without a readable expiry"))
        })?;
        Ok(Expiring {
            credentials: AwsCredentials {
                access_key_id: self.access_key_id,
                secret_access_key: self.secret_access_key,
                session_token: self.token,
            },
            expires_at,
        })
    }
}

#[derive(Deserialize)]
struct WebIdentityResponse {
    #[serde(rename = "AssumeRoleWithWebIdentityResult")]
    result: WebIdentityResult,
}

#[derive(Deserialize)]
struct WebIdentityResult {
    #[serde(rename = "Credentials")]
    credentials: XmlCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

impl XmlCredentials {
    fn into_temporary(self, who: &str) -> Result<Expiring, StoreError> {
        JsonCredentials {
            access_key_id: self.access_key_id,
            secret_access_key: self.secret_access_key,
            token: Some(self.session_token),
            expiration: self.expiration,
        }
        .into_temporary(who)
    }
}

/// `<Error><Code>…</Code>` of an STS error answer.
fn sts_error_code(xml: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorResponse {
        #[serde(rename = "Error")]
        error: ErrorBody,
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "Code")]
        code: String,
    }
    quick_xml::de::from_str::<ErrorResponse>(xml)
        .ok()
        .map(|e| server_text(&e.error.code))
}

fn read_token_file(path: &Path, variable: &str) -> Result<String, StoreError> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_owned())
        .map_err(|e| {
            StoreError::unauthenticated(
                format!(
                    "{variable} {} cannot be read ({})",
                    path.display(),
                    e.kind()
                ),
                "Check the projected service-account token volume of the pod.",
            )
        })
}

/// The STS endpoint: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, else regional.
pub fn sts_url(env: &Environment, region: &str) -> String {
    env.get("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("https://sts.{region}.{}", dns_suffix(region)))
}

pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

fn choose(env: &Environment, region: &str) -> Result<Provider, ConfigError> {
    match (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => {
            return Ok(Provider::Static {
                credentials: AwsCredentials {
                    access_key_id: id.to_owned(),
                    secret_access_key: secret.to_owned(),
                    session_token: env.get("AWS_SESSION_TOKEN").map(str::to_owned),
                },
                origin: "environment (AWS_ACCESS_KEY_ID)".to_owned(),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::new(
                "AWS_ACCESS_KEY_ID",
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
                "Set both, or neither to use the pod's web identity or instance role.",
            ));
        }
        (None, None) => {}
    }
    if let Some(provider) = profile(env)? {
        return Ok(provider);
    }
    if let Some(token_file) = env.get("AWS_WEB_IDENTITY_TOKEN_FILE") {
        let role_arn = env.get("AWS_ROLE_ARN").ok_or_else(|| {
            ConfigError::new(
                "AWS_ROLE_ARN",
                "is required with AWS_WEB_IDENTITY_TOKEN_FILE",
                "Annotate the service account with eks.amazonaws.com/role-arn (the webhook sets AWS_ROLE_ARN).",
            )
        })?;
        let session_name = env
            .get("AWS_ROLE_SESSION_NAME")
            .unwrap_or("alphaswarm-resolver")
            .to_owned();
        return Ok(Provider::Temporary(Temporary::WebIdentity {
            token_file: PathBuf::from(token_file),
            role_arn: role_arn.to_owned(),
            session_name,
            sts_url: sts_url(env, region),
        }));
    }
    if let Some(url) = container_url(env)? {
        return Ok(Provider::Temporary(Temporary::Container {
            url,
            token: env
                .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(str::to_owned),
            token_file: env
                .get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
                .map(PathBuf::from),
        }));
    }
    if env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(ConfigError::new(
            "AWS_ACCESS_KEY_ID",
            "no AWS credentials are configured (no keys, profile, web identity or container credentials, and AWS_EC2_METADATA_DISABLED=true)",
            "On EKS annotate the service account for IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) or use Pod Identity; elsewhere set AWS_PROFILE or the key variables.",
        ));
    }
    Ok(Provider::Temporary(Temporary::Imds {
        endpoint: env
            .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or(IMDS_ENDPOINT)
            .to_owned(),
    }))
}

fn container_url(env: &Environment) -> Result<Option<String>, ConfigError> {
    if let Some(relative) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(Some(format!("{CONTAINER_HOST}{relative}")));
    }
    let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
        return Ok(None);
    };
    let bad = |problem: &str| {
        ConfigError::new(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            problem,
            "Use https, or http to a loopback address or the EKS/ECS link-local agent.",
        )
    };
    let url = reqwest::Url::parse(full).map_err(|_| bad("is not a URL"))?;
    let host = url.host_str().unwrap_or_default();
    let allowed = url.scheme() == "https"
        || (url.scheme() == "http"
            && (CONTAINER_HTTP_HOSTS.contains(&host) || crate::http::check_url(full).is_ok()));
    if !allowed {
        return Err(bad(
            "uses plain http to a host that is neither loopback nor the container agent",
        ));
    }
    Ok(Some(full.to_owned()))
}

/// Static keys from the shared files for `AWS_PROFILE` (default `default`).
fn profile(env: &Environment) -> Result<Option<Provider>, ConfigError> {
    let home = env.home();
    let credentials_file = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config_file = env
        .get("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let explicit = env.get("AWS_PROFILE");
    let name = explicit.unwrap_or("default");
    let mut section = BTreeMap::new();
    let mut found_in = Vec::new();
    // The credentials file wins over the config file for the same setting.
    for (file, header) in [
        (
            config_file,
            if name == "default" {
                "default".to_owned()
            } else {
                format!("profile {name}")
            },
        ),
        (credentials_file, name.to_owned()),
    ] {
        let Some(file) = file else { continue };
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Some(values) = ini_section(&text, &header) {
            found_in.push(file.display().to_string());
            section.extend(values);
        }
    }
    if found_in.is_empty() {
        return match explicit {
            Some(profile) => Err(ConfigError::new(
                "AWS_PROFILE",
                format!("profile {profile} is in neither shared AWS file"),
                "Create the profile in ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE), or unset AWS_PROFILE.",
            )),
            None => Ok(None),
        };
    }
    let origin = format!("profile {name} in {}", found_in.join(" and "));
    match (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => Ok(Some(Provider::Static {
            credentials: AwsCredentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: section.get("aws_session_token").cloned(),
            },
            origin,
        })),
        _ if explicit.is_none() => Ok(None),
        _ => Err(ConfigError::new(
            "AWS_PROFILE",
            format!(
                "{origin} has no aws_access_key_id/aws_secret_access_key (role, SSO and process profiles are not supported here)"
            ),
            "Use static keys in the profile, or web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) on a cluster.",
        )),
    }
}

/// The `key = value` pairs of `[header]` in an INI text.
fn ini_section(text: &str, header: &str) -> Option<BTreeMap<String, String>> {
    let mut current: Option<bool> = None;
    let mut values = BTreeMap::new();
    let mut seen = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let matches = name.split_whitespace().collect::<Vec<_>>().join(" ") == header;
            seen |= matches;
            current = Some(matches);
            continue;
        }
        if current == Some(true)
            && let Some((k, v)) = line.split_once('=')
        {
            values.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    seen.then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_are_read_by_exact_header() {
        let text = "[default]\naws_access_key_id = AKIADEFAULT\n# c\n[profile  ops]\naws_access_key_id=AKIAOPS\n[ops]\nx=1\n";
        assert_eq!(
            ini_section(text, "default").unwrap()["aws_access_key_id"],
            "AKIADEFAULT"
        );
        assert_eq!(
            ini_section(text, "profile ops").unwrap()["aws_access_key_id"],
            "AKIAOPS"
        );
        assert_eq!(ini_section(text, "ops").unwrap().len(), 1);
        assert!(ini_section(text, "missing").is_none());
    }

    #[test]
    fn expirations_are_rfc3339() {
        assert_eq!(
            parse_expiration("1970-01-01T00:01:40Z"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100))
        );
        assert!(parse_expiration("tomorrow").is_none());
    }
}
