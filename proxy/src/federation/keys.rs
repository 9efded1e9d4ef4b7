//! The issuer's signing keys and their lifecycle, as plain data with the
//! time passed in (so every rule below is tested without waiting).
//!
//! A key is *published* (in the JWKS) from its creation until
//! `published_until`, and *signs* from `signs_from` until `signs_until`.
//! Rotation publishes the next key at once and lets it sign only after an
//! overlap longer than any relying party's JWKS cache; the key it replaces
//! stops signing then and leaves the JWKS once every assertion it signed
//! has expired ([`MAX_ASSERTION_LIFETIME`] later). A key that left the JWKS
//! is deleted, private part included.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// RSA modulus size of every generated key (Entra and GCP accept RS256 with
/// 2048-bit keys; GCP's SAML guidance lists 2048 as the minimum).
pub const KEY_BITS: usize = 2048;
/// Lifetime of every minted assertion.
pub const ASSERTION_LIFETIME_SECONDS: i64 = 300;
/// The longest lifetime an assertion can have; retired keys stay published
/// this long after their last signature.
pub const MAX_ASSERTION_LIFETIME_SECONDS: i64 = 600;
/// Default time between publishing a new key and signing with it.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("an RSA key could not be generated: {0}")]
    Generate(String),
    #[error("a stored signing key is damaged")]
    Damaged,
}

/// One signing key. The private part (PKCS#1 DER) never leaves this type:
/// `Debug` hides it, and only [`SigningKey::encoding_key`] uses it.
#[derive(Clone, Serialize, Deserialize)]
pub struct SigningKey {
    /// RFC 7638 thumbprint (SHA-256) of the public key.
    pub kid: String,
    /// Public modulus and exponent, base64url (the JWK's `n` and `e`).
    pub n: String,
    pub e: String,
    private_pkcs1_der: String,
    pub created_at: i64,
    pub signs_from: i64,
    #[serde(default)]
    pub signs_until: Option<i64>,
    #[serde(default)]
    pub published_until: Option<i64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("signs_from", &self.signs_from)
            .field("signs_until", &self.signs_until)
            .field("published_until", &self.published_until)
            .finish_non_exhaustive()
    }
}

/// The public half as a JWK: exactly the fields Entra and GCP read (GCP's
/// uploaded JWKS accepts only these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

/// RFC 7638: SHA-256 over `{"e":…,"kty":"RSA","n":…}`, base64url.
pub fn rsa_thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl SigningKey {
    /// A fresh key (CPU-heavy: run it off the async runtime).
    pub fn generate(created_at: i64, signs_from: i64) -> Result<SigningKey, KeyError> {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, KEY_BITS)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        let der = private
            .to_pkcs1_der()
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Ok(SigningKey {
            kid: rsa_thumbprint(&n, &e),
            n,
            e,
            private_pkcs1_der: STANDARD.encode(der.as_bytes()),
            created_at,
            signs_from,
            signs_until: None,
            published_until: None,
        })
    }

    /// The key jsonwebtoken signs with.
    pub fn encoding_key(&self) -> Result<jsonwebtoken::EncodingKey, KeyError> {
        let der = STANDARD
            .decode(&self.private_pkcs1_der)
            .map_err(|_| KeyError::Damaged)?;
        Ok(jsonwebtoken::EncodingKey::from_rsa_der(&der))
    }

    pub fn public_jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: "RSA".to_owned(),
            use_: "sig".to_owned(),
            alg: "RS256".to_owned(),
            kid: self.kid.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
        }
    }

    pub fn is_published(&self, now: i64) -> bool {
        self.created_at <= now && self.published_until.is_none_or(|until| now < until)
    }

    pub fn signs_at(&self, now: i64) -> bool {
        self.signs_from <= now && self.signs_until.is_none_or(|until| now < until)
    }
}

/// Every key the issuer holds, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyRing {
    pub keys: Vec<SigningKey>,
}

/// What a rotation did, for the operator (no key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotation {
    pub new_kid: String,
    pub signs_from: i64,
    /// The keys that stop signing when the new one starts, and when they
    /// leave the JWKS.
    pub retiring: Vec<RetiringKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetiringKey {
    pub kid: String,
    pub signs_until: i64,
    pub published_until: i64,
}

impl KeyRing {
    /// The key that signs at `now`: of those allowed to, the newest.
    pub fn signer(&self, now: i64) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.signs_at(now))
            .max_by_key(|k| (k.signs_from, k.created_at))
    }

    pub fn jwks(&self, now: i64) -> Jwks {
        Jwks {
            keys: self
                .keys
                .iter()
                .filter(|k| k.is_published(now))
                .map(SigningKey::public_jwk)
                .collect(),
        }
    }

    /// Adds `next` (created at `now`, signing from `now + overlap`) and
    /// retires every key that has no end yet: it signs until the next key
    /// starts and stays published for the longest assertion lifetime after.
    pub fn rotate(&mut self, now: i64, overlap_seconds: i64, mut next: SigningKey) -> Rotation {
        let starts = now + overlap_seconds.max(0);
        next.created_at = now;
        next.signs_from = starts;
        let mut retiring = Vec::new();
        for key in &mut self.keys {
            if key.signs_until.is_none_or(|until| until > starts) {
                key.signs_until = Some(starts);
                let published_until = starts + MAX_ASSERTION_LIFETIME_SECONDS;
                key.published_until = Some(published_until);
                retiring.push(RetiringKey {
                    kid: key.kid.clone(),
                    signs_until: starts,
                    published_until,
                });
            }
        }
        let rotation = Rotation {
            new_kid: next.kid.clone(),
            signs_from: starts,
            retiring,
        };
        self.keys.push(next);
        rotation
    }

    /// Deletes keys that left the JWKS for good. True when any was removed.
    pub fn prune(&mut self, now: i64) -> bool {
        let before = self.keys.len();
        self.keys
            .retain(|k| k.published_until.is_none_or(|until| now < until));
        self.keys.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One key generated per test binary (RSA generation takes a while).
    fn template() -> SigningKey {
        static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate(0, 0).unwrap())
            .clone()
    }

    fn key(kid: &str) -> SigningKey {
        SigningKey {
            kid: kid.to_owned(),
            ..template()
        }
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 section 3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rsa_thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_generated_key_is_2048_bit_rs256_and_hidden_in_debug() {
        let key = template();
        assert_eq!(key.e, "AQAB");
        assert_eq!(URL_SAFE_NO_PAD.decode(&key.n).unwrap().len() * 8, KEY_BITS);
        assert_eq!(key.kid, rsa_thumbprint(&key.n, &key.e));
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.private_pkcs1_der[..40]) && !debug.contains(&key.n));
        let jwk = serde_json::to_value(key.public_jwk()).unwrap();
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk.as_object().unwrap().len(), 6);
    }

    #[test]
    fn rotation_publishes_first_then_signs_then_retires() {
        let mut ring = KeyRing {
            keys: vec![key("old")],
        };
        let t0 = 1_000_000;
        let overlap = 24 * 3600;
        let rotation = ring.rotate(t0, overlap, key("new"));
        assert_eq!(rotation.signs_from, t0 + overlap);
        assert_eq!(rotation.retiring.len(), 1);
        let kids = |ring: &KeyRing, now| -> Vec<String> {
            ring.jwks(now).keys.into_iter().map(|k| k.kid).collect()
        };
        // Published at once, but the old key still signs during the overlap.
        assert_eq!(kids(&ring, t0), ["old", "new"]);
        assert_eq!(ring.signer(t0 + overlap - 1).unwrap().kid, "old");
        // Then the new key signs; the old one stays published while its
        // last assertions can still be presented.
        assert_eq!(ring.signer(t0 + overlap).unwrap().kid, "new");
        let last_old_expiry = t0 + overlap + MAX_ASSERTION_LIFETIME_SECONDS;
        assert_eq!(kids(&ring, last_old_expiry - 1), ["old", "new"]);
        assert_eq!(kids(&ring, last_old_expiry), ["new"]);
        assert!(!ring.prune(last_old_expiry - 1));
        assert!(ring.prune(last_old_expiry));
        assert_eq!(ring.keys.len(), 1);
    }

    #[test]
    fn an_emergency_rotation_switches_at_once_and_a_second_rotation_supersedes_a_pending_key() {
        let mut ring = KeyRing {
            keys: vec![key("a")],
        };
        ring.rotate(100, 3600, key("b"));
        // Rotating again during the overlap: b never signs, c does at once.
        let rotation = ring.rotate(200, 0, key("c"));
        assert_eq!(rotation.retiring.len(), 2);
        assert_eq!(ring.signer(200).unwrap().kid, "c");
        assert!(
            ring.keys
                .iter()
                .all(|k| k.kid == "c" || k.signs_until == Some(200))
        );
        assert_eq!(
            ring.jwks(200 + MAX_ASSERTION_LIFETIME_SECONDS).keys.len(),
            1
        );
    }
}
