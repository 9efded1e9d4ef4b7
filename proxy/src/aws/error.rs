//! Classification of AWS failures into stable codes with a hint each.
//!
//! Messages are ours, never AWS's text or a request body, so nothing secret
//! can leak through them; the AWS error code is kept for diagnosis.

use alphaswarm_core::CoreError;
use alphaswarm_core::aws::{BASELINE_POLICY_FILE, BASELINE_POLICY_NAME, simulate_statement_text};

/// The call that failed; it changes what an error means (AccessDenied on
/// AssumeRole is a trust problem, on the others a missing permission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    AssumeRole,
    GetCallerIdentity,
    SimulatePrincipalPolicy,
    DescribeRegions,
}

impl Operation {
    /// The IAM action name, e.g. `sts:AssumeRole`.
    pub fn action(self) -> &'static str {
        match self {
            Operation::AssumeRole => "sts:AssumeRole",
            Operation::GetCallerIdentity => "sts:GetCallerIdentity",
            Operation::SimulatePrincipalPolicy => "iam:SimulatePrincipalPolicy",
            Operation::DescribeRegions => "ec2:DescribeRegions",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    #[error("AWS refused sts:AssumeRole on the role ({aws_code})")]
    AssumeRoleAccessDenied { aws_code: String },
    #[error("the role does not exist ({aws_code} from {})", operation.action())]
    RoleNotFound {
        operation: Operation,
        aws_code: String,
    },
    #[error("STS is not enabled in region {region}")]
    RegionDisabled { region: String },
    #[error("the credentials for {} have expired ({aws_code})", operation.action())]
    ExpiredToken {
        operation: Operation,
        aws_code: String,
    },
    #[error("AWS throttled {} ({aws_code})", operation.action())]
    Throttled {
        operation: Operation,
        aws_code: String,
    },
    /// Step 4's own call refused: the role may not simulate its policies,
    /// so nothing else can be checked until it may.
    #[error(
        "the role may not call iam:SimulatePrincipalPolicy, which step 4 needs to read its own permissions ({aws_code})"
    )]
    SimulateDenied { aws_code: String },
    #[error("the role may not call {} ({aws_code})", operation.action())]
    AccessDenied {
        operation: Operation,
        aws_code: String,
    },
    #[error("AWS rejected the platform's own credentials ({aws_code})")]
    PlatformCredentialsInvalid { aws_code: String },
    #[error("the platform's AWS credentials are not configured")]
    PlatformCredentialsMissing,
    #[error("AWS could not be reached for {}: {detail}", operation.action())]
    Unreachable {
        operation: Operation,
        detail: String,
    },
    #[error("AWS answered {} with HTTP {status} and error code {aws_code}", operation.action())]
    Unexpected {
        operation: Operation,
        status: u16,
        aws_code: String,
    },
    #[error("{field} is invalid: {problem}")]
    Config {
        field: &'static str,
        problem: String,
    },
}

impl AwsError {
    /// Turns an AWS error answer into a classified error.
    pub fn from_aws(operation: Operation, region: &str, status: u16, aws_code: &str) -> Self {
        let aws_code_owned = aws_code.to_owned();
        match aws_code {
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedAccess" => {
                if operation == Operation::AssumeRole {
                    AwsError::AssumeRoleAccessDenied {
                        aws_code: aws_code_owned,
                    }
                } else if operation == Operation::SimulatePrincipalPolicy {
                    AwsError::SimulateDenied {
                        aws_code: aws_code_owned,
                    }
                } else {
                    AwsError::AccessDenied {
                        operation,
                        aws_code: aws_code_owned,
                    }
                }
            }
            "NoSuchEntity" | "NoSuchEntityException" => AwsError::RoleNotFound {
                operation,
                aws_code: aws_code_owned,
            },
            "RegionDisabledException" => AwsError::RegionDisabled {
                region: region.to_owned(),
            },
            "ExpiredToken"
            | "ExpiredTokenException"
            | "RequestExpired"
            | "TokenRefreshRequired" => AwsError::ExpiredToken {
                operation,
                aws_code: aws_code_owned,
            },
            "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown" => AwsError::Throttled {
                operation,
                aws_code: aws_code_owned,
            },
            "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "AuthFailure"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "InvalidAccessKeyId"
                if operation == Operation::AssumeRole =>
            {
                AwsError::PlatformCredentialsInvalid {
                    aws_code: aws_code_owned,
                }
            }
            _ if status == 429 => AwsError::Throttled {
                operation,
                aws_code: aws_code_owned,
            },
            _ => AwsError::Unexpected {
                operation,
                status,
                aws_code: aws_code_owned,
            },
        }
    }

    /// True for refusals that IAM's eventual consistency explains: a role
    /// created seconds ago reads as AccessDenied for ~10-30 s. Throttling is
    /// retried the same way.
    pub fn is_retryable_while_settling(&self) -> bool {
        matches!(
            self,
            AwsError::AssumeRoleAccessDenied { .. } | AwsError::Throttled { .. }
        )
    }

    /// The HTTP status the proxy answers with (proxy/API.md): 422 when the
    /// cloud refused, 502 when it could not be reached or made no sense, 503
    /// when the proxy itself is not configured.
    pub fn http_status(&self) -> u16 {
        match self {
            AwsError::AssumeRoleAccessDenied { .. }
            | AwsError::RoleNotFound { .. }
            | AwsError::RegionDisabled { .. }
            | AwsError::ExpiredToken { .. }
            | AwsError::SimulateDenied { .. }
            | AwsError::AccessDenied { .. } => 422,
            AwsError::Throttled { .. }
            | AwsError::Unreachable { .. }
            | AwsError::Unexpected { .. } => 502,
            AwsError::PlatformCredentialsInvalid { .. }
            | AwsError::PlatformCredentialsMissing
            | AwsError::Config { .. } => 503,
        }
    }

    /// The AWS error code behind this error, when AWS sent one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            AwsError::AssumeRoleAccessDenied { aws_code }
            | AwsError::RoleNotFound { aws_code, .. }
            | AwsError::ExpiredToken { aws_code, .. }
            | AwsError::Throttled { aws_code, .. }
            | AwsError::SimulateDenied { aws_code }
            | AwsError::AccessDenied { aws_code, .. }
            | AwsError::PlatformCredentialsInvalid { aws_code }
            | AwsError::Unexpected { aws_code, .. } => Some(aws_code),
            AwsError::RegionDisabled { .. }
            | AwsError::PlatformCredentialsMissing
            | AwsError::Unreachable { .. }
            | AwsError::Config { .. } => None,
        }
    }
}

impl CoreError for AwsError {
    fn code(&self) -> &'static str {
        match self {
            AwsError::AssumeRoleAccessDenied { .. } => "assume_role_access_denied",
            AwsError::RoleNotFound { .. } => "role_not_found",
            AwsError::RegionDisabled { .. } => "region_disabled",
            AwsError::ExpiredToken { .. } => "expired_token",
            AwsError::Throttled { .. } => "throttled",
            AwsError::SimulateDenied { .. } => "simulate_denied",
            AwsError::AccessDenied { .. } => "aws_access_denied",
            AwsError::PlatformCredentialsInvalid { .. } => "platform_credentials_invalid",
            AwsError::PlatformCredentialsMissing => "platform_credentials_missing",
            AwsError::Unreachable { .. } => "aws_unreachable",
            AwsError::Unexpected { .. } => "aws_unexpected",
            AwsError::Config { .. } => "aws_config_invalid",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AwsError::AssumeRoleAccessDenied { .. } | AwsError::RoleNotFound { .. } => {
                Some("role_arn")
            }
            AwsError::RegionDisabled { .. } => Some("region"),
            AwsError::PlatformCredentialsMissing => Some("AWS_ACCESS_KEY_ID"),
            AwsError::Config { field, .. } => Some(field),
            _ => None,
        }
    }

    fn hint(&self) -> String {
        match self {
            AwsError::AssumeRoleAccessDenied { .. } => "Usually one of three causes: (1) the trust policy was not applied to the role, or its \
                 Principal is not the AlphaSwarm account shown in step 2; (2) the sts:ExternalId in the trust \
                 policy differs from the external id shown in step 2; (3) the role does not exist yet, or was \
                 created seconds ago and IAM has not settled (wait a minute and retry)."
                .to_owned(),
            AwsError::RoleNotFound { .. } => {
                "Check the role ARN: copy it from the IAM console (Roles > the role > ARN) after the role was created.".to_owned()
            }
            AwsError::RegionDisabled { region } => format!(
                "Activate STS in {region} (IAM console > Account settings > Security Token Service) or pick an enabled region."
            ),
            AwsError::ExpiredToken { .. } => "The temporary credentials expired: run the step again to assume the role afresh.".to_owned(),
            AwsError::Throttled { .. } => "AWS is rate-limiting these calls: wait a moment and retry.".to_owned(),
            AwsError::SimulateDenied { .. } => format!(
                "Add this statement to the role's permissions, then check again: {}. It is part of the least-privilege policy {BASELINE_POLICY_FILE} from step 2; applying that file again (aws iam put-role-policy --policy-name {BASELINE_POLICY_NAME}) adds it and keeps the rest of the baseline.",
                simulate_statement_text()
            ),
            AwsError::AccessDenied { operation, .. } => format!(
                "Attach a policy that allows {} to the role (see the permissions suggested in step 2).",
                operation.action()
            ),
            AwsError::PlatformCredentialsInvalid { .. } => "The proxy's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) are wrong, \
                 expired or revoked: fix the proxy's environment."
                .to_owned(),
            AwsError::PlatformCredentialsMissing => {
                "Start the proxy with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the AlphaSwarm platform account.".to_owned()
            }
            AwsError::Unreachable { .. } => {
                "Check the proxy's network egress to AWS (and ALPHASWARM_ADMIN_AWS_ENDPOINT_URL if set), then retry.".to_owned()
            }
            AwsError::Unexpected { aws_code, .. } => {
                format!("AWS answered with error code {aws_code}; look it up in the AWS documentation of the call, or retry later.")
            }
            AwsError::Config { field, .. } => format!("Fix {field} in the proxy's environment and restart it."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_means_trust_on_assume_role_and_permission_elsewhere() {
        let on_assume = AwsError::from_aws(Operation::AssumeRole, "us-east-1", 403, "AccessDenied");
        assert_eq!(on_assume.code(), "assume_role_access_denied");
        assert_eq!(on_assume.field(), Some("role_arn"));
        assert!(on_assume.is_retryable_while_settling());
        let hint = on_assume.hint();
        for cause in ["trust policy", "ExternalId", "does not exist yet"] {
            assert!(hint.contains(cause), "hint lacks {cause}: {hint}");
        }
        let on_ec2 = AwsError::from_aws(
            Operation::DescribeRegions,
            "us-east-1",
            403,
            "UnauthorizedOperation",
        );
        assert_eq!(on_ec2.code(), "aws_access_denied");
        assert!(on_ec2.hint().contains("ec2:DescribeRegions"));
        assert!(!on_ec2.is_retryable_while_settling());
        // Denied the simulation itself: its own code, and the exact statement to add.
        let on_simulate = AwsError::from_aws(
            Operation::SimulatePrincipalPolicy,
            "us-east-1",
            403,
            "AccessDenied",
        );
        assert_eq!(on_simulate.code(), "simulate_denied");
        assert_eq!(on_simulate.http_status(), 422);
        assert!(on_simulate.hint().contains(&simulate_statement_text()));
        assert!(on_simulate.hint().contains(BASELINE_POLICY_FILE));
    }

    #[test]
    fn every_listed_code_is_classified() {
        let cases = [
            // STS says AccessDenied for a missing role; this code is not one of its answers.
            (
                Operation::AssumeRole,
                400,
                "InvalidParameterValue",
                "aws_unexpected",
            ),
            (
                Operation::SimulatePrincipalPolicy,
                403,
                "AccessDenied",
                "simulate_denied",
            ),
            (
                Operation::SimulatePrincipalPolicy,
                404,
                "NoSuchEntity",
                "role_not_found",
            ),
            (
                Operation::AssumeRole,
                403,
                "RegionDisabledException",
                "region_disabled",
            ),
            (
                Operation::DescribeRegions,
                400,
                "RequestExpired",
                "expired_token",
            ),
            (
                Operation::GetCallerIdentity,
                403,
                "ExpiredToken",
                "expired_token",
            ),
            (Operation::AssumeRole, 400, "Throttling", "throttled"),
            (
                Operation::DescribeRegions,
                503,
                "RequestLimitExceeded",
                "throttled",
            ),
            (
                Operation::AssumeRole,
                403,
                "InvalidClientTokenId",
                "platform_credentials_invalid",
            ),
            (
                Operation::DescribeRegions,
                403,
                "InvalidClientTokenId",
                "aws_unexpected",
            ),
            (
                Operation::GetCallerIdentity,
                500,
                "InternalFailure",
                "aws_unexpected",
            ),
            (Operation::GetCallerIdentity, 429, "", "throttled"),
        ];
        for (op, status, aws, want) in cases {
            assert_eq!(
                AwsError::from_aws(op, "eu-south-2", status, aws).code(),
                want,
                "{aws} on {op:?}"
            );
        }
        let region = AwsError::from_aws(
            Operation::AssumeRole,
            "eu-south-2",
            403,
            "RegionDisabledException",
        );
        assert_eq!(region.field(), Some("region"));
        assert!(region.hint().contains("eu-south-2"));
        let odd = AwsError::from_aws(
            Operation::GetCallerIdentity,
            "us-east-1",
            500,
            "InternalFailure",
        );
        assert_eq!(odd.aws_code(), Some("InternalFailure"));
        assert_eq!(odd.http_status(), 502);
        assert_eq!(odd.to_body().code, "aws_unexpected");
    }
}
