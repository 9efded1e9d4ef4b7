//! The onboarding wizard's steps and legal moves (seed 001's table).
//!
//! | step | mutates AlphaSwarm | mutates cloud | audit row | step-up |
//! |---|---|---|---|---|
//! | 1 Choose | no | no | no | no |
//! | 2 Bootstrap | no | no | no | no |
//! | 3 Validate identity | no | read-only | yes | yes |
//! | 4 Validate permissions | no | read-only | yes | yes |
//! | 4* Enumerate resources | no | read-only | yes | yes |
//! | 5 Connect | yes | no | yes (pending + result) | yes |
//!
//! Moves: forward one step at a time in this order, with 4* optional
//! between 4 and 5; back to any earlier step (including a restart at 1);
//! and staying on a step, which re-runs it (a retry after a failure).

use crate::error::CoreError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum WizardStep {
    Choose,
    Bootstrap,
    ValidateIdentity,
    ValidatePermissions,
    EnumerateResources,
    Connect,
}

/// How a step touches the customer's cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "kebab-case")]
pub enum CloudMutation {
    /// `"no"`: the step makes no cloud call.
    No,
    /// `"read-only"`: the step calls the cloud but changes nothing there.
    ReadOnly,
}

/// One row of the step table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct StepInfo {
    pub step: WizardStep,
    /// As shown to users: "1" … "5", and "4*" for the optional step.
    pub number: String,
    pub title: String,
    pub optional: bool,
    pub mutates_platform: bool,
    pub mutates_cloud: CloudMutation,
    /// The step writes an audit row before it acts (and a result row after).
    pub writes_audit_row: bool,
    /// The step needs a fresh step-up MFA.
    pub requires_step_up: bool,
}

impl WizardStep {
    pub const ALL: [WizardStep; 6] = [
        WizardStep::Choose,
        WizardStep::Bootstrap,
        WizardStep::ValidateIdentity,
        WizardStep::ValidatePermissions,
        WizardStep::EnumerateResources,
        WizardStep::Connect,
    ];

    pub fn number(self) -> &'static str {
        match self {
            WizardStep::Choose => "1",
            WizardStep::Bootstrap => "2",
            WizardStep::ValidateIdentity => "3",
            WizardStep::ValidatePermissions => "4",
            WizardStep::EnumerateResources => "4*",
            WizardStep::Connect => "5",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            WizardStep::Choose => "Choose cloud + auth method",
            WizardStep::Bootstrap => "Bootstrap artifacts",
            WizardStep::ValidateIdentity => "Validate identity",
            WizardStep::ValidatePermissions => "Validate permissions",
            WizardStep::EnumerateResources => "Enumerate resources",
            WizardStep::Connect => "Save (connect)",
        }
    }

    pub fn is_optional(self) -> bool {
        self == WizardStep::EnumerateResources
    }

    pub fn mutates_platform(self) -> bool {
        self == WizardStep::Connect
    }

    pub fn mutates_cloud(self) -> CloudMutation {
        match self {
            WizardStep::ValidateIdentity
            | WizardStep::ValidatePermissions
            | WizardStep::EnumerateResources => CloudMutation::ReadOnly,
            WizardStep::Choose | WizardStep::Bootstrap | WizardStep::Connect => CloudMutation::No,
        }
    }

    /// Steps 3 onwards talk to the cloud or persist, so they are audited and
    /// need step-up MFA (hard rule 52).
    pub fn writes_audit_row(self) -> bool {
        self >= WizardStep::ValidateIdentity
    }

    pub fn requires_step_up(self) -> bool {
        self >= WizardStep::ValidateIdentity
    }

    pub fn info(self) -> StepInfo {
        StepInfo {
            step: self,
            number: self.number().to_owned(),
            title: self.title().to_owned(),
            optional: self.is_optional(),
            mutates_platform: self.mutates_platform(),
            mutates_cloud: self.mutates_cloud(),
            writes_audit_row: self.writes_audit_row(),
            requires_step_up: self.requires_step_up(),
        }
    }

    /// The steps that may directly follow this one going forward.
    pub fn next(self) -> &'static [WizardStep] {
        match self {
            WizardStep::Choose => &[WizardStep::Bootstrap],
            WizardStep::Bootstrap => &[WizardStep::ValidateIdentity],
            WizardStep::ValidateIdentity => &[WizardStep::ValidatePermissions],
            WizardStep::ValidatePermissions => {
                &[WizardStep::EnumerateResources, WizardStep::Connect]
            }
            WizardStep::EnumerateResources => &[WizardStep::Connect],
            WizardStep::Connect => &[],
        }
    }
}

impl std::fmt::Display for WizardStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} ({})", self.number(), self.title())
    }
}

/// The whole table, in order.
pub fn wizard_steps() -> Vec<StepInfo> {
    WizardStep::ALL.into_iter().map(WizardStep::info).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WizardError {
    #[error("cannot go from {from} to {to}")]
    IllegalTransition { from: WizardStep, to: WizardStep },
}

impl CoreError for WizardError {
    fn code(&self) -> &'static str {
        match self {
            WizardError::IllegalTransition { .. } => "illegal_wizard_transition",
        }
    }
    fn field(&self) -> Option<&str> {
        Some("step")
    }
    fn hint(&self) -> String {
        match self {
            WizardError::IllegalTransition { from, .. } => match from.next() {
                [] => {
                    "The connection is saved; go back to an earlier step to change it.".to_owned()
                }
                next => {
                    let names: Vec<String> = next.iter().map(ToString::to_string).collect();
                    format!(
                        "Finish {from} first; from there you can go to {}.",
                        names.join(" or ")
                    )
                }
            },
        }
    }
}

/// Whether the wizard may move from `from` to `to`.
pub fn can_transition(from: WizardStep, to: WizardStep) -> Result<(), WizardError> {
    if to <= from || from.next().contains(&to) {
        Ok(())
    } else {
        Err(WizardError::IllegalTransition { from, to })
    }
}

/// Where one run of the wizard is; moves only along legal transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct WizardState {
    pub step: WizardStep,
}

impl Default for WizardState {
    fn default() -> Self {
        WizardState {
            step: WizardStep::Choose,
        }
    }
}

impl WizardState {
    pub fn go_to(&mut self, to: WizardStep) -> Result<(), WizardError> {
        can_transition(self.step, to)?;
        self.step = to;
        Ok(())
    }

    pub fn restart(&mut self) {
        self.step = WizardStep::Choose;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WizardStep::*;

    #[test]
    fn table_matches_seed_001() {
        // (number, mutates platform, mutates cloud, audit row, step-up)
        let expected = [
            ("1", false, CloudMutation::No, false, false),
            ("2", false, CloudMutation::No, false, false),
            ("3", false, CloudMutation::ReadOnly, true, true),
            ("4", false, CloudMutation::ReadOnly, true, true),
            ("4*", false, CloudMutation::ReadOnly, true, true),
            ("5", true, CloudMutation::No, true, true),
        ];
        let steps = wizard_steps();
        assert_eq!(steps.len(), expected.len());
        for (info, (number, platform, cloud, audit, step_up)) in steps.iter().zip(expected) {
            assert_eq!(info.number, number);
            assert_eq!(info.mutates_platform, platform, "{number}");
            assert_eq!(info.mutates_cloud, cloud, "{number}");
            assert_eq!(info.writes_audit_row, audit, "{number}");
            assert_eq!(info.requires_step_up, step_up, "{number}");
            assert_eq!(info.optional, number == "4*");
        }
    }

    #[test]
    fn serialises_like_the_other_core_types() {
        let json = serde_json::to_value(EnumerateResources.info()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "step": "enumerate_resources",
                "number": "4*",
                "title": "Enumerate resources",
                "optional": true,
                "mutatesPlatform": false,
                "mutatesCloud": "read-only",
                "writesAuditRow": true,
                "requiresStepUp": true,
            })
        );
        assert_eq!(serde_json::to_value(CloudMutation::No).unwrap(), "no");
    }

    #[test]
    fn forward_in_order_with_optional_enumeration() {
        for (from, to) in [
            (Choose, Bootstrap),
            (Bootstrap, ValidateIdentity),
            (ValidateIdentity, ValidatePermissions),
            (ValidatePermissions, EnumerateResources),
            (ValidatePermissions, Connect),
            (EnumerateResources, Connect),
        ] {
            assert_eq!(can_transition(from, to), Ok(()), "{from} -> {to}");
        }
        for (from, to) in [
            (Choose, ValidateIdentity),
            (Choose, Connect),
            (Bootstrap, ValidatePermissions),
            (ValidateIdentity, Connect),
            (ValidateIdentity, EnumerateResources),
        ] {
            let err = can_transition(from, to).unwrap_err();
            assert_eq!(err.code(), "illegal_wizard_transition");
            assert_eq!(err.field(), Some("step"));
            assert!(
                err.hint().contains(from.next()[0].number()),
                "{}",
                err.hint()
            );
        }
    }

    #[test]
    fn back_restart_and_retry_are_allowed() {
        for from in WizardStep::ALL {
            for to in WizardStep::ALL.into_iter().filter(|to| *to <= from) {
                assert_eq!(can_transition(from, to), Ok(()), "{from} -> {to}");
            }
        }
        let mut state = WizardState::default();
        for step in [Bootstrap, ValidateIdentity, ValidatePermissions, Connect] {
            state.go_to(step).unwrap();
        }
        assert!(state.go_to(EnumerateResources).is_ok(), "back from 5 to 4*");
        state.restart();
        assert_eq!(state.step, Choose);
        assert!(state.go_to(Connect).is_err());
        assert_eq!(state.step, Choose, "a refused move leaves the state alone");
    }
}
