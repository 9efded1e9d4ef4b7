//! Points in time as the clouds write them (RFC 3339), held as Unix
//! seconds. The core never reads a clock: "now" is always a parameter.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const SECONDS_PER_DAY: i64 = 86_400;

/// A UTC instant with one-second precision; serialised as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("{field} is not an RFC 3339 timestamp")]
    Invalid { field: &'static str },
}

impl CoreError for TimestampError {
    fn code(&self) -> &'static str {
        "invalid_timestamp"
    }
    fn field(&self) -> Option<&str> {
        let TimestampError::Invalid { field } = self;
        Some(field)
    }
    fn hint(&self) -> String {
        "Use an RFC 3339 timestamp such as 2026-01-31T12:00:00Z.".to_owned()
    }
}

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 (any offset); `field` names the input in the error.
    pub fn parse(value: &str, field: &'static str) -> Result<Timestamp, TimestampError> {
        OffsetDateTime::parse(value.trim(), &Rfc3339)
            .map(|t| Timestamp(t.unix_timestamp()))
            .map_err(|_| TimestampError::Invalid { field })
    }

    pub fn plus_days(self, days: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(days.saturating_mul(SECONDS_PER_DAY)))
    }

    /// `YYYY-MM-DD` (UTC), for messages.
    pub fn date(self) -> String {
        self.to_string().chars().take(10).collect()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Out-of-range instants (beyond year 9999) print as the raw seconds.
        match OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s, "timestamp").map_err(serde::de::Error::custom)
    }
}

/// Whole days from `from` to `to`, rounded towards negative infinity
/// (so one second past a deadline is day -1, not day 0).
pub fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.0 - from.0).div_euclid(SECONDS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_prints_utc() {
        let t = Timestamp::parse("2026-03-01T01:00:00+01:00", "expires_on").unwrap();
        assert_eq!(t.to_string(), "2026-03-01T00:00:00Z");
        assert_eq!(t.date(), "2026-03-01");
        assert_eq!(
            Timestamp::parse("yesterday", "expires_on")
                .unwrap_err()
                .code(),
            "invalid_timestamp"
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-03-01T00:00:00Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn days_round_down() {
        let t = Timestamp::from_unix(1_000_000);
        assert_eq!(days_between(t, t.plus_days(3)), 3);
        assert_eq!(days_between(t, Timestamp::from_unix(1_000_000 - 1)), -1);
        assert_eq!(days_between(t, Timestamp::from_unix(1_000_000 + 86_399)), 0);
    }
}
