//! Validated identifiers shared by every cloud.
//!
//! Each is a newtype over `String` that can only be built through its rule:
//! `FromStr`, `TryFrom<String>` and `Deserialize` all validate, so a value of
//! one of these types is always safe to interpolate (and is still quoted).

use crate::error::CoreError;
use crate::rule::{self, Reason, Rule};
use serde::{Deserialize, Serialize};

/// Which identifier was invalid. Each kind has a stable code and a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    OrgId,
    CloudKind,
    AwsAccountId,
    AwsPartition,
    AwsRegion,
    AwsRoleName,
    AwsRolePath,
    AwsRoleArn,
    AwsRoleNamePattern,
    AwsManagedPolicy,
    AwsOrganizationalUnitId,
    ExternalId,
    Guid,
    AzureRole,
    FederatedCredentialName,
    ManagedIdentityName,
    AzureResourceGroup,
    AzureLocation,
    GcpProjectId,
    GcpProjectNumber,
    GcpPoolId,
    GcpServiceAccountEmail,
    GcpRole,
    GcpJwks,
    AudienceTemplate,
    IssuerUrl,
    TemplateUrl,
    Audience,
    CloudflareAccountId,
    CloudflareTemplate,
    K8sNamespace,
    K8sServiceAccount,
    K8sWorkloadName,
    KeyVaultName,
    ClusterName,
    GcpLocation,
}

impl IdKind {
    pub fn code(self) -> &'static str {
        match self {
            IdKind::OrgId => "invalid_org_id",
            IdKind::CloudKind => "invalid_cloud_kind",
            IdKind::AwsAccountId => "invalid_aws_account_id",
            IdKind::AwsPartition => "invalid_aws_partition",
            IdKind::AwsRegion => "invalid_aws_region",
            IdKind::AwsRoleName => "invalid_aws_role_name",
            IdKind::AwsRolePath => "invalid_aws_role_path",
            IdKind::AwsRoleArn => "invalid_role_arn",
            IdKind::AwsRoleNamePattern => "invalid_role_name_pattern",
            IdKind::AwsManagedPolicy => "invalid_aws_managed_policy",
            IdKind::AwsOrganizationalUnitId => "invalid_organizational_unit_id",
            IdKind::ExternalId => "invalid_external_id",
            IdKind::Guid => "invalid_guid",
            IdKind::AzureRole => "invalid_azure_role",
            IdKind::FederatedCredentialName => "invalid_federated_credential_name",
            IdKind::ManagedIdentityName => "invalid_managed_identity_name",
            IdKind::AzureResourceGroup => "invalid_resource_group",
            IdKind::AzureLocation => "invalid_azure_location",
            IdKind::GcpProjectId => "invalid_gcp_project_id",
            IdKind::GcpProjectNumber => "invalid_gcp_project_number",
            IdKind::GcpPoolId => "invalid_gcp_pool_id",
            IdKind::GcpServiceAccountEmail => "invalid_service_account_email",
            IdKind::GcpRole => "invalid_gcp_role",
            IdKind::GcpJwks => "invalid_jwks",
            IdKind::AudienceTemplate => "invalid_audience_template",
            IdKind::IssuerUrl => "invalid_issuer_url",
            IdKind::TemplateUrl => "invalid_template_url",
            IdKind::Audience => "invalid_audience",
            IdKind::CloudflareAccountId => "invalid_cloudflare_account_id",
            IdKind::CloudflareTemplate => "invalid_cloudflare_template",
            IdKind::K8sNamespace => "invalid_k8s_namespace",
            IdKind::K8sServiceAccount => "invalid_k8s_service_account",
            IdKind::K8sWorkloadName => "invalid_k8s_workload_name",
            IdKind::KeyVaultName => "invalid_key_vault_name",
            IdKind::ClusterName => "invalid_cluster_name",
            IdKind::GcpLocation => "invalid_gcp_location",
        }
    }

    /// The field name used when the caller does not relabel the error.
    pub fn default_field(self) -> &'static str {
        match self {
            IdKind::OrgId => "org_id",
            IdKind::CloudKind => "cloud_kind",
            IdKind::AwsAccountId => "account_id",
            IdKind::AwsPartition => "partition",
            IdKind::AwsRegion => "region",
            IdKind::AwsRoleName => "role_name",
            IdKind::AwsRolePath => "role_path",
            IdKind::AwsRoleArn => "role_arn",
            IdKind::AwsRoleNamePattern => "role_name_pattern",
            IdKind::AwsManagedPolicy => "policy",
            IdKind::AwsOrganizationalUnitId => "organizational_unit_ids",
            IdKind::ExternalId => "external_id",
            IdKind::Guid => "id",
            IdKind::AzureRole => "role",
            IdKind::FederatedCredentialName => "name",
            IdKind::ManagedIdentityName => "identity_name",
            IdKind::AzureResourceGroup => "resource_group",
            IdKind::AzureLocation => "location",
            IdKind::GcpProjectId => "project_id",
            IdKind::GcpProjectNumber => "project_number",
            IdKind::GcpPoolId => "pool_id",
            IdKind::GcpServiceAccountEmail => "service_account_email",
            IdKind::GcpRole => "roles",
            IdKind::GcpJwks => "jwks",
            IdKind::AudienceTemplate => "audience_template",
            IdKind::IssuerUrl => "issuer",
            IdKind::TemplateUrl => "template_url",
            IdKind::Audience => "audience",
            IdKind::CloudflareAccountId => "account_id",
            IdKind::CloudflareTemplate => "template",
            IdKind::K8sNamespace => "namespace",
            IdKind::K8sServiceAccount => "service_account",
            IdKind::K8sWorkloadName => "workload_name",
            IdKind::KeyVaultName => "key_vault_name",
            IdKind::ClusterName => "cluster_name",
            IdKind::GcpLocation => "location",
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            IdKind::OrgId => "organisation id",
            IdKind::CloudKind => "cloud kind",
            IdKind::AwsAccountId => "AWS account id",
            IdKind::AwsPartition => "AWS partition",
            IdKind::AwsRegion => "AWS region",
            IdKind::AwsRoleName => "IAM role name",
            IdKind::AwsRolePath => "IAM role path",
            IdKind::AwsRoleArn => "IAM role ARN",
            IdKind::AwsRoleNamePattern => "role name pattern",
            IdKind::AwsManagedPolicy => "IAM managed policy name",
            IdKind::AwsOrganizationalUnitId => "AWS organizational unit id",
            IdKind::ExternalId => "sts:ExternalId",
            IdKind::Guid => "GUID",
            IdKind::AzureRole => "Azure role name",
            IdKind::FederatedCredentialName => "federated credential name",
            IdKind::ManagedIdentityName => "managed identity name",
            IdKind::AzureResourceGroup => "resource group name",
            IdKind::AzureLocation => "Azure location",
            IdKind::GcpProjectId => "GCP project id",
            IdKind::GcpProjectNumber => "GCP project number",
            IdKind::GcpPoolId => "workload identity pool id",
            IdKind::GcpServiceAccountEmail => "service account email",
            IdKind::GcpRole => "GCP role",
            IdKind::GcpJwks => "JWKS for the private issuer",
            IdKind::AudienceTemplate => "audience template",
            IdKind::IssuerUrl => "OIDC issuer URL",
            IdKind::TemplateUrl => "template URL",
            IdKind::Audience => "audience",
            IdKind::CloudflareAccountId => "Cloudflare account id",
            IdKind::CloudflareTemplate => "Cloudflare token template",
            IdKind::K8sNamespace => "Kubernetes namespace",
            IdKind::K8sServiceAccount => "Kubernetes service account name",
            IdKind::K8sWorkloadName => "Kubernetes workload name",
            IdKind::KeyVaultName => "Key Vault name",
            IdKind::ClusterName => "cluster name",
            IdKind::GcpLocation => "GCP location",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            IdKind::OrgId => {
                "Use 1-64 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit (or the admin tenant __platform__)."
            }
            IdKind::CloudKind => "Use one of: aws, azure, gcp, cloudflare.",
            IdKind::AwsAccountId => {
                "An AWS account id is exactly 12 digits, e.g. 123456789012 (keep leading zeros)."
            }
            IdKind::AwsPartition => "Use aws, aws-cn or aws-us-gov.",
            IdKind::AwsRegion => "Use a region code such as us-east-1.",
            IdKind::AwsRoleName => {
                "IAM role names are 1-64 characters of letters, digits and + = , . @ _ -."
            }
            IdKind::AwsRolePath => {
                "A role path is '/' or starts and ends with '/', e.g. /alphaswarm/."
            }
            IdKind::AwsRoleArn => {
                "Paste the role ARN from the IAM console, e.g. arn:aws:iam::123456789012:role/alphaswarm-broker-org-acme."
            }
            IdKind::AwsRoleNamePattern => {
                "The pattern must contain {org_id} exactly once, e.g. alphaswarm-broker-{org_id}."
            }
            IdKind::AwsManagedPolicy => {
                "Name an AWS managed policy such as ReadOnlyAccess or SecurityAudit."
            }
            IdKind::AwsOrganizationalUnitId => {
                "Organizational unit ids look like ou-ab12-cd34ef56 (or r-ab12 for the root)."
            }
            IdKind::ExternalId => {
                "An external id is 2-1224 characters of letters, digits and + = , . @ : / _ -."
            }
            IdKind::Guid => {
                "Copy the GUID from the Azure portal, e.g. 00000000-0000-0000-0000-000000000000."
            }
            IdKind::AzureRole => {
                "Name a built-in role such as Reader, or give a role definition GUID."
            }
            IdKind::FederatedCredentialName => {
                "Use 3-120 letters, digits, '-' or '_', starting with a letter or digit."
            }
            IdKind::ManagedIdentityName => {
                "Use 3-128 letters, digits, '-' or '_', starting with a letter or digit."
            }
            IdKind::AzureResourceGroup => {
                "Use 1-90 letters, digits, '-', '_', '.', '(' or ')', starting with a letter, digit, '_' or '(' and not ending in '.', e.g. alphaswarm-broker."
            }
            IdKind::AzureLocation => {
                "Use an Azure region name such as eastus or westeurope (az account list-locations -o table)."
            }
            IdKind::GcpProjectId => {
                "A project id is 6-30 lowercase letters, digits or '-', starting with a letter (the project NUMBER is a different field)."
            }
            IdKind::GcpProjectNumber => {
                "The project number is all digits; find it on the project's dashboard (it is not the project id)."
            }
            IdKind::GcpPoolId => {
                "Pool and provider ids are 4-32 lowercase letters, digits or '-', start with a letter and may not start with gcp-."
            }
            IdKind::GcpServiceAccountEmail => {
                "Use the full email, e.g. broker@my-project.iam.gserviceaccount.com."
            }
            IdKind::GcpRole => {
                "Name a predefined role such as roles/browser, or a custom role projects/<id>/roles/<name> or organizations/<number>/roles/<name>."
            }
            IdKind::GcpJwks => {
                "Use the JWKS the proxy exports (federation-keys export-jwks): 1-8 RSA or EC signing keys, each with kid and alg RS256 or ES256."
            }
            IdKind::AudienceTemplate => {
                "Use an audience containing {org_id} exactly once, e.g. https://alpha-swarm.ai/gcp/{org_id}, so each organisation's provider allows only its own audience."
            }
            IdKind::IssuerUrl => {
                "Use the issuer exactly as the OIDC discovery document states it, e.g. https://alpha-swarm.ai/oidc/ (a trailing / matters)."
            }
            IdKind::TemplateUrl => {
                "Use an https:// URL of the hosted CloudFormation template (an S3 URL)."
            }
            IdKind::Audience => {
                "Use 1-256 printable characters without spaces or quotes, e.g. api://AzureADTokenExchange."
            }
            IdKind::CloudflareAccountId => {
                "The Cloudflare account id is 32 lowercase hex characters (dashboard URL or Overview page)."
            }
            IdKind::CloudflareTemplate => "Use one of: dns_edit, tunnel, access, worker, r2.",
            IdKind::K8sNamespace => {
                "A namespace is 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
            }
            IdKind::K8sServiceAccount => {
                "A service account name is 1-253 lowercase letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit."
            }
            IdKind::K8sWorkloadName => {
                "A workload name is 1-253 lowercase letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit."
            }
            IdKind::KeyVaultName => {
                "A Key Vault name is 3-24 letters, digits or '-', starting with a letter, ending with a letter or digit, without '--'."
            }
            IdKind::ClusterName => {
                "A cluster name is 1-100 letters, digits, '-' or '_', starting with a letter or digit."
            }
            IdKind::GcpLocation => "Use a region or zone such as us-central1 or us-central1-a.",
        }
    }
}

/// An identifier that does not satisfy its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is not a valid {}: {reason}", kind.what())]
pub struct IdError {
    pub kind: IdKind,
    pub field: &'static str,
    pub reason: Reason,
}

impl IdError {
    pub fn new(kind: IdKind, reason: Reason) -> Self {
        IdError {
            kind,
            field: kind.default_field(),
            reason,
        }
    }
    /// Relabel with the input field the value came from (e.g. `partner_account_id`).
    pub fn at(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

impl CoreError for IdError {
    fn code(&self) -> &'static str {
        self.kind.code()
    }
    fn field(&self) -> Option<&str> {
        Some(self.field)
    }
    fn hint(&self) -> String {
        self.kind.hint().to_owned()
    }
}

/// Declares a validated string newtype: `parse` runs `$check`, and every
/// conversion (FromStr, TryFrom<String>, Deserialize) goes through it.
#[macro_export]
macro_rules! validated_string {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, $crate::ids::IdError> {
                let check: fn(&str) -> Result<(), $crate::ids::IdError> = $check;
                check(value)?;
                Ok($name(value.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = $crate::ids::IdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Runs `rule` and labels a failure with `kind`.
pub fn check_rule(kind: IdKind, rule: &Rule, value: &str) -> Result<(), IdError> {
    rule.check(value)
        .map_err(|reason| IdError::new(kind, reason))
}

// ---------------------------------------------------------------- OrgId

/// The synthetic org id of the admin tenant (AlphaSwarm's own accounts).
pub const PLATFORM_ORG_ID: &str = "__platform__";

pub const ORG_ID_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: |c| rule::is_lower_alnum(c) || c == '-' || c == '_',
    allowed_desc: "a-z, 0-9, - and _",
    first: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
    last: Some((rule::is_lower_alnum, "a lowercase letter or digit")),
};

validated_string!(
    /// A customer organisation id, or [`PLATFORM_ORG_ID`] for the admin tenant.
    OrgId,
    |s| {
        if s == PLATFORM_ORG_ID {
            return Ok(());
        }
        check_rule(IdKind::OrgId, &ORG_ID_RULE, s)?;
        // "--" is reserved: it marks the hash in shortened cloud names.
        if s.contains("--") {
            return Err(IdError::new(IdKind::OrgId, Reason::Format { expected: "no consecutive hyphens (--)" }));
        }
        Ok(())
    }
);

impl OrgId {
    pub fn platform() -> Self {
        OrgId(PLATFORM_ORG_ID.to_owned())
    }
    pub fn is_platform(&self) -> bool {
        self.0 == PLATFORM_ORG_ID
    }
    /// The credential-key purpose every integration of this org is stored under.
    pub fn purpose(&self) -> String {
        format!("org:{}", self.0)
    }
}

// ---------------------------------------------------------------- CloudKind

/// The four clouds of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum CloudKind {
    Aws,
    Azure,
    Gcp,
    Cloudflare,
}

impl CloudKind {
    pub const ALL: [CloudKind; 4] = [
        CloudKind::Aws,
        CloudKind::Azure,
        CloudKind::Gcp,
        CloudKind::Cloudflare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloudKind::Aws => "aws",
            CloudKind::Azure => "azure",
            CloudKind::Gcp => "gcp",
            CloudKind::Cloudflare => "cloudflare",
        }
    }
    /// The integration kind (seed 003): `cloud_aws`, `cloud_azure`, ...
    pub fn integration_kind(self) -> &'static str {
        match self {
            CloudKind::Aws => "cloud_aws",
            CloudKind::Azure => "cloud_azure",
            CloudKind::Gcp => "cloud_gcp",
            CloudKind::Cloudflare => "cloud_cloudflare",
        }
    }
}

impl std::str::FromStr for CloudKind {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        CloudKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.integration_kind() == s)
            .ok_or_else(|| {
                IdError::new(
                    IdKind::CloudKind,
                    Reason::Format {
                        expected: "aws, azure, gcp or cloudflare",
                    },
                )
            })
    }
}

impl std::fmt::Display for CloudKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------- URLs and audiences

/// Characters allowed in URLs we render: RFC 3986 unreserved, reserved and
/// `%`, minus `'` so a URL can always sit inside PowerShell single quotes.
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&()*+,;=%".contains(c)
}

fn check_https_url(kind: IdKind, max: usize, s: &str) -> Result<(), IdError> {
    check_url(kind, max, s, false)
}

/// Hosts a plain-http issuer may name: the machine itself, where the local
/// run and the tests serve their own issuer (no cloud can reach it, and the
/// proxy refuses http issuers in production).
const LOOPBACK_HOSTS: [&str; 2] = ["127.0.0.1", "localhost"];

fn check_url(kind: IdKind, max: usize, s: &str, http_loopback: bool) -> Result<(), IdError> {
    let rule = Rule {
        min: 9,
        max,
        allowed: is_url_char,
        allowed_desc: "URL characters without spaces or quotes",
        first: None,
        last: None,
    };
    check_rule(kind, &rule, s)?;
    let loopback = s.strip_prefix("http://").filter(|rest| {
        http_loopback
            && LOOPBACK_HOSTS.iter().any(|h| {
                rest.strip_prefix(h)
                    .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
            })
    });
    let host = loopback
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| {
            IdError::new(
                kind,
                Reason::Format {
                    expected: "a URL starting with https://",
                },
            )
        })?
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host.split(':').next().is_some_and(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        });
    if !host_ok {
        return Err(IdError::new(
            kind,
            Reason::Format {
                expected: "https://<host>/<path> with a plain host name",
            },
        ));
    }
    Ok(())
}

validated_string!(
    /// An OIDC issuer: https, compared exactly by every cloud (a trailing `/`
    /// matters). Plain http is accepted for a loopback host only (127.0.0.1,
    /// localhost): the local run and the tests serve their own issuer there.
    IssuerUrl,
    |s| check_url(IdKind::IssuerUrl, 600, s, true)
);

impl IssuerUrl {
    /// Whether this is a plain-http loopback issuer (never valid in production).
    pub fn is_loopback_http(&self) -> bool {
        self.as_str().starts_with("http://")
    }
}

validated_string!(
    /// Where the CloudFormation template is hosted (the quick-create `templateURL`).
    TemplateUrl,
    |s| check_https_url(IdKind::TemplateUrl, 1024, s)
);

validated_string!(
    /// A token audience, e.g. `api://AzureADTokenExchange`.
    Audience,
    |s| check_rule(
        IdKind::Audience,
        &Rule { min: 1, max: 256, allowed: is_url_char, allowed_desc: "URL characters without spaces or quotes", first: None, last: None },
        s
    )
);

// ---------------------------------------------------------------- Guid

validated_string!(
    /// An Azure tenant, subscription, client or object id. Stored lowercase,
    /// because Azure compares them case-insensitively.
    Guid,
    |s| {
        let ok = s.len() == 36
            && s.char_indices().all(|(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() }
            });
        if ok {
            Ok(())
        } else {
            Err(IdError::new(IdKind::Guid, Reason::Format { expected: "8-4-4-4-12 hexadecimal digits" }))
        }
    }
);

impl Guid {
    /// Parses and normalises to lowercase.
    pub fn parse_normalised(s: &str) -> Result<Self, IdError> {
        Guid::parse(&s.to_ascii_lowercase())
    }
}

// ---------------------------------------------------------------- AWS basics

validated_string!(
    /// A 12-digit AWS account id (leading zeros are significant).
    AwsAccountId,
    |s| {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(IdError::new(IdKind::AwsAccountId, Reason::Format { expected: "exactly 12 digits" }))
        }
    }
);

/// STS's ExternalId rule: 2-1224 characters of `[\w+=,.@:/-]`.
pub const EXTERNAL_ID_RULE: Rule = Rule {
    min: 2,
    max: 1224,
    allowed: |c| rule::is_word(c) || "+=,.@:/-".contains(c),
    allowed_desc: "letters, digits and + = , . @ : / _ -",
    first: None,
    last: None,
};

validated_string!(
    /// An `sts:ExternalId` value. Not a secret on its own (the customer sees it),
    /// but derived from one: see [`crate::external_id`].
    ExternalId,
    |s| check_rule(IdKind::ExternalId, &EXTERNAL_ID_RULE, s)
);
