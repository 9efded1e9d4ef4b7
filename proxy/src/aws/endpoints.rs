//! Where each AWS call goes, and with which credentials and timeouts.

use std::time::Duration;

use alphaswarm_core::ids::{IdError, IdKind, check_rule};
use alphaswarm_core::rule::{Rule, is_digit, is_lower_alnum, is_lower_letter};

use super::error::AwsError;

pub const DEFAULT_REGION: &str = "us-east-1";
/// One base URL for STS, IAM and EC2 (tests point it at moto).
pub const ENDPOINT_URL_VAR: &str = "ALPHASWARM_ADMIN_AWS_ENDPOINT_URL";
/// IAM alone, because moto lacks SimulatePrincipalPolicy and a fake answers it.
pub const IAM_ENDPOINT_URL_VAR: &str = "ALPHASWARM_ADMIN_AWS_IAM_ENDPOINT_URL";

/// Region codes only ever reach a host name through this rule, so a region
/// can never redirect a signed request to another host.
const REGION_RULE: Rule = Rule {
    min: 9,
    max: 32,
    allowed: |c| is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((is_lower_letter, "a letter")),
    last: Some((is_digit, "a digit")),
};

/// Checks a region code such as `eu-west-1` or `us-gov-west-1`.
pub fn check_region(region: &str) -> Result<(), IdError> {
    check_rule(IdKind::AwsRegion, &REGION_RULE, region)
}

/// The AWS partition a region belongs to; it decides host names and the
/// region IAM (a global service) is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    pub fn of_region(region: &str) -> Self {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    fn dns_suffix(self) -> &'static str {
        match self {
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
        }
    }

    /// IAM's global endpoint and the region its requests are signed for.
    fn iam(self) -> (&'static str, &'static str) {
        match self {
            Partition::Aws => ("https://iam.amazonaws.com", "us-east-1"),
            Partition::AwsCn => ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            Partition::AwsUsGov => ("https://iam.us-gov.amazonaws.com", "us-gov-west-1"),
        }
    }
}

/// Base URL and signing region per service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub sts: String,
    pub ec2: String,
    pub iam: String,
    /// Region STS and EC2 are signed for.
    pub region: String,
    /// Region IAM is signed for (the partition's IAM home region).
    pub iam_region: String,
}

impl Endpoints {
    /// The real, partition-aware endpoints of `region`, with optional
    /// overrides: `all` for every service, `iam` for IAM alone.
    pub fn resolve(region: &str, all: Option<&str>, iam: Option<&str>) -> Self {
        let partition = Partition::of_region(region);
        let suffix = partition.dns_suffix();
        let (iam_url, iam_region) = partition.iam();
        let pick = |real: String| all.map(str::to_owned).unwrap_or(real);
        Endpoints {
            sts: pick(format!("https://sts.{region}.{suffix}")),
            ec2: pick(format!("https://ec2.{region}.{suffix}")),
            iam: iam
                .map(str::to_owned)
                .unwrap_or_else(|| pick(iam_url.to_owned())),
            region: region.to_owned(),
            iam_region: iam_region.to_owned(),
        }
    }
}

/// The platform's own long-lived credentials, used only for `AssumeRole`.
#[derive(Clone)]
pub struct PlatformCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for PlatformCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Everything [`super::QueryClient`] needs; built from the environment.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub endpoints: Endpoints,
    /// `ALPHASWARM_ADMIN_AWS_ENDPOINT_URL`, kept so another region resolves alike.
    pub endpoint_override: Option<String>,
    /// `ALPHASWARM_ADMIN_AWS_IAM_ENDPOINT_URL`.
    pub iam_endpoint_override: Option<String>,
    /// `None` when the env vars are absent: the proxy still starts (step 2
    /// needs no AWS call) and step 3 answers `platform_credentials_missing`.
    pub platform: Option<PlatformCredentials>,
    /// Whole-request bound, connection included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl AwsConfig {
    /// Reads `AWS_REGION` (or `AWS_DEFAULT_REGION`, default us-east-1), the
    /// standard credential variables and the two endpoint overrides.
    pub fn from_env() -> Result<Self, AwsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Self::from_env`], with the variables read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, AwsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        check_region(&region).map_err(|e| AwsError::Config {
            field: "AWS_REGION",
            problem: e.to_string(),
        })?;
        let all = get(ENDPOINT_URL_VAR)
            .map(|u| checked_url(ENDPOINT_URL_VAR, u))
            .transpose()?;
        let iam = get(IAM_ENDPOINT_URL_VAR)
            .map(|u| checked_url(IAM_ENDPOINT_URL_VAR, u))
            .transpose()?;
        let platform = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => Some(PlatformCredentials {
                access_key_id,
                secret_access_key,
                session_token: get("AWS_SESSION_TOKEN"),
            }),
            _ => None,
        };
        Ok(AwsConfig {
            endpoints: Endpoints::resolve(&region, all.as_deref(), iam.as_deref()),
            endpoint_override: all,
            iam_endpoint_override: iam,
            platform,
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
        })
    }
}

impl AwsConfig {
    /// The same configuration for another region (a wizard step's `region`):
    /// a bad region code is the user's input error, `invalid_aws_region`.
    pub fn with_region(&self, region: &str) -> Result<AwsConfig, IdError> {
        check_region(region)?;
        Ok(AwsConfig {
            endpoints: Endpoints::resolve(
                region,
                self.endpoint_override.as_deref(),
                self.iam_endpoint_override.as_deref(),
            ),
            ..self.clone()
        })
    }
}

/// An override must be an absolute http(s) URL; the trailing `/` is dropped
/// so paths join cleanly.
fn checked_url(var: &'static str, url: String) -> Result<String, AwsError> {
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(AwsError::Config {
            field: var,
            problem: "expected an absolute http:// or https:// URL".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alphaswarm_core::CoreError;

    #[test]
    fn real_endpoints_follow_the_partition() {
        let aws = Endpoints::resolve("eu-west-1", None, None);
        assert_eq!(aws.sts, "https://sts.eu-west-1.amazonaws.com");
        assert_eq!(aws.ec2, "https://ec2.eu-west-1.amazonaws.com");
        assert_eq!(
            (aws.iam.as_str(), aws.iam_region.as_str()),
            ("https://iam.amazonaws.com", "us-east-1")
        );

        let cn = Endpoints::resolve("cn-northwest-1", None, None);
        assert_eq!(cn.sts, "https://sts.cn-northwest-1.amazonaws.com.cn");
        assert_eq!(cn.iam, "https://iam.cn-north-1.amazonaws.com.cn");
        assert_eq!(cn.iam_region, "cn-north-1");

        let gov = Endpoints::resolve("us-gov-east-1", None, None);
        assert_eq!(gov.ec2, "https://ec2.us-gov-east-1.amazonaws.com");
        assert_eq!(gov.iam, "https://iam.us-gov.amazonaws.com");
        assert_eq!(Partition::of_region("us-gov-east-1").as_str(), "aws-us-gov");
    }

    #[test]
    fn overrides_replace_hosts_and_iam_can_differ() {
        let e = Endpoints::resolve(
            "us-east-1",
            Some("http://127.0.0.1:5000"),
            Some("http://127.0.0.1:6000"),
        );
        assert_eq!(e.sts, "http://127.0.0.1:5000");
        assert_eq!(e.ec2, "http://127.0.0.1:5000");
        assert_eq!(e.iam, "http://127.0.0.1:6000");
        let only_all = Endpoints::resolve("us-east-1", Some("http://127.0.0.1:5000"), None);
        assert_eq!(only_all.iam, "http://127.0.0.1:5000");
    }

    #[test]
    fn config_reads_env_and_rejects_bad_values() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let cfg = AwsConfig::from_lookup(env(&[])).unwrap();
        assert_eq!(cfg.endpoints.region, "us-east-1");
        assert!(cfg.platform.is_none());

        let cfg = AwsConfig::from_lookup(env(&[
            ("AWS_DEFAULT_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "canary-secret-value"),
            (ENDPOINT_URL_VAR, "http://127.0.0.1:5000/"),
        ]))
        .unwrap();
        assert_eq!(cfg.endpoints.sts, "http://127.0.0.1:5000");
        assert_eq!(cfg.endpoints.region, "eu-central-1");
        assert!(!format!("{cfg:?}").contains("canary-secret-value"));

        let bad_region =
            AwsConfig::from_lookup(env(&[("AWS_REGION", "evil.example.com/")])).unwrap_err();
        assert_eq!(bad_region.code(), "aws_config_invalid");
        let bad_url = AwsConfig::from_lookup(env(&[(IAM_ENDPOINT_URL_VAR, "file:///etc/passwd")]))
            .unwrap_err();
        assert_eq!(bad_url.field(), Some(IAM_ENDPOINT_URL_VAR));
    }
}
