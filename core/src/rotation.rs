//! Rotation reminders for stored tokens (seed 001's Rotation table).
//!
//! A token with an `expires_on` date is due then; one without is due 90
//! days after it was connected (the table recommends rotating every 60-90
//! days). The reminder is `ok` until 14 days before the due date, then
//! `due_soon` (amber), and `overdue` (red) from the due instant on. Pure:
//! the proxy and the UI pass "now", so both show the same state.

use crate::timestamp::{Timestamp, days_between};
use serde::{Deserialize, Serialize};

/// Longest recommended life of a token without an expiry date.
pub const MAX_AGE_DAYS: i64 = 90;
/// The reminder turns amber this many days before the due date.
pub const WARN_DAYS: i64 = 14;

/// Integration kinds whose credential is a stored token that must be rotated.
const ROTATED_KINDS: [&str; 1] = ["cloud_cloudflare"];

pub fn applies_to(integration_kind: &str) -> bool {
    ROTATED_KINDS.contains(&integration_kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum RotationState {
    /// Green: more than [`WARN_DAYS`] left.
    Ok,
    /// Amber: within [`WARN_DAYS`] of the due date.
    DueSoon,
    /// Red: the due date has passed.
    Overdue,
}

/// What the due date is based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum RotationBasis {
    /// The token's own `expires_on`.
    ExpiresOn,
    /// No expiry on the token: [`MAX_AGE_DAYS`] after it was connected.
    RotationPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub struct RotationReminder {
    pub state: RotationState,
    pub basis: RotationBasis,
    /// RFC 3339.
    #[cfg_attr(feature = "tsify", tsify(type = "string"))]
    pub due_at: Timestamp,
    /// Whole days until `due_at` (negative once overdue).
    pub days_left: i64,
    /// One sentence for the integration list.
    pub message: String,
}

/// The reminder for a token connected at `connected_at`, expiring at
/// `expires_on` if it has an expiry, seen at `now`.
pub fn reminder(
    expires_on: Option<Timestamp>,
    connected_at: Timestamp,
    now: Timestamp,
) -> RotationReminder {
    let (basis, due_at) = match expires_on {
        Some(at) => (RotationBasis::ExpiresOn, at),
        None => (
            RotationBasis::RotationPolicy,
            connected_at.plus_days(MAX_AGE_DAYS),
        ),
    };
    let days_left = days_between(now, due_at);
    let state = if now >= due_at {
        RotationState::Overdue
    } else if now >= due_at.plus_days(-WARN_DAYS) {
        RotationState::DueSoon
    } else {
        RotationState::Ok
    };
    let date = due_at.date();
    let replace = "create a new token from the same template and re-run the wizard; it replaces the stored one";
    let message = match (basis, state) {
        (RotationBasis::ExpiresOn, RotationState::Ok) => {
            format!("The token expires on {date} ({days_left} days left).")
        }
        (RotationBasis::ExpiresOn, RotationState::DueSoon) => {
            format!(
                "The token expires on {date} ({}): {replace}.",
                in_days(days_left)
            )
        }
        (RotationBasis::ExpiresOn, RotationState::Overdue) => {
            format!("The token expired on {date}: {replace}.")
        }
        (RotationBasis::RotationPolicy, RotationState::Ok) => format!(
            "The token has no expiry date; rotate it by {date} ({MAX_AGE_DAYS} days after connecting)."
        ),
        (RotationBasis::RotationPolicy, RotationState::DueSoon) => format!(
            "The token has no expiry date and is due for rotation on {date} ({}): {replace}.",
            in_days(days_left)
        ),
        (RotationBasis::RotationPolicy, RotationState::Overdue) => {
            format!("The token has no expiry date and was due for rotation on {date}: {replace}.")
        }
    };
    RotationReminder {
        state,
        basis,
        due_at,
        days_left,
        message,
    }
}

fn in_days(days: i64) -> String {
    match days {
        0 => "less than a day left".to_owned(),
        1 => "1 day left".to_owned(),
        n => format!("{n} days left"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s, "t").unwrap()
    }

    #[test]
    fn amber_fourteen_days_before_expiry_and_red_from_the_instant_after() {
        let connected = at("2026-01-01T00:00:00Z");
        let expires = at("2026-03-01T00:00:00Z");
        let cases = [
            ("2026-02-14T23:59:59Z", RotationState::Ok, 14),
            ("2026-02-15T00:00:00Z", RotationState::DueSoon, 14),
            ("2026-02-28T23:59:59Z", RotationState::DueSoon, 0),
            ("2026-03-01T00:00:00Z", RotationState::Overdue, 0),
            ("2026-03-04T00:00:00Z", RotationState::Overdue, -3),
        ];
        for (now, state, days) in cases {
            let r = reminder(Some(expires), connected, at(now));
            assert_eq!((r.state, r.days_left), (state, days), "{now}");
            assert_eq!(r.basis, RotationBasis::ExpiresOn);
            assert!(r.message.contains("2026-03-01"), "{}", r.message);
        }
    }

    #[test]
    fn without_expiry_the_policy_date_is_ninety_days_after_connecting() {
        let connected = at("2026-01-01T00:00:00Z");
        let r = reminder(None, connected, at("2026-01-02T00:00:00Z"));
        assert_eq!(r.basis, RotationBasis::RotationPolicy);
        assert_eq!(r.due_at, at("2026-04-01T00:00:00Z"));
        assert_eq!(r.state, RotationState::Ok);
        assert_eq!(
            reminder(None, connected, at("2026-03-20T00:00:00Z")).state,
            RotationState::DueSoon
        );
        assert_eq!(
            reminder(None, connected, at("2026-04-01T00:00:00Z")).state,
            RotationState::Overdue
        );
    }

    #[test]
    fn serialises_for_the_integration_list() {
        let r = reminder(
            Some(at("2026-03-01T00:00:00Z")),
            at("2026-01-01T00:00:00Z"),
            at("2026-02-20T00:00:00Z"),
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["state"], "due_soon");
        assert_eq!(json["basis"], "expires_on");
        assert_eq!(json["due_at"], "2026-03-01T00:00:00Z");
        assert_eq!(json["days_left"], 9);
        assert!(applies_to("cloud_cloudflare") && !applies_to("cloud_aws"));
    }
}
