//! The wizard's local view-model: the step sequence and the role-ARN parse.
//!
//! Stand-ins until `alphaswarm_core::wizard` (step model) and
//! `alphaswarm_core::aws::RoleArn` land. The rest of the UI uses only this
//! module for them, so switching to the core's versions touches this file.

use alphaswarm_core::ids::{AwsAccountId, IdError, IdKind};
use alphaswarm_core::rule::Reason;

/// The five-step pattern of seed 001 (4* is the resource enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Choose,
    Bootstrap,
    Identity,
    Permissions,
    Enumerate,
    Connect,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Choose,
        Step::Bootstrap,
        Step::Identity,
        Step::Permissions,
        Step::Enumerate,
        Step::Connect,
    ];

    /// The number the operator sees ("4*" for the enumeration).
    pub fn number(self) -> &'static str {
        match self {
            Step::Choose => "1",
            Step::Bootstrap => "2",
            Step::Identity => "3",
            Step::Permissions => "4",
            Step::Enumerate => "4*",
            Step::Connect => "5",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Choose => "Choose cloud",
            Step::Bootstrap => "Bootstrap",
            Step::Identity => "Validate identity",
            Step::Permissions => "Validate permissions",
            Step::Enumerate => "Regions",
            Step::Connect => "Save",
        }
    }

    /// Stable id used in the DOM (`data-step`) and by the end-to-end tests.
    pub fn slug(self) -> &'static str {
        match self {
            Step::Choose => "choose",
            Step::Bootstrap => "bootstrap",
            Step::Identity => "identity",
            Step::Permissions => "permissions",
            Step::Enumerate => "enumerate",
            Step::Connect => "connect",
        }
    }

    /// Steps that touch the cloud or the store need a fresh MFA step-up.
    pub fn needs_step_up(self) -> bool {
        !matches!(self, Step::Choose | Step::Bootstrap)
    }

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    pub fn previous(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }
}

/// An IAM role ARN: `arn:<partition>:iam::<account>:role/<path><name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    pub partition: String,
    pub account_id: AwsAccountId,
    pub role_name: String,
}

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

impl RoleArn {
    /// Parses a pasted ARN (surrounding whitespace ignored). Errors name the
    /// `role_arn` field so they show next to the ARN input.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let format = || {
            IdError::new(
                IdKind::AwsRoleArn,
                Reason::Format {
                    expected: "arn:aws:iam::<12-digit account id>:role/<role name>",
                },
            )
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(IdError::new(IdKind::AwsRoleArn, Reason::Empty));
        }
        let rest = s.strip_prefix("arn:").ok_or_else(format)?;
        let (partition, rest) = rest.split_once(':').ok_or_else(format)?;
        if !PARTITIONS.contains(&partition) {
            return Err(format());
        }
        let rest = rest.strip_prefix("iam::").ok_or_else(format)?;
        let (account, resource) = rest.split_once(':').ok_or_else(format)?;
        let account_id = AwsAccountId::parse(account).map_err(|e| e.at("role_arn"))?;
        let path_and_name = resource.strip_prefix("role/").ok_or_else(format)?;
        let role_name = path_and_name.rsplit('/').next().unwrap_or_default();
        let name_ok = (1..=64).contains(&role_name.len())
            && role_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !name_ok {
            return Err(format());
        }
        Ok(RoleArn {
            partition: partition.to_owned(),
            account_id,
            role_name: role_name.to_owned(),
        })
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use alphaswarm_core::CoreError;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn account_id_comes_from_the_arn() {
        let arn =
            RoleArn::parse(" arn:aws:iam::012345678901:role/team/alphaswarm-broker-acme ").unwrap();
        assert_eq!(arn.account_id.as_str(), "012345678901");
        assert_eq!(arn.role_name, "alphaswarm-broker-acme");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn bad_arns_name_the_role_arn_field() {
        for bad in [
            "",
            "arn:aws:iam::12345:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:role/",
        ] {
            let err = RoleArn::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some("role_arn"), "{bad}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn steps_in_order_and_gated() {
        assert_eq!(Step::Choose.next(), Some(Step::Bootstrap));
        assert_eq!(Step::Enumerate.next(), Some(Step::Connect));
        assert_eq!(Step::Connect.next(), None);
        assert_eq!(Step::Choose.previous(), None);
        assert!(!Step::Bootstrap.needs_step_up());
        assert!(Step::Enumerate.needs_step_up());
    }
}
