//! AWS Secrets Manager: `GetSecretValue` of `{prefix}<service>/<purpose>`
//! (seed 000), over the JSON 1.1 protocol, signed with `aws-sigv4`.
//!
//! Endpoint: `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`,
//! else `https://secretsmanager.<region>.amazonaws.com` (the SDKs' variables).

use std::collections::BTreeMap;
use std::time::SystemTime;

use alphaswarm_core::keys::{CredentialKey, KeyError, Store};
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use serde::Deserialize;

use crate::auth::aws::{AwsCredentialChain, AwsCredentials, dns_suffix};
use crate::chain::{Fetched, SecretStore};
use crate::credential::Source;
use crate::environment::Environment;
use crate::error::{StoreError, server_text};
use crate::http::{read, transport_error};

const SIGNING_NAME: &str = "secretsmanager";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub struct AwsSecretsManagerStore {
    naming: Store,
    region: String,
    endpoint: String,
    credentials: AwsCredentialChain,
    http: reqwest::Client,
}

/// The endpoint the SDKs would use for Secrets Manager in `region`.
pub fn endpoint(env: &Environment, region: &str) -> String {
    env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
        .map(|url| url.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("https://secretsmanager.{region}.{}", dns_suffix(region)))
}

impl AwsSecretsManagerStore {
    pub fn new(
        prefix: &str,
        region: &str,
        endpoint: String,
        credentials: AwsCredentialChain,
        http: reqwest::Client,
    ) -> Result<Self, KeyError> {
        let naming = Store::AwsSecretsManager {
            prefix: prefix.to_owned(),
        };
        naming.validate()?;
        Ok(AwsSecretsManagerStore {
            naming,
            region: region.to_owned(),
            endpoint,
            credentials,
            http,
        })
    }

    /// One signed JSON 1.1 call (`X-Amz-Target: secretsmanager.<operation>`):
    /// the status and body. Public so tests and tools can seed secrets with the
    /// same signer.
    pub async fn call(
        &self,
        credentials: &AwsCredentials,
        operation: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, String), StoreError> {
        let who = "Secrets Manager";
        let url = format!("{}/", self.endpoint);
        let parsed = reqwest::Url::parse(&url)
            .map_err(|_| StoreError::unexpected(format!("the {who} endpoint is not a URL")))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => {
                return Err(StoreError::unexpected(format!(
                    "the {who} endpoint has no host"
                )));
            }
        };
        let target = format!("secretsmanager.{operation}");
        let payload = body.to_string();
        let headers = [
            ("host", host.as_str()),
            ("content-type", CONTENT_TYPE),
            ("x-amz-target", target.as_str()),
        ];
        let identity: Identity = Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            credentials.session_token.clone(),
            None,
            "alphaswarm-resolver",
        )
        .into();
        let unsignable =
            |_| StoreError::unexpected(format!("the {who} request could not be signed"));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| StoreError::unexpected(format!("the {who} request could not be signed")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(payload.as_bytes()),
        )
        .map_err(unsignable)?;
        let (instructions, _) = sign(signable, &params).map_err(unsignable)?.into_parts();
        let mut request = self.http.post(parsed);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let response = request
            .body(payload)
            .send()
            .await
            .map_err(|e| transport_error(who, &e))?;
        read(who, response).await
    }

    async fn get_secret_value(&self, name: &str) -> Result<Option<String>, StoreError> {
        let body = serde_json::json!({ "SecretId": name });
        let mut retried = false;
        loop {
            let credentials = self.credentials.credentials().await?;
            let (status, text) = self.call(&credentials, "GetSecretValue", &body).await?;
            if status == 200 {
                return secret_text(name, &text).map(Some);
            }
            let error = AwsJsonError::parse(&text);
            match error.code.as_str() {
                "ResourceNotFoundException" => return Ok(None),
                "ExpiredTokenException" | "RequestExpired" if !retried => {
                    // Temporary credentials expired early: fetch new ones once.
                    self.credentials.invalidate().await;
                    retried = true;
                }
                _ => return Err(classify(name, &self.region, status, &error)),
            }
        }
    }
}

#[async_trait]
impl SecretStore for AwsSecretsManagerStore {
    fn source(&self) -> Source {
        Source::AwsSecretsManager
    }

    fn settings(&self) -> BTreeMap<&'static str, String> {
        let Store::AwsSecretsManager { prefix } = &self.naming else {
            return BTreeMap::new();
        };
        BTreeMap::from([
            ("region", self.region.clone()),
            ("prefix", prefix.clone()),
            ("endpoint", self.endpoint.clone()),
            ("credentials", self.credentials.describe()),
        ])
    }

    fn locate(&self, key: &CredentialKey) -> Result<String, KeyError> {
        super::locate_in(key, &self.naming)
    }

    async fn fetch(&self, key: &CredentialKey) -> Result<Option<Fetched>, StoreError> {
        super::fetch_named(key, &self.naming, |name| async move {
            Ok(self.get_secret_value(&name).await?.map(|text| (text, None)))
        })
        .await
    }
}

/// `SecretString`, or `SecretBinary` when it is UTF-8 text.
fn secret_text(name: &str, body: &str) -> Result<String, StoreError> {
    #[derive(Deserialize)]
    struct GetSecretValueResponse {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
        #[serde(rename = "SecretBinary")]
        secret_binary: Option<String>,
    }
    let parsed: GetSecretValueResponse = serde_json::from_str(body).map_err(|_| {
        StoreError::unexpected("Secrets Manager answered GetSecretValue in an unknown shape")
    })?;
    if let Some(text) = parsed.secret_string {
        return Ok(text);
    }
    let binary = parsed
        .secret_binary
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    binary.ok_or_else(|| {
        StoreError::invalid_payload(
            format!("secret {name} holds binary data that is not UTF-8 text"),
            "Store the credential as a SecretString (JSON or plain text).",
        )
    })
}

/// The `__type` and message of a JSON-protocol error answer.
struct AwsJsonError {
    code: String,
    message: String,
}

impl AwsJsonError {
    /// JSON 1.1 errors (`__type`), or the XML `<Error><Code>` that some
    /// front ends (and moto's auth layer) answer instead.
    fn parse(body: &str) -> Self {
        if body.trim_start().starts_with('<') {
            return AwsJsonError {
                code: xml_element(body, "Code").unwrap_or_default(),
                message: xml_element(body, "Message").unwrap_or_default(),
            };
        }
        let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let raw = value
            .get("__type")
            .or_else(|| value.get("code"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        // "com.amazonaws.secretsmanager#ResourceNotFoundException" → the part after '#'.
        let code = raw.rsplit('#').next().unwrap_or(raw);
        let code = code.split(':').next().unwrap_or(code).to_owned();
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        AwsJsonError { code, message }
    }
}

/// The text of the first `<name>` element.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find("</")? + start;
    Some(xml[start..end].trim().to_owned())
}

fn classify(name: &str, region: &str, status: u16, error: &AwsJsonError) -> StoreError {
    let what = format!(
        "Secrets Manager refused GetSecretValue for {name} ({status} {}{})",
        if error.code.is_empty() {
            "no error code"
        } else {
            &error.code
        },
        if error.message.is_empty() {
            String::new()
        } else {
            format!(": {}", server_text(&error.message))
        }
    );
    match error.code.as_str() {
        "AccessDeniedException" | "AccessDenied" => StoreError::access_denied(
            what,
            format!(
                "Allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:{region}:<account>:secret:{name}-* for this workload's role (and kms:Decrypt if the secret uses a customer managed key)."
            ),
        ),
        "DecryptionFailure" => StoreError::access_denied(
            what,
            "Allow kms:Decrypt on the secret's KMS key for this workload's role.",
        ),
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => StoreError::unauthenticated(
            what,
            "Check the workload's AWS credentials (alphaswarm-resolve describe shows where they come from).",
        ),
        "InvalidRequestException" => StoreError::invalid_payload(
            what,
            "The secret is probably scheduled for deletion: restore it (RestoreSecret) or store the key elsewhere.",
        ),
        "ThrottlingException"
        | "InternalServiceError"
        | "InternalFailure"
        | "ServiceUnavailable" => StoreError::unreachable(
            what,
            "Secrets Manager is throttling or failing; try again shortly.",
        ),
        _ if status >= 500 => {
            StoreError::unreachable(what, "Secrets Manager failed; try again shortly.")
        }
        _ => StoreError::unexpected(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_in_every_spelling() {
        for body in [
            r#"{"__type":"ResourceNotFoundException","Message":"m"}"#,
            r#"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"m"}"#,
        ] {
            let e = AwsJsonError::parse(body);
            assert_eq!(e.code, "ResourceNotFoundException");
            assert_eq!(e.message, "m");
        }
        assert_eq!(AwsJsonError::parse("<xml/>").code, "");
        let xml = AwsJsonError::parse(
            "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: x is not authorized</Message></Error></ErrorResponse>",
        );
        assert_eq!(
            (xml.code.as_str(), xml.message.as_str()),
            ("AccessDenied", "User: x is not authorized")
        );
    }

    #[test]
    fn binary_secrets_are_text_or_refused() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("sk_live_x");
        assert_eq!(
            secret_text("n", &format!(r#"{{"SecretBinary":"{b64}"}}"#)).unwrap(),
            "sk_live_x"
        );
        let bad = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe]);
        let err = secret_text("n", &format!(r#"{{"SecretBinary":"{bad}"}}"#)).unwrap_err();
        assert_eq!(err.kind, crate::error::StoreErrorKind::InvalidPayload);
    }

    #[test]
    fn access_denied_hint_names_the_action_and_resource() {
        let e = classify(
            "alphaswarm/broker/api_key",
            "us-east-1",
            400,
            &AwsJsonError::parse(
                r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:iam::1:user/x is not authorized"}"#,
            ),
        );
        assert_eq!(e.kind, crate::error::StoreErrorKind::AccessDenied);
        assert!(e.hint.contains("secretsmanager:GetSecretValue"));
        assert!(e.detail.contains("is not authorized"));
    }
}
