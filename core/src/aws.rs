//! AWS: cross-account IAM role + `sts:ExternalId` (seed 001, step 2).
//!
//! Validated AWS identifiers, the role ARN parser used at step 3, and the
//! step-2 bundle: trust policy, CLI commands, a generic CloudFormation
//! template (its only parameter is the external id; the role is named after
//! the stack, so one hosted copy serves every organisation), an
//! organisation-wide variant (local role + service-managed StackSet), the
//! quick-create and IAM console links, and a Terraform equivalent.
//!
//! Permissions come in two sizes, and the bundle says which to choose when:
//! the least-privilege inline policy `alphaswarm-baseline` (exactly the
//! baseline of [`crate::baseline`], in every set-up path: CLI, Terraform and
//! CloudFormation) and, only as an optional addition, a broad AWS managed
//! policy (default `ReadOnlyAccess`).

use crate::baseline::AWS_REQUIRED_ACTIONS;
use crate::bundle::{self, Bundle, File, Link, NamedValue, Notice, RenderError, hcl_string};
use crate::error::CoreError;
use crate::ids::{
    AwsAccountId, CloudKind, ExternalId, IdError, IdKind, OrgId, TemplateUrl, check_rule,
};
use crate::name::{self, DerivedName, NameShape};
use crate::rule::{self, Reason, Rule};
use crate::shell::{Command, Commands, Shell};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// File names the commands and notes refer to.
pub const TRUST_POLICY_FILE: &str = "trust_policy.json";
pub const ROLE_TEMPLATE_FILE: &str = "alphaswarm-broker-role.cfn.json";
pub const ORG_TEMPLATE_FILE: &str = "alphaswarm-broker-org.cfn.json";
/// The least-privilege permissions policy, and the inline policy name it is
/// put under. Re-putting it replaces a same-named policy, so applying it again
/// is always safe and always leaves exactly the baseline.
pub const BASELINE_POLICY_FILE: &str = "alphaswarm_baseline_policy.json";
pub const BASELINE_POLICY_NAME: &str = "alphaswarm-baseline";

pub const DEFAULT_ROLE_NAME_PATTERN: &str = "alphaswarm-broker-{org_id}";
/// The broad alternative offered beside the least-privilege policy.
pub const DEFAULT_MANAGED_POLICY: &str = "ReadOnlyAccess";
/// Where the quick-create link's `param_ExternalId` lands.
pub const EXTERNAL_ID_PARAMETER: &str = "ExternalId";
/// The documentation's example account id, used by trials and tests; a
/// proxy configured with it is flagged at start-up and in the wizard.
pub const PLACEHOLDER_PARTNER_ACCOUNT_ID: &str = "111122223333";
/// The placeholder a role name pattern must hold exactly once.
pub const ORG_ID_PLACEHOLDER: &str = "{org_id}";
/// Longest literal part of a role name pattern: leaves room for the
/// `--<hash>` short form and the `alphaswarm-` stack-name prefix within 64.
pub const MAX_PATTERN_LITERAL: usize = 40;
/// More OUs than this is almost certainly a paste error; it also keeps the
/// organisation template far below CloudFormation's 51,200-byte body limit.
pub const MAX_ORGANIZATIONAL_UNITS: usize = 100;

fn is_role_name_char(c: char) -> bool {
    rule::is_word(c) || "+=,.@-".contains(c)
}

/// IAM RoleName: 1-64 characters of `[\w+=,.@-]`.
pub const ROLE_NAME_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: is_role_name_char,
    allowed_desc: "letters, digits and + = , . @ _ -",
    first: None,
    last: None,
};

/// A stack name that is also a role name: the generic template names the
/// role after its stack, so the stack name must satisfy both rules
/// (stack: letters, digits, `-`, starts with a letter, ≤128; role: ≤64).
pub const STACK_NAME_RULE: Rule = Rule {
    min: 1,
    max: 64,
    allowed: |c| c.is_ascii_alphanumeric() || c == '-',
    allowed_desc: "letters, digits and -",
    first: Some((rule::is_letter, "a letter")),
    last: None,
};

// ---------------------------------------------------------------- partition, region

/// The AWS partitions the wizard supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub enum AwsPartition {
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-cn")]
    AwsCn,
    #[serde(rename = "aws-us-gov")]
    AwsUsGov,
}

impl AwsPartition {
    pub const ALL: [AwsPartition; 3] = [
        AwsPartition::Aws,
        AwsPartition::AwsCn,
        AwsPartition::AwsUsGov,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AwsPartition::Aws => "aws",
            AwsPartition::AwsCn => "aws-cn",
            AwsPartition::AwsUsGov => "aws-us-gov",
        }
    }

    /// Host of the management console in this partition.
    pub fn console_host(self) -> &'static str {
        match self {
            AwsPartition::Aws => "console.aws.amazon.com",
            AwsPartition::AwsCn => "console.amazonaws.cn",
            AwsPartition::AwsUsGov => "console.amazonaws-us-gov.com",
        }
    }

    /// The region used when the request names none.
    pub fn default_region(self) -> AwsRegion {
        AwsRegion(
            match self {
                AwsPartition::Aws => "us-east-1",
                AwsPartition::AwsCn => "cn-north-1",
                AwsPartition::AwsUsGov => "us-gov-west-1",
            }
            .to_owned(),
        )
    }

    /// `<example>` of a region code in this partition, for error messages.
    fn region_example(self) -> &'static str {
        match self {
            AwsPartition::Aws => "a region of the aws partition, e.g. us-east-1",
            AwsPartition::AwsCn => "a region of the aws-cn partition: cn-north-1 or cn-northwest-1",
            AwsPartition::AwsUsGov => {
                "a region of the aws-us-gov partition: us-gov-west-1 or us-gov-east-1"
            }
        }
    }
}

impl std::str::FromStr for AwsPartition {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        AwsPartition::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                IdError::new(
                    IdKind::AwsPartition,
                    Reason::Format {
                        expected: "aws, aws-cn or aws-us-gov",
                    },
                )
            })
    }
}

impl std::fmt::Display for AwsPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const REGION_RULE: Rule = Rule {
    min: 9,
    max: 25,
    allowed: |c| rule::is_lower_alnum(c) || c == '-',
    allowed_desc: "a-z, 0-9 and -",
    first: Some((rule::is_lower_letter, "a lowercase letter")),
    last: Some((rule::is_digit, "a digit")),
};

/// `<geo>-[gov-]<direction>-<n>`, e.g. `us-east-1`, `cn-north-1`, `us-gov-west-1`.
fn check_region(s: &str) -> Result<(), IdError> {
    check_rule(IdKind::AwsRegion, &REGION_RULE, s)?;
    let parts: Vec<&str> = s.split('-').collect();
    let (geo, direction, number) = match parts.as_slice() {
        [geo, direction, number] => (geo, direction, number),
        [geo, "gov", direction, number] => (geo, direction, number),
        _ => return Err(region_format()),
    };
    let letters = |p: &str| p.bytes().all(|b| b.is_ascii_lowercase());
    let ok = geo.len() == 2
        && letters(geo)
        && (3..=12).contains(&direction.len())
        && letters(direction)
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0');
    if ok { Ok(()) } else { Err(region_format()) }
}

fn region_format() -> IdError {
    IdError::new(
        IdKind::AwsRegion,
        Reason::Format {
            expected: "a region code such as us-east-1, cn-north-1 or us-gov-west-1",
        },
    )
}

crate::validated_string!(
    /// An AWS region code (`us-east-1`, `cn-north-1`, `us-gov-west-1`, ...).
    AwsRegion,
    check_region
);

impl AwsRegion {
    /// The partition this region belongs to.
    pub fn partition(&self) -> AwsPartition {
        if self.0.starts_with("cn-") {
            AwsPartition::AwsCn
        } else if self.0.starts_with("us-gov-") {
            AwsPartition::AwsUsGov
        } else {
            AwsPartition::Aws
        }
    }
}

// ---------------------------------------------------------------- role name, path, pattern

crate::validated_string!(
    /// An IAM role name: 1-64 characters of `[\w+=,.@-]`.
    RoleName,
    |s| check_rule(IdKind::AwsRoleName, &ROLE_NAME_RULE, s)
);

const ROLE_PATH_RULE: Rule = Rule {
    min: 1,
    max: 512,
    // AWS allows any printable ASCII in a path; we accept the role-name
    // characters and `/` only, so a path never needs more than plain
    // quoting in bash, PowerShell or Terraform.
    allowed: |c| is_role_name_char(c) || c == '/',
    allowed_desc: "letters, digits, / and + = , . @ _ -",
    first: Some((|c| c == '/', "/")),
    last: Some((|c| c == '/', "/")),
};

crate::validated_string!(
    /// An IAM role path: `/` or `/segment/.../`, at most 512 characters.
    RolePath,
    |s| {
        check_rule(IdKind::AwsRolePath, &ROLE_PATH_RULE, s)?;
        if s.contains("//") {
            return Err(IdError::new(IdKind::AwsRolePath, Reason::Format { expected: "no empty segment (//)" }));
        }
        Ok(())
    }
);

impl RolePath {
    pub fn root() -> Self {
        RolePath("/".to_owned())
    }
}

fn check_role_name_pattern(s: &str) -> Result<(), IdError> {
    let kind = IdKind::AwsRoleNamePattern;
    let max = MAX_PATTERN_LITERAL + ORG_ID_PLACEHOLDER.len();
    let len = s.chars().take(max + 1).count();
    if s.is_empty() {
        return Err(IdError::new(kind, Reason::Empty));
    }
    if len > max {
        return Err(IdError::new(
            kind,
            Reason::TooLong {
                max,
                len: s.chars().count(),
            },
        ));
    }
    if s.matches(ORG_ID_PLACEHOLDER).count() != 1 {
        return Err(IdError::new(
            kind,
            Reason::Format {
                expected: "the placeholder {org_id} exactly once",
            },
        ));
    }
    let at = s.find(ORG_ID_PLACEHOLDER).unwrap_or_default();
    let placeholder = at..at + ORG_ID_PLACEHOLDER.len();
    if let Some((position, ch)) = s
        .char_indices()
        .filter(|(i, _)| !placeholder.contains(i))
        .map(|(i, c)| (s[..i].chars().count(), c))
        .find(|(_, c)| !is_role_name_char(*c))
    {
        return Err(IdError::new(
            kind,
            Reason::ForbiddenChar {
                ch,
                position,
                allowed: "letters, digits and + = , . @ _ - around {org_id}",
            },
        ));
    }
    let (prefix, suffix) = (&s[..placeholder.start], &s[placeholder.end..]);
    if prefix.contains("--") || suffix.contains("--") {
        // "--" marks the hash of a shortened name; see crate::name.
        return Err(IdError::new(
            kind,
            Reason::Format {
                expected: "no consecutive hyphens (--) around {org_id}",
            },
        ));
    }
    Ok(())
}

crate::validated_string!(
    /// How a role name is built from an org id, e.g. `alphaswarm-broker-{org_id}`.
    RoleNamePattern,
    check_role_name_pattern
);

impl Default for RoleNamePattern {
    fn default() -> Self {
        RoleNamePattern(DEFAULT_ROLE_NAME_PATTERN.to_owned())
    }
}

impl RoleNamePattern {
    fn split(&self) -> (&str, &str) {
        let at = self.0.find(ORG_ID_PLACEHOLDER).unwrap_or_default();
        (&self.0[..at], &self.0[at + ORG_ID_PLACEHOLDER.len()..])
    }
    /// The literal text before `{org_id}`.
    pub fn prefix(&self) -> &str {
        self.split().0
    }
    /// The literal text after `{org_id}`.
    pub fn suffix(&self) -> &str {
        self.split().1
    }
}

// ---------------------------------------------------------------- OUs, managed policy

fn check_organizational_unit_id(s: &str) -> Result<(), IdError> {
    let kind = IdKind::AwsOrganizationalUnitId;
    let rule = Rule {
        min: 6,
        max: 68,
        allowed: |c| rule::is_lower_alnum(c) || c == '-',
        allowed_desc: "a-z, 0-9 and -",
        first: None,
        last: None,
    };
    check_rule(kind, &rule, s)?;
    let alnum = |p: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&p.len()) && p.bytes().all(|b| rule::is_lower_alnum(b as char))
    };
    let parts: Vec<&str> = s.split('-').collect();
    let ok = match parts.as_slice() {
        ["ou", root, unit] => alnum(root, 4..=32) && alnum(unit, 8..=32),
        ["r", root] => alnum(root, 4..=32),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(IdError::new(
            kind,
            Reason::Format {
                expected: "ou-<4-32 a-z0-9>-<8-32 a-z0-9>, or r-<4-32 a-z0-9> for the root",
            },
        ))
    }
}

crate::validated_string!(
    /// An AWS Organizations OU id (`ou-ab12-cd34ef56`) or root id (`r-ab12`).
    OrganizationalUnitId,
    check_organizational_unit_id
);

const MANAGED_POLICY_RULE: Rule = Rule {
    min: 1,
    max: 256,
    allowed: |c| is_role_name_char(c) || c == '/',
    allowed_desc: "letters, digits, / and + = , . @ _ -",
    first: Some((is_role_name_char, "a letter, digit or + = , . @ _ -")),
    last: Some((is_role_name_char, "a letter, digit or + = , . @ _ -")),
};

crate::validated_string!(
    /// An AWS managed policy, by name with its path if it has one:
    /// `ReadOnlyAccess`, `SecurityAudit`, `job-function/ViewOnlyAccess`.
    ManagedPolicyName,
    |s| {
        check_rule(IdKind::AwsManagedPolicy, &MANAGED_POLICY_RULE, s)?;
        if s.contains("//") || s.split('/').any(|segment| segment.len() > 128) {
            return Err(IdError::new(IdKind::AwsManagedPolicy, Reason::Format { expected: "segments of 1-128 characters separated by single /" }));
        }
        Ok(())
    }
);

impl Default for ManagedPolicyName {
    fn default() -> Self {
        ManagedPolicyName(DEFAULT_MANAGED_POLICY.to_owned())
    }
}

impl ManagedPolicyName {
    pub fn arn(&self, partition: AwsPartition) -> String {
        format!("arn:{partition}:iam::aws:policy/{}", self.0)
    }
}

// ---------------------------------------------------------------- role ARN

/// A parsed IAM role ARN: `arn:<partition>:iam::<account>:role/<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify), tsify(type = "string"))]
#[serde(try_from = "String", into = "String")]
pub struct RoleArn {
    pub partition: AwsPartition,
    pub account_id: AwsAccountId,
    pub path: RolePath,
    pub name: RoleName,
}

/// What is wrong with a pasted role ARN, precisely enough to say how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleArnProblem {
    Empty,
    /// Leading/trailing whitespace or quotes around the ARN.
    Wrapped,
    /// Twelve digits: an account id, not an ARN.
    AccountIdOnly,
    /// A bare role name.
    RoleNameOnly,
    NotAnArn,
    UnknownPartition,
    /// `arn:<p>:sts::<acct>:assumed-role/<name>/<session>`, from GetCallerIdentity.
    AssumedRole {
        role_arn: Option<String>,
    },
    NotIam,
    RegionNotEmpty,
    AccountId {
        digits: usize,
        non_digits: bool,
    },
    User,
    Group,
    Policy,
    InstanceProfile,
    AccountRoot,
    NotARole,
    MissingName,
    Path(Reason),
    Name(Reason),
}

/// A role ARN that does not parse. Code `invalid_role_arn`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is not a valid IAM role ARN: {}", self.problem.describe())]
pub struct RoleArnError {
    pub field: &'static str,
    pub problem: RoleArnProblem,
}

impl RoleArnError {
    fn new(problem: RoleArnProblem) -> Self {
        RoleArnError {
            field: IdKind::AwsRoleArn.default_field(),
            problem,
        }
    }
    /// Relabel with the input field the value came from.
    pub fn at(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

impl RoleArnProblem {
    fn describe(&self) -> String {
        use RoleArnProblem::*;
        match self {
            Empty => "it is empty".into(),
            Wrapped => "it has spaces, line breaks or quotes around it".into(),
            AccountIdOnly => "it is an account id, not a role ARN".into(),
            RoleNameOnly => "it is a role name, not a role ARN".into(),
            NotAnArn => "it does not start with arn:".into(),
            UnknownPartition => "the partition is not aws, aws-cn or aws-us-gov".into(),
            AssumedRole { .. } => "it is an STS assumed-role (session) ARN".into(),
            NotIam => "it is not an IAM ARN (the service part must be iam)".into(),
            RegionNotEmpty => "IAM ARNs have no region, but this one has one".into(),
            AccountId { digits, non_digits } => {
                if *non_digits {
                    "the account id part is not all digits".into()
                } else {
                    format!("the account id has {digits} digits; it must have 12")
                }
            }
            User => "it is an IAM user ARN".into(),
            Group => "it is an IAM group ARN".into(),
            Policy => "it is an IAM policy ARN".into(),
            InstanceProfile => "it is an instance profile ARN".into(),
            AccountRoot => "it is the account's root ARN".into(),
            NotARole => "its resource is not role/...".into(),
            MissingName => "the role name is missing after role/".into(),
            Path(reason) => format!("the role path is invalid: {reason}"),
            Name(reason) => format!("the role name is invalid: {reason}"),
        }
    }

    fn hint(&self) -> String {
        use RoleArnProblem::*;
        let example = "arn:aws:iam::123456789012:role/alphaswarm-broker-org-acme";
        match self {
            Empty | NotAnArn | UnknownPartition | NotIam | NotARole | MissingName => {
                IdKind::AwsRoleArn.hint().to_owned()
            }
            Wrapped => "Remove the spaces, line breaks and quotes around the ARN.".into(),
            AccountIdOnly => format!(
                "Paste the whole role ARN, not only the account id: open the role in the IAM console and copy its ARN, e.g. {example}."
            ),
            RoleNameOnly => format!(
                "Paste the whole role ARN (it carries the account id), not only the role name, e.g. {example}."
            ),
            AssumedRole { role_arn } => match role_arn {
                Some(arn) => format!(
                    "That is the session ARN sts get-caller-identity prints. Paste the role's own ARN instead: {arn} (add the role's path if it has one)."
                ),
                None => "That is the session ARN sts get-caller-identity prints. Paste the role's own ARN (arn:...:iam::<account>:role/<name>) instead.".into(),
            },
            RegionNotEmpty => "IAM is global: the ARN reads arn:aws:iam::<account>:role/<name>, with nothing between iam and the second colon.".into(),
            AccountId { .. } => "An AWS account id is exactly 12 digits; a leading zero may have been lost. Copy the ARN again from the IAM console.".into(),
            User => "AlphaSwarm assumes a role, not a user: paste the ARN of the role you created (it contains :role/).".into(),
            Group => "Paste the ARN of the role you created (it contains :role/), not a group ARN.".into(),
            Policy => "That is the policy attached to the role; paste the role's ARN (it contains :role/).".into(),
            InstanceProfile => "An instance profile wraps a role; paste the role's ARN (:role/ instead of :instance-profile/).".into(),
            AccountRoot => "That names the whole account; paste the ARN of the role you created (it contains :role/).".into(),
            Path(_) => IdKind::AwsRolePath.hint().to_owned(),
            Name(_) => IdKind::AwsRoleName.hint().to_owned(),
        }
    }
}

impl CoreError for RoleArnError {
    fn code(&self) -> &'static str {
        IdKind::AwsRoleArn.code()
    }
    fn field(&self) -> Option<&str> {
        Some(self.field)
    }
    fn hint(&self) -> String {
        self.problem.hint()
    }
}

impl RoleArn {
    pub fn parse(value: &str) -> Result<Self, RoleArnError> {
        use RoleArnProblem as P;
        let fail = |p| Err(RoleArnError::new(p));
        if value.is_empty() {
            return fail(P::Empty);
        }
        let wrapped = |c: char| c.is_whitespace() || "\"'`".contains(c);
        if value.starts_with(wrapped) || value.ends_with(wrapped) {
            return fail(P::Wrapped);
        }
        if AwsAccountId::parse(value).is_ok() {
            return fail(P::AccountIdOnly);
        }
        if ROLE_NAME_RULE.accepts(value) {
            return fail(P::RoleNameOnly);
        }
        let Some(rest) = value.strip_prefix("arn:") else {
            return fail(P::NotAnArn);
        };
        let mut parts = rest.splitn(5, ':');
        let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return fail(P::NotAnArn);
        };
        let Ok(partition) = partition.parse::<AwsPartition>() else {
            return fail(P::UnknownPartition);
        };
        if service == "sts" {
            let role_arn = resource
                .strip_prefix("assumed-role/")
                .and_then(|r| r.split('/').next())
                .and_then(|name| RoleName::parse(name).ok())
                .zip(AwsAccountId::parse(account).ok())
                .map(|(name, account)| format!("arn:{partition}:iam::{account}:role/{name}"));
            return if resource.starts_with("assumed-role/") {
                fail(P::AssumedRole { role_arn })
            } else {
                fail(P::NotIam)
            };
        }
        if service != "iam" {
            return fail(P::NotIam);
        }
        if !region.is_empty() {
            return fail(P::RegionNotEmpty);
        }
        // What kind of ARN it is says more than a bad account id would.
        let Some(path_and_name) = resource.strip_prefix("role/") else {
            let kind = resource.split('/').next().unwrap_or_default();
            return fail(match kind {
                "user" => P::User,
                "group" => P::Group,
                "policy" => P::Policy,
                "instance-profile" => P::InstanceProfile,
                "root" => P::AccountRoot,
                _ => P::NotARole,
            });
        };
        let Ok(account_id) = AwsAccountId::parse(account) else {
            return fail(P::AccountId {
                digits: account
                    .chars()
                    .take(64)
                    .filter(char::is_ascii_digit)
                    .count(),
                non_digits: !account.chars().all(|c| c.is_ascii_digit()),
            });
        };
        let (path, name) = match path_and_name.rfind('/') {
            Some(i) => (&path_and_name[..=i], &path_and_name[i + 1..]),
            None => ("", path_and_name),
        };
        if name.is_empty() {
            return fail(P::MissingName);
        }
        let path = if path.is_empty() {
            RolePath::root()
        } else {
            RolePath::parse(&format!("/{path}"))
                .map_err(|e| RoleArnError::new(P::Path(e.reason)))?
        };
        let name = RoleName::parse(name).map_err(|e| RoleArnError::new(P::Name(e.reason)))?;
        Ok(RoleArn {
            partition,
            account_id,
            path,
            name,
        })
    }
}

impl std::str::FromStr for RoleArn {
    type Err = RoleArnError;
    fn from_str(s: &str) -> Result<Self, RoleArnError> {
        RoleArn::parse(s)
    }
}

impl TryFrom<String> for RoleArn {
    type Error = RoleArnError;
    fn try_from(s: String) -> Result<Self, RoleArnError> {
        RoleArn::parse(&s)
    }
}

impl From<RoleArn> for String {
    fn from(arn: RoleArn) -> String {
        arn.to_string()
    }
}

impl std::fmt::Display for RoleArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role{}{}",
            self.partition, self.account_id, self.path, self.name
        )
    }
}

// ---------------------------------------------------------------- derived names

/// The role name for `org` under `pattern`, shortened deterministically when
/// the plain form is longer than 64 characters.
pub fn role_name(pattern: &RoleNamePattern, org: &OrgId) -> DerivedName {
    name::derive(
        &NameShape {
            prefix: pattern.prefix(),
            suffix: pattern.suffix(),
            rule: &ROLE_NAME_RULE,
            // Every org-id character is a role-name character.
            sanitise: Some,
        },
        org,
    )
}

/// The CloudFormation stack name for `org`: the role name's pattern with
/// every character a stack name refuses mapped to `-`, starting with a
/// letter. The generic template names the role after its stack.
pub fn stack_name(pattern: &RoleNamePattern, org: &OrgId) -> DerivedName {
    let literal = |s: &str| {
        let mut out = String::new();
        for c in s.chars().filter_map(name::sanitise_alnum_dash) {
            if !(c == '-' && out.ends_with('-')) {
                out.push(c);
            }
        }
        out
    };
    let mut prefix = literal(pattern.prefix());
    if !prefix.starts_with(|c: char| c.is_ascii_alphabetic()) {
        prefix = format!("alphaswarm-{}", prefix.trim_start_matches('-'));
    }
    let suffix = literal(pattern.suffix());
    name::derive(
        &NameShape {
            prefix: &prefix,
            suffix: &suffix,
            rule: &STACK_NAME_RULE,
            sanitise: name::sanitise_alnum_dash,
        },
        org,
    )
}

// ---------------------------------------------------------------- request

/// Step-2 input as the wizard sends it: raw strings, validated by
/// [`AwsBootstrapRequest::validate`]. An empty optional string counts as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AwsBootstrapRequest {
    pub org_id: String,
    pub partner_account_id: String,
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Default: the partition's first region (us-east-1 for aws).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit_ids: Option<Vec<String>>,
    /// The broad AWS managed policy offered as an optional addition to the
    /// least-privilege policy (default `ReadOnlyAccess`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_policy: Option<String>,
}

/// A validated step-2 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsBootstrap {
    pub org_id: OrgId,
    pub partner_account_id: AwsAccountId,
    pub external_id: ExternalId,
    pub partition: AwsPartition,
    pub region: AwsRegion,
    pub role_name_pattern: RoleNamePattern,
    pub role_path: Option<RolePath>,
    pub template_url: Option<TemplateUrl>,
    /// Empty: no organisation-wide variant.
    pub organizational_unit_ids: Vec<OrganizationalUnitId>,
    pub managed_policy: ManagedPolicyName,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

fn parse_at<T>(
    parse: fn(&str) -> Result<T, IdError>,
    value: &str,
    field: &'static str,
) -> Result<T, RenderError> {
    parse(value).map_err(|e| RenderError::Id(e.at(field)))
}

impl AwsBootstrapRequest {
    pub fn validate(&self) -> Result<AwsBootstrap, RenderError> {
        let org_id = parse_at(OrgId::parse, &self.org_id, "org_id")?;
        let partner_account_id = parse_at(
            AwsAccountId::parse,
            &self.partner_account_id,
            "partner_account_id",
        )?;
        let external_id = parse_at(ExternalId::parse, &self.external_id, "external_id")?;
        let region = present(&self.region)
            .map(|r| parse_at(AwsRegion::parse, r, "region"))
            .transpose()?;
        let partition = match present(&self.partition) {
            Some(p) => parse_at(str::parse::<AwsPartition>, p, "partition")?,
            // A cn-/us-gov- region implies its partition.
            None => region
                .as_ref()
                .map_or(AwsPartition::Aws, AwsRegion::partition),
        };
        let region = region.unwrap_or_else(|| partition.default_region());
        if region.partition() != partition {
            return Err(RenderError::Id(
                IdError::new(
                    IdKind::AwsRegion,
                    Reason::Format {
                        expected: partition.region_example(),
                    },
                )
                .at("region"),
            ));
        }
        let role_name_pattern = present(&self.role_name_pattern)
            .map(|p| parse_at(RoleNamePattern::parse, p, "role_name_pattern"))
            .transpose()?
            .unwrap_or_default();
        let role_path = present(&self.role_path)
            .map(|p| parse_at(RolePath::parse, p, "role_path"))
            .transpose()?;
        let template_url = present(&self.template_url)
            .map(|u| parse_at(TemplateUrl::parse, u, "template_url"))
            .transpose()?;
        let managed_policy = present(&self.managed_policy)
            .map(|p| parse_at(ManagedPolicyName::parse, p, "managed_policy"))
            .transpose()?
            .unwrap_or_default();
        let raw_units = self.organizational_unit_ids.as_deref().unwrap_or_default();
        if raw_units.len() > MAX_ORGANIZATIONAL_UNITS {
            return Err(RenderError::Invalid {
                field: "organizational_unit_ids",
                message: format!(
                    "{} organizational units were given; at most {MAX_ORGANIZATIONAL_UNITS} are supported",
                    raw_units.len()
                ),
                hint: "Target parent OUs (or the root r-xxxx) instead of listing every child OU.",
            });
        }
        let mut organizational_unit_ids: Vec<OrganizationalUnitId> = Vec::new();
        for raw in raw_units {
            let unit = parse_at(OrganizationalUnitId::parse, raw, "organizational_unit_ids")?;
            if !organizational_unit_ids.contains(&unit) {
                organizational_unit_ids.push(unit);
            }
        }
        Ok(AwsBootstrap {
            org_id,
            partner_account_id,
            external_id,
            partition,
            region,
            role_name_pattern,
            role_path,
            template_url,
            organizational_unit_ids,
            managed_policy,
        })
    }
}

// ---------------------------------------------------------------- artifacts

/// Query-value encoding: everything but RFC 3986 unreserved characters, so
/// `+`, `/`, `=`, `&` and `#` in a value can never change the link's meaning.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// How a CloudFormation template names its role.
enum RoleNaming<'a> {
    /// `{"Ref": "AWS::StackName"}`: one hosted template serves every org.
    FromStackName,
    Literal(&'a str),
}

impl AwsBootstrap {
    pub fn role_name(&self) -> DerivedName {
        role_name(&self.role_name_pattern, &self.org_id)
    }

    pub fn stack_name(&self) -> DerivedName {
        stack_name(&self.role_name_pattern, &self.org_id)
    }

    /// The stack that creates the organisation-wide variant.
    pub fn org_stack_name(&self) -> String {
        format!("{}-org", self.stack_name().value)
    }

    /// The trusted principal: the AlphaSwarm partner account's root.
    pub fn trust_principal(&self) -> String {
        format!(
            "arn:{}:iam::{}:root",
            self.partition, self.partner_account_id
        )
    }

    pub fn policy_arn(&self) -> String {
        self.managed_policy.arn(self.partition)
    }

    fn role_description(&self) -> String {
        format!("AlphaSwarm broker role for organisation {}", self.org_id)
    }

    /// `trust_policy.json`.
    pub fn trust_policy(&self) -> Value {
        trust_policy_document(json!(self.trust_principal()), json!(self.external_id))
    }

    /// The generic single-account template (`alphaswarm-broker-role.cfn.json`).
    pub fn role_template(&self) -> Value {
        self.template(RoleNaming::FromStackName)
    }

    /// The organisation-wide template, when OUs were given.
    pub fn org_template(&self) -> Option<Value> {
        if self.organizational_unit_ids.is_empty() {
            return None;
        }
        let role_name = self.role_name().value;
        let member = self.template(RoleNaming::Literal(&role_name));
        let member_body = serde_json::to_string_pretty(&member).unwrap_or_default();
        let mut template = self.template(RoleNaming::Literal(&role_name));
        template["Description"] = json!(format!(
            "AlphaSwarm broker role {role_name} for a whole AWS Organization: creates the role in this (management) account and, through a service-managed StackSet, in every account of the target OUs."
        ));
        template["Resources"]["BrokerRoleStackSet"] = json!({
            "Type": "AWS::CloudFormation::StackSet",
            "Properties": {
                "StackSetName": format!("{}-members", self.stack_name().value),
                "Description": format!("AlphaSwarm broker role {role_name} in member accounts"),
                "PermissionModel": "SERVICE_MANAGED",
                "AutoDeployment": { "Enabled": true, "RetainStacksOnAccountRemoval": false },
                "ManagedExecution": { "Active": true },
                "Capabilities": ["CAPABILITY_NAMED_IAM"],
                "OperationPreferences": {
                    "FailureTolerancePercentage": 10,
                    "MaxConcurrentPercentage": 25,
                },
                "Parameters": [
                    { "ParameterKey": EXTERNAL_ID_PARAMETER, "ParameterValue": { "Ref": EXTERNAL_ID_PARAMETER } }
                ],
                "StackInstancesGroup": [{
                    "DeploymentTargets": {
                        "OrganizationalUnitIds": self.organizational_unit_ids,
                    },
                    // IAM is global: one region per account, or the second
                    // stack instance would try to create the same role again.
                    "Regions": [{ "Ref": "AWS::Region" }],
                }],
                "TemplateBody": member_body,
            }
        });
        template["Outputs"]["StackSetId"] = json!({
            "Description": "The StackSet that deploys the role to the member accounts",
            "Value": { "Ref": "BrokerRoleStackSet" },
        });
        Some(template)
    }

    fn template(&self, naming: RoleNaming<'_>) -> Value {
        let (role_name, description) = match naming {
            RoleNaming::FromStackName => (
                json!({ "Ref": "AWS::StackName" }),
                "AlphaSwarm broker role: lets AlphaSwarm's AWS account assume this role with your sts:ExternalId. The role is named after the stack.".to_owned(),
            ),
            RoleNaming::Literal(name) => (
                json!(name),
                format!("AlphaSwarm broker role {name}: lets AlphaSwarm's AWS account assume it with your sts:ExternalId."),
            ),
        };
        let principal = json!({
            "Fn::Sub": format!("arn:${{AWS::Partition}}:iam::{}:root", self.partner_account_id)
        });
        let mut properties = json!({
            "RoleName": role_name,
            "Description": "AlphaSwarm broker role",
            "AssumeRolePolicyDocument":
                trust_policy_document(principal, json!({ "Ref": EXTERNAL_ID_PARAMETER })),
            "Policies": [
                { "PolicyName": BASELINE_POLICY_NAME, "PolicyDocument": baseline_policy() }
            ],
        });
        if let Some(path) = &self.role_path {
            properties["Path"] = json!(path);
        }
        json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": description,
            "Parameters": {
                EXTERNAL_ID_PARAMETER: {
                    "Type": "String",
                    "Description": "The sts:ExternalId the AlphaSwarm wizard shows for your organisation",
                    "AllowedPattern": "^[\\w+=,.@:/-]+$",
                    "MinLength": 2,
                    "MaxLength": 1224,
                    "ConstraintDescription": "2-1224 characters of letters, digits and + = , . @ : / _ -",
                }
            },
            "Resources": {
                "BrokerRole": { "Type": "AWS::IAM::Role", "Properties": properties }
            },
            "Outputs": {
                "RoleArn": {
                    "Description": "Paste this ARN into the AlphaSwarm wizard (step 3)",
                    "Value": { "Fn::GetAtt": ["BrokerRole", "Arn"] },
                }
            }
        })
    }

    /// The CloudFormation quick-create link, when the template is hosted.
    pub fn quick_create_url(&self) -> Option<String> {
        self.template_url.as_ref().map(|url| {
            format!(
                "https://{}/cloudformation/home?region={}#/stacks/quickcreate?templateURL={}&stackName={}&param_{EXTERNAL_ID_PARAMETER}={}",
                self.partition.console_host(),
                self.region,
                encode_query_value(url.as_str()),
                encode_query_value(&self.stack_name().value),
                encode_query_value(self.external_id.as_str()),
            )
        })
    }

    pub fn iam_console_url(&self) -> String {
        format!(
            "https://{}/iam/home#/roles$new",
            self.partition.console_host()
        )
    }

    pub fn terraform(&self) -> String {
        let role_name = self.role_name().value;
        let mut role = format!(
            "resource \"aws_iam_role\" \"alphaswarm_broker\" {{\n  name               = {}\n  description        = {}\n",
            hcl_string(&role_name),
            hcl_string(&self.role_description()),
        );
        if let Some(path) = &self.role_path {
            role.push_str(&format!(
                "  path               = {}\n",
                hcl_string(path.as_str())
            ));
        }
        role.push_str(&format!(
            "  assume_role_policy = file(\"${{path.module}}/{TRUST_POLICY_FILE}\")\n}}\n"
        ));
        format!(
            "# IAM is global; the provider's region only selects the partition ({partition}).\n\
             {role}\n\
             # Least privilege: exactly the actions AlphaSwarm checks in step 4.\n\
             resource \"aws_iam_role_policy\" \"alphaswarm_baseline\" {{\n  name   = {baseline_name}\n  role   = aws_iam_role.alphaswarm_broker.id\n  policy = file(\"${{path.module}}/{BASELINE_POLICY_FILE}\")\n}}\n\n\
             # The broad alternative, off by default: see the bundle's notes.\n\
             variable \"attach_managed_policy\" {{\n  description = {variable_description}\n  type        = bool\n  default     = false\n}}\n\n\
             resource \"aws_iam_role_policy_attachment\" \"alphaswarm_broker\" {{\n  count      = var.attach_managed_policy ? 1 : 0\n  role       = aws_iam_role.alphaswarm_broker.name\n  policy_arn = {policy}\n}}\n\n\
             output \"role_arn\" {{\n  description = \"Paste this ARN into the AlphaSwarm wizard (step 3)\"\n  value       = aws_iam_role.alphaswarm_broker.arn\n}}\n",
            partition = self.partition,
            baseline_name = hcl_string(BASELINE_POLICY_NAME),
            variable_description = hcl_string(&format!(
                "Also attach the broad AWS managed policy {} (only when AlphaSwarm must read resources across the account)",
                self.managed_policy
            )),
            policy = hcl_string(&self.policy_arn()),
        )
    }

    pub fn bundle(&self) -> Result<Bundle, RenderError> {
        let role = self.role_name();
        let stack = self.stack_name();
        let cli = commands(self);
        let rendered = Commands::render(&cli)?;

        let mut values = vec![
            NamedValue::new(
                "external_id",
                "External id (sts:ExternalId)",
                self.external_id.as_str(),
            ),
            NamedValue::new("role_name", "IAM role name", &role.value),
            NamedValue::new("stack_name", "CloudFormation stack name", &stack.value),
            NamedValue::new(
                "partner_account_id",
                "AlphaSwarm AWS account id",
                self.partner_account_id.as_str(),
            ),
            NamedValue::new(
                "trust_principal",
                "Trusted principal (Principal.AWS)",
                self.trust_principal(),
            ),
            NamedValue::new(
                "baseline_policy_name",
                "Least-privilege inline policy",
                BASELINE_POLICY_NAME,
            ),
            NamedValue::new(
                "policy_arn",
                "Broad alternative (AWS managed policy)",
                self.policy_arn(),
            ),
            NamedValue::new("partition", "AWS partition", self.partition.as_str()),
            NamedValue::new("region", "Region", self.region.as_str()),
        ];
        if let Some(path) = &self.role_path {
            values.push(NamedValue::new("role_path", "IAM role path", path.as_str()));
        }
        if let Some(url) = &self.template_url {
            values.push(NamedValue::new(
                "template_url",
                "Hosted template URL",
                url.as_str(),
            ));
        }

        let mut files = vec![
            File::json(TRUST_POLICY_FILE, &self.trust_policy()),
            File::json(BASELINE_POLICY_FILE, &baseline_policy()),
            File::json(ROLE_TEMPLATE_FILE, &self.role_template()),
        ];

        let mut links = Vec::new();
        let mut warnings: Vec<Notice> = [
            bundle::shortened_notice("IAM role name", &role),
            bundle::shortened_notice("CloudFormation stack name", &stack),
        ]
        .into_iter()
        .flatten()
        .collect();
        match self.quick_create_url() {
            Some(url) => links.push(Link::new(
                "cloudformation_quick_create",
                "Launch the CloudFormation stack (quick create)",
                url,
            )),
            None => warnings.push(Notice::new(
                "template_url_missing",
                format!(
                    "No template URL was given, so there is no quick-create link. Host {ROLE_TEMPLATE_FILE} once (it is the same for every organisation), e.g. upload it to an S3 bucket the customer's console can read (aws s3 cp {ROLE_TEMPLATE_FILE} s3://<bucket>/{ROLE_TEMPLATE_FILE}), and set its https URL as ALPHASWARM_ADMIN_AWS_TEMPLATE_URL on the proxy."
                ),
            )),
        }
        links.push(Link::new(
            "iam_console_create_role",
            "Create the role in the IAM console",
            self.iam_console_url(),
        ));

        let mut notes = vec![
            format!(
                "{TRUST_POLICY_FILE} lets only AlphaSwarm's AWS account {} assume the role, and only with the external id {} (sts:ExternalId), which stops anyone else from using AlphaSwarm as a confused deputy.",
                self.partner_account_id, self.external_id
            ),
            format!(
                "aws iam create-role creates the role {} with that trust policy; run it in the folder that holds {TRUST_POLICY_FILE} (file:// paths are relative).",
                role.value
            ),
            format!(
                "aws iam put-role-policy gives the role the least-privilege inline policy {BASELINE_POLICY_NAME} from {BASELINE_POLICY_FILE}: exactly the actions AlphaSwarm checks in step 4 ({}), iam:SimulatePrincipalPolicy being how step 4 reads the role's own permissions. Run it in the folder that holds {BASELINE_POLICY_FILE}.",
                AWS_REQUIRED_ACTIONS.join(", ")
            ),
            "aws iam get-role prints the role ARN: paste it into the wizard (step 3, validate identity).".to_owned(),
            format!(
                "Instead of the CLI commands you can deploy {ROLE_TEMPLATE_FILE} with CloudFormation. Its only parameter is ExternalId; it names the role after the stack, so the same file serves every organisation. It carries the same least-privilege inline policy, as does the Terraform."
            ),
        ];
        if role.value == stack.value {
            notes.push(format!(
                "The CLI and the CloudFormation stack {} create the same role name.",
                stack.value
            ));
        } else {
            notes.push(format!(
                "The CloudFormation template names the role after its stack, so stack {} creates role {} while the CLI creates {}: stack names allow only letters, digits and hyphens. Keep the stack name at most 64 characters, or the role cannot be created.",
                stack.value, stack.value, role.value
            ));
        }
        notes.push(format!(
                "Which policy to choose: the least-privilege policy {BASELINE_POLICY_NAME} is what every path above sets up, and it is all the connection and this wizard's checks need; choose it unless the customer has agreed that AlphaSwarm may read resources across the whole account. Only then also attach the AWS managed policy {}: it grants read access across almost every AWS service, far more than AlphaSwarm checks, so it is a decision for the customer, not a default (in Terraform: attach_managed_policy = true).",
                self.managed_policy
            ));
        let (broad_bash, broad_powershell) = render_both(&managed_policy_commands(self))?;
        notes.push(format!(
            "The broad addition, only when agreed (bash):\n{broad_bash}"
        ));
        notes.push(format!(
            "The broad addition, only when agreed (PowerShell):\n{broad_powershell}"
        ));
        let (cfn_bash, cfn_powershell) = render_both(&cloudformation_commands(self))?;
        notes.push(format!("CloudFormation from the CLI (bash):\n{cfn_bash}"));
        notes.push(format!(
            "CloudFormation from the CLI (PowerShell):\n{cfn_powershell}"
        ));

        if let Some(org_template) = self.org_template() {
            files.push(File::json(ORG_TEMPLATE_FILE, &org_template));
            values.push(NamedValue::new(
                "org_stack_name",
                "Organisation-wide stack name",
                self.org_stack_name(),
            ));
            values.push(NamedValue::new(
                "organizational_unit_ids",
                "Target organizational units",
                self.organizational_unit_ids
                    .iter()
                    .map(OrganizationalUnitId::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ));
            notes.push(format!(
                "{ORG_TEMPLATE_FILE} is the organisation-wide variant: deploy it in the management account. It creates the role {} there and a service-managed StackSet that creates it in every account of the target OUs, including accounts that join later. A service-managed StackSet never deploys to the management account itself, which is why this stack creates that role directly. Trusted access for CloudFormation StackSets must be enabled in AWS Organizations, and the StackSet deploys to this stack's region only (IAM is global).",
                role.value
            ));
        }
        Ok(Bundle {
            cloud: CloudKind::Aws,
            org_id: self.org_id.clone(),
            values,
            files,
            commands: rendered,
            links,
            terraform: self.terraform(),
            warnings,
            notes,
        })
    }
}

fn trust_policy_document(principal: Value, external_id: Value) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlphaSwarmBroker",
            "Effect": "Allow",
            "Principal": { "AWS": principal },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": external_id } },
        }]
    })
}

/// The least-privilege permissions policy (`alphaswarm_baseline_policy.json`):
/// exactly the AWS baseline. `Resource` is `*` because step 4 simulates the
/// actions without a resource, as IAM's simulator then evaluates `*`.
pub fn baseline_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlphaSwarmBaseline",
            "Effect": "Allow",
            "Action": AWS_REQUIRED_ACTIONS,
            "Resource": "*",
        }]
    })
}

/// [`baseline_policy`] as the file the bundle ships (pretty JSON, final newline).
pub fn baseline_policy_json() -> String {
    File::json(BASELINE_POLICY_FILE, &baseline_policy()).contents
}

/// The one statement step 4 needs before it can check anything else: the
/// fix shown when the role may not simulate its own policies.
pub fn simulate_statement() -> Value {
    json!({
        "Sid": "AlphaSwarmSimulate",
        "Effect": "Allow",
        "Action": "iam:SimulatePrincipalPolicy",
        "Resource": "*",
    })
}

/// [`simulate_statement`] as one line of JSON with a space after each `:`
/// and `,`, so it wraps where it is shown (an error hint, a narrow screen).
pub fn simulate_statement_text() -> String {
    serde_json::to_string_pretty(&simulate_statement())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `aws iam put-role-policy` of [`BASELINE_POLICY_FILE`] on `role_name`: the
/// bundle's permissions command, and the fix step 4 shows for any missing
/// baseline action (run where the file is).
pub fn put_baseline_policy_command(role_name: &str) -> Command {
    Command::new(&["aws", "iam", "put-role-policy"])
        .opt("--role-name", role_name)
        .opt("--policy-name", BASELINE_POLICY_NAME)
        .opt(
            "--policy-document",
            format!("file://{BASELINE_POLICY_FILE}"),
        )
}

fn render_both(commands: &[Command]) -> Result<(String, String), RenderError> {
    let render = |shell| {
        commands
            .iter()
            .map(|c| c.render(shell))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join("\n\n"))
    };
    Ok((render(Shell::Bash)?, render(Shell::PowerShell)?))
}

/// The CLI path of the bundle's `commands`: create the role, put the
/// least-privilege policy, print the ARN for step 3.
pub fn commands(b: &AwsBootstrap) -> Vec<Command> {
    let role = b.role_name().value;
    let mut create = Command::new(&["aws", "iam", "create-role"]).opt("--role-name", &role);
    if let Some(path) = &b.role_path {
        create = create.opt("--path", path.as_str());
    }
    let create = create
        .opt(
            "--assume-role-policy-document",
            format!("file://{TRUST_POLICY_FILE}"),
        )
        .opt("--description", b.role_description());
    vec![
        create,
        put_baseline_policy_command(&role),
        Command::new(&["aws", "iam", "get-role"])
            .opt("--role-name", &role)
            .opt("--query", "Role.Arn")
            .opt("--output", "text"),
    ]
}

/// The broad alternative (shown in the notes, never run by default): attach
/// the AWS managed policy in addition to the least-privilege one.
pub fn managed_policy_commands(b: &AwsBootstrap) -> Vec<Command> {
    vec![
        Command::new(&["aws", "iam", "attach-role-policy"])
            .opt("--role-name", b.role_name().value)
            .opt("--policy-arn", b.policy_arn()),
    ]
}

/// The CloudFormation alternative to [`commands`] (shown in the notes, since
/// running both would create the role twice): the generic stack, and the
/// organisation-wide stack when OUs were given.
pub fn cloudformation_commands(b: &AwsBootstrap) -> Vec<Command> {
    let parameters = format!(
        "ParameterKey={EXTERNAL_ID_PARAMETER},ParameterValue={}",
        shorthand_value(b.external_id.as_str())
    );
    let create_stack = |stack: String, file: &str| {
        Command::new(&["aws", "cloudformation", "create-stack"])
            .opt("--stack-name", stack)
            .opt("--template-body", format!("file://{file}"))
            .opt("--parameters", parameters.clone())
            .opt("--capabilities", "CAPABILITY_NAMED_IAM")
            .opt("--region", b.region.as_str())
    };
    let mut out = vec![create_stack(b.stack_name().value, ROLE_TEMPLATE_FILE)];
    if !b.organizational_unit_ids.is_empty() {
        out.push(create_stack(b.org_stack_name(), ORG_TEMPLATE_FILE));
    }
    out
}

/// An external id as an awscli shorthand value. A comma would end the value,
/// so it is escaped as awscli's `\,`; a leading `=` is not a valid start, so
/// such a value is double-quoted (a single quote could not be pasted into
/// PowerShell's single-quoted strings). No other ExternalId character is
/// special to the shorthand parser (checked against awscli in the tests).
fn shorthand_value(external_id: &str) -> String {
    if external_id.starts_with('=') {
        format!("\"{external_id}\"")
    } else {
        external_id.replace(',', "\\,")
    }
}

/// Validates `req` and renders its bundle.
pub fn render(req: &AwsBootstrapRequest) -> Result<Bundle, RenderError> {
    req.validate()?.bundle()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(s: &str) -> OrgId {
        OrgId::parse(s).unwrap()
    }

    #[test]
    fn partition_console_hosts() {
        let hosts: Vec<_> = AwsPartition::ALL.iter().map(|p| p.console_host()).collect();
        assert_eq!(
            hosts,
            [
                "console.aws.amazon.com",
                "console.amazonaws.cn",
                "console.amazonaws-us-gov.com"
            ]
        );
        for p in AwsPartition::ALL {
            assert_eq!(p.as_str().parse::<AwsPartition>(), Ok(p));
            assert_eq!(p.default_region().partition(), p);
        }
        assert!("aws-iso".parse::<AwsPartition>().is_err());
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "cn-north-1",
            "cn-northwest-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "eu-central-2",
            "il-central-1",
            "mx-central-1",
        ] {
            assert!(AwsRegion::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us-east-01",
            "useast1",
            "us-iso-east-1",
            "us-east-1 ",
            "u-east-1",
            "us-east-1;",
        ] {
            let e = AwsRegion::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_aws_region", "{bad}");
        }
        assert_eq!(
            AwsRegion::parse("us-gov-east-1").unwrap().partition(),
            AwsPartition::AwsUsGov
        );
    }

    #[test]
    fn role_name_patterns() {
        let p = RoleNamePattern::default();
        assert_eq!((p.prefix(), p.suffix()), ("alphaswarm-broker-", ""));
        let p = RoleNamePattern::parse("x.{org_id}@y").unwrap();
        assert_eq!((p.prefix(), p.suffix()), ("x.", "@y"));
        assert!(RoleNamePattern::parse("{org_id}").is_ok());
        for bad in [
            "",
            "alphaswarm-broker",
            "{org_id}-{org_id}",
            "a b-{org_id}",
            "a--{org_id}",
            "{org_id}--x",
            "{org_id}$x",
            "{org}",
            "{org_id}{",
        ] {
            let e = RoleNamePattern::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_role_name_pattern", "{bad}");
        }
        let long = format!("{}{{org_id}}", "a".repeat(MAX_PATTERN_LITERAL + 1));
        assert!(matches!(
            RoleNamePattern::parse(&long).unwrap_err().reason,
            Reason::TooLong { .. }
        ));
        let e = RoleNamePattern::parse("ab{org_id}c d").unwrap_err();
        assert_eq!(
            e.reason,
            Reason::ForbiddenChar {
                ch: ' ',
                position: 11,
                allowed: "letters, digits and + = , . @ _ - around {org_id}"
            }
        );
    }

    #[test]
    fn names_for_edge_orgs() {
        let p = RoleNamePattern::default();
        let normal = role_name(&p, &org("org-acme"));
        assert_eq!(normal.value, "alphaswarm-broker-org-acme");
        assert!(!normal.is_shortened());
        assert_eq!(stack_name(&p, &org("org-acme")).value, normal.value);

        let platform = OrgId::platform();
        assert_eq!(
            role_name(&p, &platform).value,
            "alphaswarm-broker-__platform__"
        );
        let stack = stack_name(&p, &platform);
        assert!(stack.is_shortened());
        assert!(stack.value.starts_with("alphaswarm-broker-platform--"));
        assert!(STACK_NAME_RULE.accepts(&stack.value));

        let longest = org(&format!("a{}c", "b".repeat(62)));
        for derived in [role_name(&p, &longest), stack_name(&p, &longest)] {
            assert!(derived.is_shortened());
            assert_eq!(derived.value.len(), 64, "{}", derived.value);
        }
        let digits = RoleNamePattern::parse("{org_id}_x").unwrap();
        let s = stack_name(&digits, &org("1abc"));
        assert_eq!(s.value, "alphaswarm-1abc-x");
    }

    #[test]
    fn organizational_units_and_policies() {
        for ok in ["ou-ab12-cd34ef56", "r-ab12", "ou-abcd-12345678901234567890"] {
            assert!(OrganizationalUnitId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ou-ab1-cd34ef56",
            "ou-ab12-cd34ef5",
            "OU-ab12-cd34ef56",
            "r-ab",
            "ou-ab12",
            "x-ab12",
        ] {
            assert_eq!(
                OrganizationalUnitId::parse(bad).unwrap_err().code(),
                "invalid_organizational_unit_id",
                "{bad}"
            );
        }
        assert_eq!(
            ManagedPolicyName::parse("job-function/ViewOnlyAccess")
                .unwrap()
                .arn(AwsPartition::AwsCn),
            "arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess"
        );
        for bad in ["", "/ReadOnlyAccess", "a//b", "Read Only", "a/"] {
            assert_eq!(
                ManagedPolicyName::parse(bad).unwrap_err().code(),
                "invalid_aws_managed_policy",
                "{bad}"
            );
        }
    }

    #[test]
    fn hcl_strings_cannot_interpolate() {
        assert_eq!(hcl_string("a${b}%{c}\"\n"), r#""a$${b}%%{c}\"\n""#);
    }

    #[test]
    fn query_values_are_fully_encoded() {
        assert_eq!(
            encode_query_value("https://x.s3.amazonaws.com/t.json?a=1&b=+#"),
            "https%3A%2F%2Fx.s3.amazonaws.com%2Ft.json%3Fa%3D1%26b%3D%2B%23"
        );
    }
}
