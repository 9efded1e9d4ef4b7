//! Google Application Default Credentials, in google-auth's order:
//! `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's well-known file, then the
//! metadata server (`GCE_METADATA_HOST`, else `metadata.google.internal`; GKE
//! workload identity answers there). Credential files of type
//! `service_account` (RS256 JWT-bearer grant), `authorized_user` (refresh
//! token) and `external_account` (workload identity federation: a subject
//! token from a file or URL exchanged at STS, optionally impersonating a
//! service account) are supported; AWS- and executable-sourced external
//! accounts are refused with a clear error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::clock::Clock;
use crate::environment::Environment;
use crate::error::{ConfigError, StoreError, server_text};
use crate::http::{
    AccessToken, TokenCache, check_url, post_token_form, read, token_from_response, transport_error,
};

pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const METADATA_HOST: &str = "metadata.google.internal";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ASSERTION_LIFETIME: u64 = 3600;

enum SubjectSource {
    File(PathBuf),
    Url {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

enum SubjectFormat {
    Text,
    Json(String),
}

enum Provider {
    ServiceAccount {
        email: String,
        key: Box<jsonwebtoken::EncodingKey>,
        key_id: Option<String>,
        token_uri: String,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        token_uri: String,
    },
    ExternalAccount {
        audience: String,
        subject_token_type: String,
        token_url: String,
        source: SubjectSource,
        format: SubjectFormat,
        impersonation_url: Option<String>,
        lifetime_seconds: u64,
    },
    Metadata {
        host: String,
    },
}

pub struct GcpCredentials {
    provider: Provider,
    origin: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: TokenCache<AccessToken>,
}

/// The fields of every ADC file type this module reads.
#[derive(Deserialize)]
struct CredentialFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    audience: Option<String>,
    subject_token_type: Option<String>,
    token_url: Option<String>,
    credential_source: Option<CredentialSource>,
    service_account_impersonation_url: Option<String>,
    service_account_impersonation: Option<ImpersonationOptions>,
}

#[derive(Deserialize)]
struct CredentialSource {
    file: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    format: Option<SourceFormat>,
    environment_id: Option<String>,
    executable: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct SourceFormat {
    #[serde(rename = "type")]
    kind: String,
    subject_token_field_name: Option<String>,
}

#[derive(Deserialize)]
struct ImpersonationOptions {
    token_lifetime_seconds: Option<u64>,
}

impl GcpCredentials {
    pub fn from_env(
        env: &Environment,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let (provider, origin) = choose(env)?;
        Ok(GcpCredentials {
            provider,
            origin,
            http,
            cache: TokenCache::new(clock.clone()),
            clock,
        })
    }

    pub fn describe(&self) -> String {
        self.origin.clone()
    }

    pub async fn token(&self) -> Result<AccessToken, StoreError> {
        self.cache
            .get_or_fetch(|| async {
                let token = self.fetch().await?;
                let expires_at = token.expires_at;
                Ok((token, expires_at))
            })
            .await
    }

    pub async fn invalidate(&self) {
        self.cache.invalidate().await;
    }

    async fn fetch(&self) -> Result<AccessToken, StoreError> {
        let now = self.clock.now();
        match &self.provider {
            Provider::ServiceAccount {
                email,
                key,
                key_id,
                token_uri,
            } => {
                let assertion =
                    service_account_assertion(email, key, key_id.clone(), token_uri, now)?;
                post_token_form(
                    &self.http,
                    "Google's token endpoint",
                    token_uri,
                    &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
                    None,
                    now,
                )
                .await
            }
            Provider::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                token_uri,
            } => {
                post_token_form(
                    &self.http,
                    "Google's token endpoint",
                    token_uri,
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", client_id),
                        ("client_secret", client_secret),
                        ("refresh_token", refresh_token),
                    ],
                    None,
                    now,
                )
                .await
            }
            Provider::ExternalAccount {
                audience,
                subject_token_type,
                token_url,
                source,
                format,
                impersonation_url,
                lifetime_seconds,
            } => {
                let subject = self.subject_token(source, format).await?;
                let federated = post_token_form(
                    &self.http,
                    "Google STS",
                    token_url,
                    &[
                        ("grant_type", TOKEN_EXCHANGE),
                        ("audience", audience),
                        ("scope", CLOUD_PLATFORM_SCOPE),
                        ("requested_token_type", ACCESS_TOKEN_TYPE),
                        ("subject_token_type", subject_token_type),
                        ("subject_token", &subject),
                    ],
                    None,
                    now,
                )
                .await?;
                match impersonation_url {
                    Some(url) => self.impersonate(url, &federated, *lifetime_seconds).await,
                    None => Ok(federated),
                }
            }
            Provider::Metadata { host } => {
                let who = "the GCE metadata server";
                let url = format!(
                    "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
                );
                let response = self
                    .http
                    .get(url)
                    .header("metadata-flavor", "Google")
                    .send()
                    .await
                    .map_err(|e| {
                        let mut error = transport_error(who, &e);
                        error.hint = "No Application Default Credentials: set GOOGLE_APPLICATION_CREDENTIALS, or run on GCE/GKE with workload identity.".to_owned();
                        error
                    })?;
                if response
                    .headers()
                    .get("metadata-flavor")
                    .and_then(|v| v.to_str().ok())
                    != Some("Google")
                {
                    return Err(StoreError::unexpected(format!(
                        "{who} answered without Metadata-Flavor: Google"
                    )));
                }
                token_from_response(who, response, now).await
            }
        }
    }

    async fn subject_token(
        &self,
        source: &SubjectSource,
        format: &SubjectFormat,
    ) -> Result<String, StoreError> {
        let text = match source {
            SubjectSource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                StoreError::unauthenticated(
                    format!("the external account's credential_source file {} cannot be read ({})", path.display(), e.kind()),
                    "Check the projected service-account token volume the credential configuration points at.",
                )
            })?,
            SubjectSource::Url { url, headers } => {
                let who = "the external account's credential_source URL";
                let mut request = self.http.get(url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let response = request.send().await.map_err(|e| transport_error(who, &e))?;
                let (status, text) = read(who, response).await?;
                if status != 200 {
                    return Err(StoreError::unauthenticated(
                        format!("{who} answered {status}"),
                        "Check the credential configuration's credential_source.",
                    ));
                }
                text
            }
        };
        let token = match format {
            SubjectFormat::Text => text.trim().to_owned(),
            SubjectFormat::Json(field) => serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get(field).and_then(|t| t.as_str()).map(str::to_owned))
                .ok_or_else(|| {
                    StoreError::unauthenticated(
                        format!("the external account's subject token has no field {field}"),
                        "Check credential_source.format.subject_token_field_name.",
                    )
                })?,
        };
        if token.is_empty() {
            return Err(StoreError::unauthenticated(
                "the external account's subject token is empty",
                "Check the credential configuration's credential_source.",
            ));
        }
        Ok(token)
    }

    async fn impersonate(
        &self,
        url: &str,
        federated: &AccessToken,
        lifetime_seconds: u64,
    ) -> Result<AccessToken, StoreError> {
        let who = "IAM Credentials generateAccessToken";
        let response = self
            .http
            .post(url)
            .bearer_auth(&federated.secret)
            .json(&serde_json::json!({
                "scope": [CLOUD_PLATFORM_SCOPE],
                "lifetime": format!("{lifetime_seconds}s"),
            }))
            .send()
            .await
            .map_err(|e| transport_error(who, &e))?;
        let (status, text) = read(who, response).await?;
        if status != 200 {
            return Err(StoreError::unauthenticated(
                format!("{who} was refused ({status}: {})", google_error_text(&text)),
                "Grant roles/iam.workloadIdentityUser on the service account to the federated principal.",
            ));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Generated {
            access_token: String,
            expire_time: String,
        }
        let generated: Generated = serde_json::from_str(&text)
            .map_err(|_| StoreError::unexpected(format!("{who} answered without a token")))?;
        let expires_at = time::OffsetDateTime::parse(
            &generated.expire_time,
            &time::format_description::well_known::Rfc3339,
        )
        .map(SystemTime::from)
        .map_err(|_| StoreError::unexpected(format!("{who} answered an unreadable expireTime")))?;
        Ok(AccessToken {
            secret: generated.access_token,
            expires_at,
        })
    }
}

/// `error.status: error.message` of a Google API error body.
pub fn google_error_text(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let status = value
        .pointer("/error/status")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let message = value
        .pointer("/error/message")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if status.is_empty() && message.is_empty() {
        "no error text".to_owned()
    } else {
        server_text(&format!("{status}: {message}"))
    }
}

fn service_account_assertion(
    email: &str,
    key: &jsonwebtoken::EncodingKey,
    key_id: Option<String>,
    token_uri: &str,
    now: SystemTime,
) -> Result<String, StoreError> {
    let iat = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let claims = serde_json::json!({
        "iss": email,
        "scope": CLOUD_PLATFORM_SCOPE,
        "aud": token_uri,
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = key_id;
    jsonwebtoken::encode(&header, &claims, key).map_err(|_| {
        StoreError::unauthenticated(
            format!("the service account key of {email} could not sign an assertion"),
            "Download a new JSON key for the service account.",
        )
    })
}

fn choose(env: &Environment) -> Result<(Provider, String), ConfigError> {
    if let Some(path) = env.get("GOOGLE_APPLICATION_CREDENTIALS") {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                "GOOGLE_APPLICATION_CREDENTIALS",
                format!("{path} cannot be read ({})", e.kind()),
                "Point it at the credential JSON (a service account key or a workload identity federation configuration).",
            )
        })?;
        let provider = parse_file(&text, "GOOGLE_APPLICATION_CREDENTIALS")?;
        let origin = format!(
            "{} from GOOGLE_APPLICATION_CREDENTIALS ({path})",
            describe_provider(&provider)
        );
        return Ok((provider, origin));
    }
    let well_known = env
        .get("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env.home().map(|h| h.join(".config/gcloud")))
        .map(|dir| dir.join("application_default_credentials.json"));
    if let Some(path) = well_known
        && let Ok(text) = std::fs::read_to_string(&path)
    {
        let provider = parse_file(&text, "CLOUDSDK_CONFIG")?;
        let origin = format!("{} from {}", describe_provider(&provider), path.display());
        return Ok((provider, origin));
    }
    let host = env
        .get("GCE_METADATA_HOST")
        .unwrap_or(METADATA_HOST)
        .to_owned();
    let origin = format!("the metadata server at {host} (GCE, GKE workload identity)");
    Ok((Provider::Metadata { host }, origin))
}

fn describe_provider(provider: &Provider) -> String {
    match provider {
        Provider::ServiceAccount { email, .. } => format!("service account {email}"),
        Provider::AuthorizedUser { .. } => {
            "authorized user (gcloud auth application-default login)".to_owned()
        }
        Provider::ExternalAccount {
            audience,
            impersonation_url,
            ..
        } => match impersonation_url {
            Some(_) => {
                format!("workload identity federation ({audience}) impersonating a service account")
            }
            None => format!("workload identity federation ({audience})"),
        },
        Provider::Metadata { host } => format!("metadata server {host}"),
    }
}

fn parse_file(text: &str, variable: &str) -> Result<Provider, ConfigError> {
    let bad = |problem: String| {
        ConfigError::new(
            variable,
            problem,
            "Use a credential file from `gcloud iam service-accounts keys create` or `gcloud iam workload-identity-pools create-cred-config`.",
        )
    };
    let file: CredentialFile = serde_json::from_str(text)
        .map_err(|_| bad("the credential file is not a Google credential JSON".to_owned()))?;
    let need = |value: Option<String>, field: &str| {
        value.ok_or_else(|| {
            bad(format!(
                "the {} credential file has no {field}",
                file_kind(text)
            ))
        })
    };
    match file.kind.as_str() {
        "service_account" => {
            let email = need(file.client_email, "client_email")?;
            let pem = need(file.private_key, "private_key")?;
            let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|_| bad(format!("the private_key of {email} is not an RSA PEM key")))?;
            Ok(Provider::ServiceAccount {
                email,
                key: Box::new(key),
                key_id: file.private_key_id,
                token_uri: token_uri(file.token_uri, variable)?,
            })
        }
        "authorized_user" => Ok(Provider::AuthorizedUser {
            client_id: need(file.client_id, "client_id")?,
            client_secret: need(file.client_secret, "client_secret")?,
            refresh_token: need(file.refresh_token, "refresh_token")?,
            token_uri: token_uri(file.token_uri, variable)?,
        }),
        "external_account" => {
            let source = file.credential_source.ok_or_else(|| {
                bad("the external_account file has no credential_source".to_owned())
            })?;
            if source.environment_id.is_some() || source.executable.is_some() {
                return Err(bad(
                    "AWS- and executable-sourced external accounts are not supported; use a file or URL credential_source".to_owned(),
                ));
            }
            let format = match source.format {
                Some(SourceFormat {
                    kind,
                    subject_token_field_name,
                }) if kind == "json" => {
                    SubjectFormat::Json(subject_token_field_name.ok_or_else(|| {
                        bad("credential_source.format has no subject_token_field_name".to_owned())
                    })?)
                }
                _ => SubjectFormat::Text,
            };
            let subject_source = match (source.file, source.url) {
                (Some(file), _) => SubjectSource::File(PathBuf::from(file)),
                (None, Some(url)) => SubjectSource::Url {
                    url: checked(url, variable, "credential_source.url")?,
                    headers: source.headers,
                },
                (None, None) => {
                    return Err(bad(
                        "credential_source names neither a file nor a url".to_owned()
                    ));
                }
            };
            Ok(Provider::ExternalAccount {
                audience: need(file.audience, "audience")?,
                subject_token_type: need(file.subject_token_type, "subject_token_type")?,
                token_url: checked(need(file.token_url, "token_url")?, variable, "token_url")?,
                source: subject_source,
                format,
                impersonation_url: file
                    .service_account_impersonation_url
                    .map(|u| checked(u, variable, "service_account_impersonation_url"))
                    .transpose()?,
                lifetime_seconds: file
                    .service_account_impersonation
                    .and_then(|o| o.token_lifetime_seconds)
                    .unwrap_or(ASSERTION_LIFETIME),
            })
        }
        other => Err(bad(format!(
            "credential type {} is not supported",
            server_text(other)
        ))),
    }
}

fn file_kind(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// The file's `token_uri`, else Google's.
fn token_uri(uri: Option<String>, variable: &str) -> Result<String, ConfigError> {
    checked(
        uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned()),
        variable,
        "token_uri",
    )
}

/// A token or API URL from a credential file: https, or http to loopback.
fn checked(url: String, variable: &str, field: &str) -> Result<String, ConfigError> {
    check_url(&url).map_err(|problem| {
        ConfigError::new(
            variable,
            format!("the credential file's {field} {problem}"),
            "Use the URL gcloud wrote into the credential file.",
        )
    })?;
    Ok(url)
}
