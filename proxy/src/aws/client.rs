//! [`QueryClient`]: the real [`AwsApi`] over the AWS Query protocol.

use std::sync::Arc;
use std::time::SystemTime;

use alphaswarm_core::ids::IdError;
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde::de::DeserializeOwned;

use super::endpoints::AwsConfig;
use super::error::{AwsError, Operation};
use super::xml;
use super::{AssumedCredentials, AwsApi, CallerIdentity, Decision, RegionInfo, SimulationResult};

const STS_VERSION: &str = "2011-06-15";
const IAM_VERSION: &str = "2010-05-08";
const EC2_VERSION: &str = "2016-11-15";
/// The shortest session STS grants; validation needs the role for seconds.
const SESSION_SECONDS: u32 = 900;
/// SimulatePrincipalPolicy pages; the baseline fits in one, this only bounds a
/// misbehaving server.
const MAX_SIMULATION_PAGES: usize = 20;

#[derive(Clone, Copy)]
enum Service {
    Sts,
    Iam,
    Ec2,
}

impl Service {
    /// The SigV4 signing name.
    fn signing_name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Iam => "iam",
            Service::Ec2 => "ec2",
        }
    }
}

/// Signs and sends Query API calls. Cheap to clone (the HTTP pool is shared).
#[derive(Debug, Clone)]
pub struct QueryClient {
    http: reqwest::Client,
    config: AwsConfig,
}

impl QueryClient {
    pub fn new(config: AwsConfig) -> Result<Self, AwsError> {
        ensure_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // AWS never redirects Query calls; a redirect would move a signed request.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AwsError::Config {
                field: "AWS_REGION",
                problem: format!("the HTTP client could not be built: {e}"),
            })?;
        Ok(QueryClient { http, config })
    }

    /// A client for another region sharing this one's connection pool.
    pub fn with_region(&self, region: &str) -> Result<QueryClient, IdError> {
        Ok(QueryClient {
            http: self.http.clone(),
            config: self.config.with_region(region)?,
        })
    }

    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    /// One signed `POST /` with a form body; returns the success body.
    async fn call(
        &self,
        service: Service,
        operation: Operation,
        credentials: Credentials,
        params: &[(&str, &str)],
    ) -> Result<String, AwsError> {
        let endpoints = &self.config.endpoints;
        let (base, region, version) = match service {
            Service::Sts => (&endpoints.sts, &endpoints.region, STS_VERSION),
            Service::Iam => (&endpoints.iam, &endpoints.iam_region, IAM_VERSION),
            Service::Ec2 => (&endpoints.ec2, &endpoints.region, EC2_VERSION),
        };
        let action = operation
            .action()
            .split_once(':')
            .map_or("", |(_, name)| name);
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action)
                .append_pair("Version", version);
            for (name, value) in params {
                form.append_pair(name, value);
            }
            form.finish()
        };
        let url = format!("{base}/");
        let unreachable = |detail: String| AwsError::Unreachable { operation, detail };
        let parsed =
            reqwest::Url::parse(&url).map_err(|e| unreachable(format!("bad endpoint URL: {e}")))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(unreachable("endpoint URL has no host".to_owned())),
        };
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [("host", host.as_str()), ("content-type", content_type)];

        let identity: Identity = credentials.into();
        let signing_params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| unreachable(format!("request could not be signed: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| unreachable(format!("request could not be signed: {e}")))?;
        let (instructions, _signature) = sign(signable, &signing_params)
            .map_err(|e| unreachable(format!("request could not be signed: {e}")))?
            .into_parts();

        let mut request = self
            .http
            .post(parsed)
            .header(reqwest::header::HOST, host.as_str())
            .header(reqwest::header::CONTENT_TYPE, content_type);
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(describe_transport(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| unreachable(describe_transport(&e)))?;
        if status.is_success() {
            return Ok(text);
        }
        let aws_code = xml::error_code(&text).unwrap_or_else(|| "NoErrorCode".to_owned());
        Err(AwsError::from_aws(
            operation,
            region,
            status.as_u16(),
            &aws_code,
        ))
    }
}

/// reqwest is built without a bundled TLS crypto provider (that would be
/// aws-lc-sys, a long C build) and panics when building a client without a
/// process default: install ring unless a provider is already installed.
/// Call it before building any `reqwest::Client` in this process.
pub fn ensure_tls_provider() {
    // Err means a provider is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Says what failed without echoing the request (the body may name secrets'
/// owners; the URL is only ever an endpoint). Shared by every cloud client.
pub(crate) fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".to_owned()
    } else if error.is_connect() {
        "the connection failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the answer could not be read".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

/// Parses a success body; a body of the wrong shape is `aws_unexpected`.
fn parse<T: DeserializeOwned>(operation: Operation, body: &str) -> Result<T, AwsError> {
    quick_xml::de::from_str(body).map_err(|_| AwsError::Unexpected {
        operation,
        status: 200,
        aws_code: "MalformedResponse".to_owned(),
    })
}

fn assumed(creds: &AssumedCredentials) -> Credentials {
    Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key().to_owned(),
        Some(creds.session_token().to_owned()),
        None,
        "alphaswarm-assumed-role",
    )
}

#[async_trait]
impl AwsApi for QueryClient {
    fn in_region(self: Arc<Self>, region: &str) -> Result<Arc<dyn AwsApi>, AwsError> {
        if region == self.config.endpoints.region {
            return Ok(self);
        }
        let regional = self.with_region(region).map_err(|e| AwsError::Config {
            field: "region",
            problem: e.to_string(),
        })?;
        Ok(Arc::new(regional))
    }

    async fn assume_role(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
    ) -> Result<AssumedCredentials, AwsError> {
        self.assume_role_for(role_arn, external_id, session_name, SESSION_SECONDS)
            .await
    }

    async fn assume_role_for(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: &str,
        duration_seconds: u32,
    ) -> Result<AssumedCredentials, AwsError> {
        let duration = duration_seconds.to_string();
        let platform = self
            .config
            .platform
            .as_ref()
            .ok_or(AwsError::PlatformCredentialsMissing)?;
        let credentials = Credentials::new(
            platform.access_key_id.clone(),
            platform.secret_access_key.clone(),
            platform.session_token.clone(),
            None,
            "alphaswarm-platform-env",
        );
        let mut params = vec![
            ("RoleArn", role_arn),
            ("RoleSessionName", session_name),
            ("DurationSeconds", duration.as_str()),
        ];
        if let Some(external_id) = external_id {
            params.push(("ExternalId", external_id));
        }
        let body = self
            .call(Service::Sts, Operation::AssumeRole, credentials, &params)
            .await?;
        let result =
            parse::<xml::AssumeRoleResponse>(Operation::AssumeRole, &body)?.assume_role_result;
        Ok(AssumedCredentials::new(
            result.credentials.access_key_id,
            result.credentials.secret_access_key,
            result.credentials.session_token,
            result.credentials.expiration,
            result.assumed_role_user.arn,
        ))
    }

    async fn caller_identity(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<CallerIdentity, AwsError> {
        let op = Operation::GetCallerIdentity;
        let body = self.call(Service::Sts, op, assumed(creds), &[]).await?;
        let result = parse::<xml::GetCallerIdentityResponse>(op, &body)?.get_caller_identity_result;
        Ok(CallerIdentity {
            account: result.account,
            arn: result.arn,
            user_id: result.user_id,
        })
    }

    async fn simulate_principal_policy(
        &self,
        creds: &AssumedCredentials,
        policy_source_arn: &str,
        actions: &[String],
    ) -> Result<Vec<SimulationResult>, AwsError> {
        let op = Operation::SimulatePrincipalPolicy;
        let names: Vec<(String, &str)> = actions
            .iter()
            .enumerate()
            .map(|(i, action)| (format!("ActionNames.member.{}", i + 1), action.as_str()))
            .collect();
        let mut results = Vec::with_capacity(actions.len());
        let mut marker: Option<String> = None;
        for _ in 0..MAX_SIMULATION_PAGES {
            let mut params: Vec<(&str, &str)> = vec![("PolicySourceArn", policy_source_arn)];
            params.extend(names.iter().map(|(name, value)| (name.as_str(), *value)));
            if let Some(marker) = &marker {
                params.push(("Marker", marker.as_str()));
            }
            let body = self.call(Service::Iam, op, assumed(creds), &params).await?;
            let page = parse::<xml::SimulatePrincipalPolicyResponse>(op, &body)?
                .simulate_principal_policy_result;
            for member in page.evaluation_results.member {
                let decision =
                    Decision::parse(&member.eval_decision).ok_or_else(|| AwsError::Unexpected {
                        operation: op,
                        status: 200,
                        aws_code: "UnknownEvalDecision".to_owned(),
                    })?;
                results.push(SimulationResult {
                    action: member.eval_action_name,
                    decision,
                });
            }
            match (page.is_truncated, page.marker) {
                (true, Some(next)) => marker = Some(next),
                _ => return Ok(results),
            }
        }
        Err(AwsError::Unexpected {
            operation: op,
            status: 200,
            aws_code: "TooManyPages".to_owned(),
        })
    }

    async fn describe_regions(
        &self,
        creds: &AssumedCredentials,
    ) -> Result<Vec<RegionInfo>, AwsError> {
        let op = Operation::DescribeRegions;
        let body = self
            .call(Service::Ec2, op, assumed(creds), &[("AllRegions", "true")])
            .await?;
        let parsed = parse::<xml::DescribeRegionsResponse>(op, &body)?;
        Ok(parsed
            .region_info
            .item
            .into_iter()
            .map(|r| RegionInfo {
                name: r.region_name,
                endpoint: r.region_endpoint,
                opt_in_status: r.opt_in_status,
            })
            .collect())
    }
}
