//! Secret values as a store returns them (seed 000).
//!
//! A value is parsed as JSON first: an object exposes its fields. Anything
//! else (plain text, or JSON that is not an object such as `"abc"` or `42`)
//! is exposed verbatim under the canonical field `credential`, the way seed
//! 000's `sk_live_…` payload is read with `credential.get("credential")`.
//! The raw text is kept byte for byte (no trimming): a secret is never edited.
//!
//! Values never leave through `Debug`, `Display` or an error: only field
//! names and the key are ever shown.

use crate::error::CoreError;
use crate::keys::CredentialKey;
use serde_json::{Map, Value};

/// The field a non-object payload is exposed under.
pub const CANONICAL_FIELD: &str = "credential";

/// The parsed payload of one secret.
#[derive(Clone, PartialEq)]
pub struct SecretValue {
    key: Option<CredentialKey>,
    fields: Map<String, Value>,
}

/// Why a field could not be read. Names the key and the field, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("credential {} has no field {}", key_label(.key), .field.escape_debug())]
    MissingField {
        key: Option<CredentialKey>,
        field: String,
    },
    #[error("field {} of credential {} is empty", .field.escape_debug(), key_label(.key))]
    EmptyField {
        key: Option<CredentialKey>,
        field: String,
    },
    #[error("field {} of credential {} is not a string", .field.escape_debug(), key_label(.key))]
    NotAString {
        key: Option<CredentialKey>,
        field: String,
    },
}

fn key_label(key: &Option<CredentialKey>) -> String {
    key.as_ref()
        .map_or_else(|| "(unnamed)".to_owned(), CredentialKey::to_string)
}

impl CoreError for SecretError {
    fn code(&self) -> &'static str {
        match self {
            SecretError::MissingField { .. } => "secret_field_missing",
            SecretError::EmptyField { .. } => "secret_field_empty",
            SecretError::NotAString { .. } => "secret_field_not_string",
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            SecretError::MissingField { field, .. }
            | SecretError::EmptyField { field, .. }
            | SecretError::NotAString { field, .. } => Some(field),
        }
    }
    fn hint(&self) -> String {
        let (SecretError::MissingField { key, .. }
        | SecretError::EmptyField { key, .. }
        | SecretError::NotAString { key, .. }) = self;
        format!(
            "Store the secret {} as a JSON object with this field (a plain-text secret is only available as \"{CANONICAL_FIELD}\").",
            key_label(key)
        )
    }
}

impl SecretValue {
    pub fn parse(raw: &str) -> SecretValue {
        let fields = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(fields)) => fields,
            _ => {
                let mut fields = Map::new();
                fields.insert(CANONICAL_FIELD.to_owned(), Value::String(raw.to_owned()));
                fields
            }
        };
        SecretValue { key: None, fields }
    }

    /// Parses a value read for `key`, so errors can name it.
    pub fn parse_for(key: &CredentialKey, raw: &str) -> SecretValue {
        SecretValue {
            key: Some(key.clone()),
            ..SecretValue::parse(raw)
        }
    }

    pub fn key(&self) -> Option<&CredentialKey> {
        self.key.as_ref()
    }

    /// Field names, sorted. Safe to show.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// The field's value; `null` counts as missing.
    pub fn require(&self, field: &str) -> Result<&Value, SecretError> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Err(SecretError::MissingField {
                key: self.key.clone(),
                field: field.to_owned(),
            }),
            Some(value) => Ok(value),
        }
    }

    /// The field as a non-empty string.
    pub fn require_str(&self, field: &str) -> Result<&str, SecretError> {
        match self.require(field)? {
            Value::String(s) if s.is_empty() => Err(SecretError::EmptyField {
                key: self.key.clone(),
                field: field.to_owned(),
            }),
            Value::String(s) => Ok(s),
            _ => Err(SecretError::NotAString {
                key: self.key.clone(),
                field: field.to_owned(),
            }),
        }
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        if let Some(key) = &self.key {
            map.entry(&"key", &key.to_string());
        }
        for name in self.fields.keys() {
            map.entry(name, &"<redacted>");
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-7f3a9c-do-not-print";

    fn key() -> CredentialKey {
        CredentialKey::new("broker", "api_key").unwrap()
    }

    #[test]
    fn json_object_exposes_its_fields() {
        let v =
            SecretValue::parse(r#"{"password": "p4ss", "username": "alphaswarm", "port": 5432}"#);
        assert_eq!(v.require_str("password").unwrap(), "p4ss");
        assert_eq!(v.require_str("username").unwrap(), "alphaswarm");
        assert_eq!(v.get("port"), Some(&Value::from(5432)));
        assert_eq!(v.get(CANONICAL_FIELD), None);
        assert_eq!(
            v.field_names().collect::<Vec<_>>(),
            ["password", "port", "username"]
        );
    }

    #[test]
    fn everything_else_is_the_canonical_credential_verbatim() {
        for raw in [
            "sk_live_abcdef1234567890",
            "sk_live\n",
            "",
            "\"quoted\"",
            "42",
            "[1,2]",
            "null",
            "{not json",
        ] {
            let v = SecretValue::parse(raw);
            assert_eq!(
                v.field_names().collect::<Vec<_>>(),
                [CANONICAL_FIELD],
                "{raw:?}"
            );
            assert_eq!(v.get(CANONICAL_FIELD), Some(&Value::String(raw.into())));
        }
        assert_eq!(
            SecretValue::parse("sk_live_x")
                .require_str("credential")
                .unwrap(),
            "sk_live_x"
        );
    }

    #[test]
    fn require_errors_name_key_and_field_never_the_value() {
        let raw = format!(r#"{{"client_secret": "{CANARY}", "empty": "", "n": 1, "z": null}}"#);
        let v = SecretValue::parse_for(&key(), &raw);
        let cases = [
            ("client_id", "secret_field_missing"),
            ("z", "secret_field_missing"),
            ("empty", "secret_field_empty"),
            ("n", "secret_field_not_string"),
        ];
        for (field, code) in cases {
            let err = v.require_str(field).unwrap_err();
            assert_eq!(err.code(), code);
            assert_eq!(err.field(), Some(field));
            let shown = format!("{err} {err:?} {} {:?}", err.hint(), err.to_body());
            assert!(shown.contains("broker:api_key"), "{shown}");
            assert!(!shown.contains(CANARY), "{shown}");
        }
        assert_eq!(v.require_str("client_secret").unwrap(), CANARY);
    }

    #[test]
    fn debug_redacts_values() {
        for raw in [
            format!(r#"{{"client_secret": "{CANARY}", "nested": {{"x": "{CANARY}"}}}}"#),
            CANARY.to_owned(),
        ] {
            let v = SecretValue::parse_for(&key(), &raw);
            let shown = format!("{v:?} {v:#?}");
            assert!(!shown.contains(CANARY), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        let shown = format!(
            "{:?}",
            SecretValue::parse(&format!(r#"{{"a": "{CANARY}"}}"#))
        );
        assert_eq!(shown, r#"{"a": "<redacted>"}"#);
    }
}
