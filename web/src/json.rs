//! Reading the proxy's step answers into each cloud's own types.
//!
//! Not serde's derive: every derived `Deserialize` costs about 2 KB of wasm
//! (a map and a sequence visitor per type), and each cloud brings half a
//! dozen answer types; the UI must stay under 250 KB gzip with every cloud
//! in it. An answer is parsed once into a `serde_json::Value` (code the UI
//! has anyway) and read field by field with the helpers below, which still
//! refuse an answer that lacks a required field.

use alphaswarm_core::OrgId;
use alphaswarm_core::bundle::{Bundle, File, Link, NamedValue, Notice};
use alphaswarm_core::shell::Commands;
use serde_json::Value;

/// A field an answer lacks (or has with the wrong JSON type): its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub &'static str);

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer has no valid `{}`", self.0)
    }
}

/// A type read from a JSON answer.
pub trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, Missing>;
}

/// Parses `text` and reads it as `T`.
pub fn parse<T: FromJson>(text: &str) -> Result<T, String> {
    T::from_json(&value(text)?).map_err(Missing::into_reason)
}

/// `text` as JSON. Not generic and never inlined, so the parsing is
/// compiled once rather than into each [`parse`] (the wasm stays small).
/// The reason names the place, not serde's message: formatting its errors
/// would bring their texts and `std::io`'s into the wasm, and the operator
/// sees only that the answer was not understood.
#[inline(never)]
pub fn value(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "the answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })
}

impl Missing {
    #[inline(never)]
    pub fn into_reason(self) -> String {
        self.to_string()
    }
}

/// A required string.
pub fn text(v: &Value, key: &'static str) -> Result<String, Missing> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(Missing(key))
}

/// An optional string ("" when absent or null).
pub fn text_or_empty(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// An optional string, `None` when absent or null.
pub fn maybe_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Any value, kept as sent (null when absent).
pub fn any(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or_default()
}

pub fn flag(v: &Value, key: &'static str) -> Result<bool, Missing> {
    v.get(key).and_then(Value::as_bool).ok_or(Missing(key))
}

/// A count; `default` when absent.
pub fn count(v: &Value, key: &str, default: u32) -> u32 {
    v.get(key)
        .and_then(Value::as_u64)
        .map_or(default, |n| n.min(u64::from(u32::MAX)) as u32)
}

/// A required list of `T`.
pub fn list<T: FromJson>(v: &Value, key: &'static str) -> Result<Vec<T>, Missing> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or(Missing(key))?
        .iter()
        .map(T::from_json)
        .collect()
}

/// A required object, read as `T`.
pub fn object<T: FromJson>(v: &Value, key: &'static str) -> Result<T, Missing> {
    T::from_json(v.get(key).filter(|o| o.is_object()).ok_or(Missing(key))?)
}

/// An answer with nothing to read besides what the caller takes itself.
impl FromJson for () {
    fn from_json(_: &Value) -> Result<Self, Missing> {
        Ok(())
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        v.as_str().map(str::to_owned).ok_or(Missing("(list item)"))
    }
}

// The core's bundle (camelCase, as the core serialises it) and its parts.
// Read here rather than by the core's serde derive: those visitors, and
// serde's error path that formats floats, were about 7 KB gzip of wasm.

impl FromJson for Bundle {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        let commands = v.get("commands").ok_or(Missing("commands"))?;
        Ok(Bundle {
            cloud: text(v, "cloud")?.parse().map_err(|_| Missing("cloud"))?,
            org_id: OrgId::parse(&text(v, "orgId")?).map_err(|_| Missing("orgId"))?,
            values: list(v, "values")?,
            files: list(v, "files")?,
            commands: Commands {
                bash: list(commands, "bash")?,
                powershell: list(commands, "powershell")?,
            },
            links: list(v, "links")?,
            terraform: text(v, "terraform")?,
            warnings: list(v, "warnings")?,
            notes: list(v, "notes")?,
        })
    }
}

impl FromJson for NamedValue {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(NamedValue {
            name: text(v, "name")?,
            label: text(v, "label")?,
            value: text(v, "value")?,
        })
    }
}

impl FromJson for File {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(File {
            name: text(v, "name")?,
            media_type: text(v, "mediaType")?,
            contents: text(v, "contents")?,
        })
    }
}

impl FromJson for Link {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(Link {
            name: text(v, "name")?,
            label: text(v, "label")?,
            url: text(v, "url")?,
        })
    }
}

impl FromJson for Notice {
    fn from_json(v: &Value) -> Result<Self, Missing> {
        Ok(Notice {
            code: text(v, "code")?,
            message: text(v, "message")?,
        })
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Sample {
        name: String,
        safe: bool,
        tags: Vec<String>,
        note: String,
        tries: u32,
    }

    impl FromJson for Sample {
        fn from_json(v: &Value) -> Result<Self, Missing> {
            Ok(Sample {
                name: text(v, "name")?,
                safe: flag(v, "safe")?,
                tags: list(v, "tags")?,
                note: text_or_empty(v, "note"),
                tries: count(v, "tries", 1),
            })
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn required_fields_are_required_and_optional_ones_default() {
        let good = parse::<Sample>(r#"{"name":"a","safe":true,"tags":["x"],"extra":1}"#).unwrap();
        assert_eq!(
            good,
            Sample {
                name: "a".into(),
                safe: true,
                tags: vec!["x".into()],
                note: String::new(),
                tries: 1
            }
        );
        for (bad, field) in [
            (json!({"safe": true, "tags": []}), "name"),
            (json!({"name": 1, "safe": true, "tags": []}), "name"),
            (json!({"name": "a", "safe": "yes", "tags": []}), "safe"),
            (
                json!({"name": "a", "safe": true, "tags": [1]}),
                "(list item)",
            ),
        ] {
            assert_eq!(Sample::from_json(&bad), Err(Missing(field)), "{bad}");
        }
        assert_eq!(
            parse::<Sample>("{\n  \"name\": nope").map(drop),
            Err("the answer is not JSON (line 2, column 12)".to_owned())
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_bundle_reads_back_exactly_as_the_core_serialises_it() {
        let bundle = Bundle {
            cloud: alphaswarm_core::CloudKind::Azure,
            org_id: OrgId::parse("acme").unwrap(),
            values: vec![NamedValue::new("subject", "Subject", "org:acme")],
            files: vec![File {
                name: "federated_credential.json".into(),
                media_type: "application/json".into(),
                contents: "{}".into(),
            }],
            commands: Commands {
                bash: vec!["az group create \\\n  --name rg".into()],
                powershell: vec!["az group create `\n  --name 'rg'".into()],
            },
            links: vec![Link::new("admin_consent", "Consent", "https://login/x")],
            terraform: "resource {}".into(),
            warnings: vec![Notice::new("tenant_not_isolated", "Not isolated.")],
            notes: vec!["A note.".into()],
        };
        let wire = serde_json::to_value(&bundle).unwrap();
        assert_eq!(Bundle::from_json(&wire), Ok(bundle));
        let mut bad = wire.clone();
        bad["files"][0].as_object_mut().unwrap().remove("mediaType");
        assert_eq!(Bundle::from_json(&bad), Err(Missing("mediaType")));
        bad = wire;
        bad["cloud"] = json!("mars");
        assert_eq!(Bundle::from_json(&bad), Err(Missing("cloud")));
    }
}
