//! The core functions this crate calls that are being written in parallel on
//! other branches (`core::keys`, `core::external_id`, `core::aws`). Each is
//! one function with the signature the core will offer, so wiring the real
//! one is a one-line change per function. The bodies here are real (HMAC,
//! a valid trust policy), only narrower than the core's.

use alphaswarm_core::bundle::{Bundle, File, NamedValue, Notice};
use alphaswarm_core::ids::{IdError, IdKind, check_rule};
use alphaswarm_core::rule::{Reason, Rule};
use alphaswarm_core::shell::{Command, Commands};
use alphaswarm_core::{AwsAccountId, CloudKind, ExternalId, OrgId, RenderError};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `CredentialKey(kind, "org:<org_id>")` rendered as the store key.
pub fn credential_key(integration_kind: &str, org: &OrgId) -> String {
    format!("{integration_kind}:{}", org.purpose())
}

/// `HMAC-SHA256(secret, "<cloud_kind>:<org_id>")`, hex: the per-org `sts:ExternalId`.
pub fn derive_external_id(
    secret: &[u8],
    cloud: CloudKind,
    org: &OrgId,
) -> Result<ExternalId, IdError> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).map_err(|_| {
        IdError::new(
            IdKind::ExternalId,
            Reason::Format {
                expected: "a non-empty HMAC key",
            },
        )
    })?;
    mac.update(format!("{}:{}", cloud.as_str(), org.as_str()).as_bytes());
    ExternalId::parse(&hex::encode(mac.finalize().into_bytes()))
}

/// What the AWS bundle needs from the proxy's configuration.
pub struct AwsBundleInput<'a> {
    pub org: &'a OrgId,
    pub partner_account_id: &'a AwsAccountId,
    pub external_id: &'a ExternalId,
    pub role_name_pattern: &'a str,
    pub region: Option<&'a str>,
}

/// The role name the bundle creates: the pattern with `{org_id}` filled in.
pub fn aws_role_name(pattern: &str, org: &OrgId) -> Result<String, RenderError> {
    let name = pattern.replace("{org_id}", org.as_str());
    let rule = Rule {
        min: 1,
        max: 64,
        allowed: |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c),
        allowed_desc: "letters, digits and + = , . @ _ -",
        first: None,
        last: None,
    };
    check_rule(IdKind::AwsRoleName, &rule, &name)?;
    Ok(name)
}

/// Step 2's artifact: the trust policy naming the partner account with the
/// `sts:ExternalId` condition, and the `aws iam create-role` command.
pub fn render_aws_bundle(input: &AwsBundleInput<'_>) -> Result<Bundle, RenderError> {
    let role_name = aws_role_name(input.role_name_pattern, input.org)?;
    let trust_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{}:root", input.partner_account_id) },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": input.external_id.as_str() } }
        }]
    });
    let create_role = Command::new(&["aws", "iam", "create-role"])
        .opt("--role-name", role_name.clone())
        .opt("--assume-role-policy-document", "file://trust_policy.json");
    let attach = Command::new(&["aws", "iam", "attach-role-policy"])
        .opt("--role-name", role_name.clone())
        .opt("--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess");
    let mut warnings = Vec::new();
    if input.region.is_none() {
        warnings.push(Notice::new(
            "region_defaulted",
            "No region given: the connection will use us-east-1 for regional calls.",
        ));
    }
    Ok(Bundle {
        cloud: CloudKind::Aws,
        org_id: input.org.clone(),
        values: vec![
            NamedValue::new("external_id", "External id", input.external_id.as_str()),
            NamedValue::new("role_name", "Role name", role_name),
            NamedValue::new(
                "partner_account_id",
                "AlphaSwarm account id",
                input.partner_account_id.as_str(),
            ),
        ],
        files: vec![File::json("trust_policy.json", &trust_policy)],
        commands: Commands::render(&[create_role, attach])?,
        links: Vec::new(),
        terraform: String::new(),
        warnings,
        notes: vec![
            "Create the role with the trust policy, attach ReadOnlyAccess, then paste the role ARN into step 3.".to_owned(),
        ],
    })
}

/// A parsed IAM role ARN: `arn:<partition>:iam::<account>:role/<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    pub arn: String,
    pub partition: String,
    pub account_id: AwsAccountId,
}

pub fn parse_role_arn(value: &str) -> Result<RoleArn, IdError> {
    let bad = |expected| IdError::new(IdKind::AwsRoleArn, Reason::Format { expected });
    let fmt = "arn:<partition>:iam::<12-digit account>:role/<name>";
    if value.len() > 2048 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(fmt));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Err(bad(fmt));
    };
    if arn != "arn"
        || !matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        || service != "iam"
        || !region.is_empty()
    {
        return Err(bad(fmt));
    }
    let account_id = AwsAccountId::parse(account).map_err(|_| bad(fmt))?;
    let name = resource.strip_prefix("role/").ok_or_else(|| bad(fmt))?;
    let name = name.rsplit('/').next().unwrap_or_default();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        return Err(bad(fmt));
    }
    Ok(RoleArn {
        arn: value.to_owned(),
        partition: partition.to_owned(),
        account_id,
    })
}

/// AWS region codes such as `us-east-1` or `us-gov-west-1`.
pub fn parse_region(value: &str) -> Result<String, IdError> {
    let rule = Rule {
        min: 9,
        max: 25,
        allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        allowed_desc: "a-z, 0-9 and -",
        first: Some((|c: char| c.is_ascii_lowercase(), "a lowercase letter")),
        last: Some((|c: char| c.is_ascii_digit(), "a digit")),
    };
    check_rule(IdKind::AwsRegion, &rule, value)?;
    Ok(value.to_owned())
}

/// The AWS permission baseline step 4 simulates (seed 001).
pub fn aws_baseline_actions() -> Vec<String> {
    [
        "sts:GetCallerIdentity",
        "iam:GetRole",
        "ec2:DescribeRegions",
    ]
    .map(str::to_owned)
    .to_vec()
}
