//! The JWKS a private issuer uploads to its provider (`--jwk-json-path`,
//! `oidc.jwksJson`), checked against what GCP accepts: at most 8 keys, each
//! RSA or EC, with a `kid` and `alg` RS256 or ES256, and only the fields
//! Google lists (kty, alg, use, kid, n, e, x, y, crv).

use crate::ids::{IdError, IdKind};
use crate::rule::Reason;
use serde_json::{Map, Value};

/// GCP's limit on uploaded keys.
pub const MAX_UPLOADED_KEYS: usize = 8;
/// Generous for 8 RSA-4096 keys; anything larger is not a JWKS we export.
pub const MAX_JWKS_BYTES: usize = 32 * 1024;

const ALLOWED_FIELDS: [&str; 9] = ["kty", "alg", "use", "kid", "n", "e", "x", "y", "crv"];

/// A JWKS GCP accepts, kept as compact JSON (its only rendering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedJwks {
    json: String,
    kids: Vec<String>,
}

fn refuse(expected: &'static str) -> IdError {
    IdError::new(IdKind::GcpJwks, Reason::Format { expected })
}

fn base64url(value: Option<&Value>) -> bool {
    value.and_then(Value::as_str).is_some_and(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn check_key(key: &Map<String, Value>) -> Result<String, IdError> {
    if key.keys().any(|k| !ALLOWED_FIELDS.contains(&k.as_str())) {
        return Err(refuse(
            "public keys with only kty, alg, use, kid, n, e, x, y and crv (no private parts, no certificates)",
        ));
    }
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let kid = text("kid")
        .filter(|k| !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| refuse("a kid (1-128 printable characters) on every key"))?;
    if text("use").is_some_and(|u| u != "sig") {
        return Err(refuse("keys for signatures (use: sig)"));
    }
    match (text("kty"), text("alg")) {
        (Some("RSA"), Some("RS256")) if base64url(key.get("n")) && base64url(key.get("e")) => {}
        (Some("EC"), Some("ES256"))
            if text("crv") == Some("P-256")
                && base64url(key.get("x"))
                && base64url(key.get("y")) => {}
        _ => {
            return Err(refuse(
                "RSA keys with alg RS256, n and e, or EC P-256 keys with alg ES256, x and y",
            ));
        }
    }
    Ok(kid.to_owned())
}

impl UploadedJwks {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.len() > MAX_JWKS_BYTES {
            return Err(IdError::new(
                IdKind::GcpJwks,
                Reason::TooLong {
                    max: MAX_JWKS_BYTES,
                    len: text.len(),
                },
            ));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|_| refuse("a JSON object {\"keys\": [...]}"))?;
        let keys = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("keys"))
            .and_then(Value::as_array)
            .ok_or_else(|| refuse("a JSON object with exactly one field, keys"))?;
        if keys.is_empty() || keys.len() > MAX_UPLOADED_KEYS {
            return Err(refuse(
                "between 1 and 8 keys (GCP's limit for uploaded keys)",
            ));
        }
        let mut kids = Vec::with_capacity(keys.len());
        for key in keys {
            let kid = check_key(
                key.as_object()
                    .ok_or_else(|| refuse("keys that are JSON objects"))?,
            )?;
            if kids.contains(&kid) {
                return Err(refuse("a different kid on every key"));
            }
            kids.push(kid);
        }
        Ok(UploadedJwks {
            // A parsed Value always serialises.
            json: serde_json::to_string(&value).unwrap_or_default(),
            kids,
        })
    }

    /// Compact JSON, as the file and `oidc.jwksJson` carry it.
    pub fn as_json(&self) -> &str {
        &self.json
    }

    pub fn kids(&self) -> &[String] {
        &self.kids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    const RSA: &str = r#"{"kty":"RSA","use":"sig","kid":"k1","alg":"RS256","n":"sXch","e":"AQAB"}"#;
    const EC: &str =
        r#"{"kty":"EC","use":"sig","kid":"k2","alg":"ES256","crv":"P-256","x":"f83O","y":"x_FE"}"#;

    #[test]
    fn accepts_what_gcp_accepts() {
        let jwks = UploadedJwks::parse(&format!(r#"{{"keys":[{RSA},{EC}]}}"#)).unwrap();
        assert_eq!(jwks.kids(), ["k1", "k2"]);
        assert!(!jwks.as_json().contains(' '));
    }

    #[test]
    fn refuses_what_gcp_refuses() {
        let private = RSA.replace(r#""e":"AQAB""#, r#""e":"AQAB","d":"secret""#);
        let nine = [RSA; 9].join(",");
        let hs = RSA.replace("RS256", "HS256");
        let no_kid = RSA.replace(r#""kid":"k1","#, "");
        for bad in [
            "".to_owned(),
            "[]".to_owned(),
            r#"{"keys":[]}"#.to_owned(),
            format!(r#"{{"keys":[{private}]}}"#),
            format!(r#"{{"keys":[{nine}]}}"#),
            format!(r#"{{"keys":[{hs}]}}"#),
            format!(r#"{{"keys":[{no_kid}]}}"#),
            format!(r#"{{"keys":[{RSA},{RSA}]}}"#),
            format!(r#"{{"keys":[{RSA}],"extra":1}}"#),
        ] {
            let e = UploadedJwks::parse(&bad).unwrap_err();
            assert_eq!(
                (e.code(), e.field()),
                ("invalid_jwks", Some("jwks")),
                "{bad}"
            );
            assert!(!e.to_string().contains("secret"));
        }
    }
}
