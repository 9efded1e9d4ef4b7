//! The per-org `sts:ExternalId` (seed 001):
//! `HMAC-SHA256(secret, "<integration_kind>:<org_id>")` as lowercase hex,
//! e.g. over `cloud_aws:org-acme`.
//!
//! Hex keeps the id inside STS's `[\w+=,.@:/-]` and survives a quick-create
//! query string unchanged (base64's `+` would become a space). The secret is a
//! parameter (the core has no environment) and is never part of an error.

use crate::error::CoreError;
use crate::ids::{CloudKind, ExternalId, IdError, OrgId};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Shortest accepted HMAC key: the hash's output size (RFC 2104 section 3).
pub const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIdError {
    #[error("the external id secret has {len} bytes; at least {MIN_SECRET_LEN} are required")]
    SecretTooShort { len: usize },
    /// Unreachable for hex output; kept so a rule change shows as an error, not a panic.
    #[error(transparent)]
    Id(#[from] IdError),
}

impl CoreError for ExternalIdError {
    fn code(&self) -> &'static str {
        match self {
            ExternalIdError::SecretTooShort { .. } => "external_id_secret_too_short",
            ExternalIdError::Id(e) => e.code(),
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            ExternalIdError::SecretTooShort { .. } => Some("external_id_secret"),
            ExternalIdError::Id(e) => e.field(),
        }
    }
    fn hint(&self) -> String {
        match self {
            ExternalIdError::SecretTooShort { .. } => format!(
                "Set ALPHASWARM_ADMIN_CLOUD_AWS_EXTERNAL_ID_SECRET to at least {MIN_SECRET_LEN} random bytes, e.g. the output of `openssl rand -hex 32`."
            ),
            ExternalIdError::Id(e) => e.hint(),
        }
    }
}

/// HMAC-SHA256 of `message` under `key` (any key length, as RFC 2104 allows).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of every length (long ones are hashed), so this never fails.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The message that is signed: `<integration_kind>:<org_id>`.
pub fn external_id_message(cloud: CloudKind, org: &OrgId) -> String {
    format!("{}:{}", cloud.integration_kind(), org)
}

/// Derives the stable external id of `org` for `cloud` from `secret`.
pub fn derive_external_id(
    secret: &[u8],
    cloud: CloudKind,
    org: &OrgId,
) -> Result<ExternalId, ExternalIdError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(ExternalIdError::SecretTooShort { len: secret.len() });
    }
    let tag = hmac_sha256(secret, external_id_message(cloud, org).as_bytes());
    Ok(ExternalId::parse(&hex::encode(tag))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 4231 section 4, HMAC-SHA-256 outputs of test cases 1-4, 6 and 7
    /// (case 5 tests truncation, which we do not use).
    #[test]
    fn rfc_4231_vectors() {
        let aa131 = vec![0xaa; 131];
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                aa131.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                aa131,
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex::encode(hmac_sha256(&key, &data)), expected);
        }
    }

    /// Expected values computed independently with Python 3.11's standard
    /// library: `hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()`
    /// with `secret = b"alphaswarm-external-id-test-secret-0001"` (39 bytes),
    /// or `bytes(range(32))` for the last case.
    #[test]
    fn derivation_known_answers() {
        let secret = b"alphaswarm-external-id-test-secret-0001";
        let org = |s: &str| OrgId::parse(s).unwrap();
        let cases = [
            (
                &secret[..],
                CloudKind::Aws,
                org("org-acme"),
                "1eeec8711abcf9c5b686b3012d299ece81cf62a0a24012d299762192268bd909",
            ),
            (
                &secret[..],
                CloudKind::Azure,
                org("org-acme"),
                "d8fe7e7dea669adfcfd9aa8d82677b78522e48594e280de76ecc008c42c9d385",
            ),
            (
                &secret[..],
                CloudKind::Gcp,
                OrgId::platform(),
                "2b9869597a30ec09c763cf4c8c49247902803245259100665a427eadc6209122",
            ),
            (
                &secret[..],
                CloudKind::Cloudflare,
                org("org-acme"),
                "4c5fe8c02ecf442dceca2129330ed69294cce5fc79c44ce209fc216f45e83a52",
            ),
            (
                &secret[..],
                CloudKind::Aws,
                org("org-acmf"),
                "70b343abc66a550bc443c78b7124cfdd89ff024fe972c1a49aa6e62405625735",
            ),
        ];
        for (secret, cloud, org, expected) in cases {
            let id = derive_external_id(secret, cloud, &org).unwrap();
            assert_eq!(id.as_str(), expected, "{cloud} {org}");
        }
        let sequential: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            derive_external_id(&sequential, CloudKind::Aws, &org("org-acme"))
                .unwrap()
                .as_str(),
            "370810f55a06149a6b6fed011fdf81e83b93f5e4e9e34b44305ac692b0ee7188"
        );
    }

    #[test]
    fn message_is_integration_kind_and_org() {
        let org = OrgId::parse("org-acme").unwrap();
        assert_eq!(
            external_id_message(CloudKind::Aws, &org),
            "cloud_aws:org-acme"
        );
    }

    #[test]
    fn result_is_a_valid_sts_external_id() {
        let id = derive_external_id(&[7; 32], CloudKind::Aws, &OrgId::platform()).unwrap();
        assert_eq!(id.as_str().len(), 64);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert!(crate::ids::EXTERNAL_ID_RULE.accepts(id.as_str()));
    }

    #[test]
    fn short_or_empty_secret_is_refused_without_echoing_it() {
        let org = OrgId::parse("org-acme").unwrap();
        let canary = b"CANARYCANARYCANARYCANARYCANARY3"; // 31 bytes
        for secret in [&b""[..], &canary[..]] {
            let err = derive_external_id(secret, CloudKind::Aws, &org).unwrap_err();
            assert_eq!(err.code(), "external_id_secret_too_short");
            assert_eq!(err.field(), Some("external_id_secret"));
            let shown = format!("{err} {err:?} {}", err.hint());
            assert!(!shown.contains("CANARY"), "{shown}");
        }
        assert!(derive_external_id(&[0; 32], CloudKind::Aws, &org).is_ok());
    }
}
