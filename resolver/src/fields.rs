//! Per-(service, purpose) field maps (seed 002, "Field maps").
//!
//! What consumers of each well-known key expect. The env store uses a map to
//! assemble a credential from one variable per field (`POLARIS_OAUTH_CLIENT_ID`
//! …) and the resolver refuses a hit that lacks a required field, so a
//! half-written bootstrap file is reported instead of handed to a client
//! that would fail with a 403 far from the cause. Add an entry here when a
//! new service is wired to the resolver.

use alphaswarm_core::keys::CredentialKey;
use alphaswarm_core::secret::SecretValue;

use crate::error::{StoreError, StoreErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMap {
    pub service: &'static str,
    pub purpose: &'static str,
    /// Every field consumers read, in the seed's order.
    pub fields: &'static [&'static str],
    /// Each group needs at least one of its fields.
    pub required: &'static [&'static [&'static str]],
    /// Issued by the M2M token store rather than stored.
    pub m2m: bool,
}

const REST_FIELDS: &[&str] = &["credential", "token", "oauth2_server_uri", "scope"];
const REST_REQUIRED: &[&[&str]] = &[&["credential", "token"]];

pub const FIELD_MAPS: &[FieldMap] = &[
    FieldMap {
        service: "polaris",
        purpose: "oauth",
        fields: &["client_id", "client_secret", "principal"],
        required: &[&["client_id"], &["client_secret"]],
        m2m: false,
    },
    FieldMap {
        service: "polaris",
        purpose: "rest",
        fields: REST_FIELDS,
        required: REST_REQUIRED,
        m2m: false,
    },
    FieldMap {
        service: "iceberg",
        purpose: "rest",
        fields: REST_FIELDS,
        required: REST_REQUIRED,
        m2m: false,
    },
    FieldMap {
        service: "trino",
        purpose: "basic",
        fields: &["user", "source", "token", "access_token"],
        required: &[&["user"], &["source"]],
        m2m: false,
    },
    FieldMap {
        service: "minio",
        purpose: "static",
        fields: &["access_key", "secret_key", "endpoint_url", "region"],
        required: &[&["access_key"], &["secret_key"]],
        m2m: false,
    },
    FieldMap {
        service: "minio",
        purpose: "sts",
        fields: &["session_token"],
        required: &[&["session_token"]],
        m2m: true,
    },
    // The proxy's own AWS platform credentials (it signs AssumeRole with them).
    FieldMap {
        service: "alphaswarm_admin",
        purpose: "aws_platform",
        fields: &["access_key_id", "secret_access_key", "session_token"],
        required: &[&["access_key_id"], &["secret_access_key"]],
        m2m: false,
    },
    FieldMap {
        service: "neo4j",
        purpose: "basic",
        fields: &["user", "password", "uri"],
        required: &[&["user"], &["password"], &["uri"]],
        m2m: false,
    },
];

pub fn field_map(key: &CredentialKey) -> Option<&'static FieldMap> {
    FIELD_MAPS
        .iter()
        .find(|map| map.service == key.service() && map.purpose == key.purpose())
}

/// The keys whose credentials the M2M store issues by default.
pub fn m2m_keys() -> impl Iterator<Item = CredentialKey> {
    FIELD_MAPS
        .iter()
        .filter(|map| map.m2m)
        .filter_map(|map| CredentialKey::new(map.service, map.purpose).ok())
}

fn has(value: &SecretValue, field: &str) -> bool {
    value.get(field).is_some_and(|v| match v {
        serde_json::Value::Null => false,
        serde_json::Value::String(s) => !s.trim().is_empty(),
        _ => true,
    })
}

/// Refuses a value of a mapped key that lacks a required field. Names the
/// key and the missing fields, never a value.
pub fn check_complete(key: &CredentialKey, value: &SecretValue) -> Result<(), StoreError> {
    let Some(map) = field_map(key) else {
        return Ok(());
    };
    let missing: Vec<String> = map
        .required
        .iter()
        .filter(|group| !group.iter().any(|field| has(value, field)))
        .map(|group| group.join(" or "))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let present: Vec<&str> = value.field_names().collect();
    Err(StoreError::new(
        StoreErrorKind::Incomplete,
        format!(
            "credential {key} lacks {} (it has {})",
            missing.join(", "),
            if present.is_empty() {
                "no fields".to_owned()
            } else {
                present.join(", ")
            }
        ),
        format!(
            "{key} needs the fields {}; store it as a JSON object with them.",
            map.fields.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> CredentialKey {
        s.parse().unwrap()
    }

    #[test]
    fn every_map_names_a_valid_key_and_requires_known_fields() {
        for map in FIELD_MAPS {
            let k = CredentialKey::new(map.service, map.purpose).unwrap();
            assert_eq!(field_map(&k), Some(map));
            for group in map.required {
                assert!(group.iter().all(|f| map.fields.contains(f)), "{k}");
            }
        }
        assert_eq!(
            m2m_keys().map(|k| k.to_string()).collect::<Vec<_>>(),
            ["minio:sts"]
        );
    }

    #[test]
    fn required_groups_are_checked_and_named() {
        let k = key("polaris:oauth");
        let ok = SecretValue::parse(r#"{"client_id":"id","client_secret":"s"}"#);
        assert!(check_complete(&k, &ok).is_ok());
        let half = SecretValue::parse(r#"{"client_id":"id","client_secret":"  "}"#);
        let err = check_complete(&k, &half).unwrap_err();
        assert_eq!(err.kind, StoreErrorKind::Incomplete);
        assert!(err.detail.contains("lacks client_secret"), "{}", err.detail);
        // Either field of a group satisfies it: a plain string is `credential`.
        assert!(check_complete(&key("iceberg:rest"), &SecretValue::parse("id:secret")).is_ok());
        assert!(
            check_complete(
                &key("iceberg:rest"),
                &SecretValue::parse(r#"{"scope":"x"}"#)
            )
            .is_err()
        );
        // Unmapped keys take any shape.
        assert!(check_complete(&key("broker:api_key"), &SecretValue::parse("x")).is_ok());
    }
}
