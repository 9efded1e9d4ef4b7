//! Signed checkpoints of the audit chain and the key that signs them.
//!
//! A checkpoint commits to how many rows the trail had (`rows`), the hash
//! of the last of them (`head`, the genesis hash for none) and the previous
//! checkpoint (`prev`, the SHA-256 of its signed message), so checkpoints
//! form a chain of their own. The signature is Ed25519 over
//! [`Checkpoint::message`]; the key is PKCS#8 PEM, 0600, in the state
//! directory, and never leaves it: auditors get the public half.

use super::GENESIS_HASH;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The signing key's file name in the state directory.
pub const SIGNING_KEY_FILE: &str = "audit_signing_key.pem";
const MESSAGE_VERSION: &str = "alphaswarm-audit-checkpoint/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointReason {
    /// The proxy started (covers rows written before, e.g. up to a crash).
    Start,
    /// N rows since the last checkpoint.
    Rows,
    /// M minutes passed with rows unsigned.
    Interval,
    /// Graceful shutdown.
    Shutdown,
}

impl CheckpointReason {
    fn as_str(self) -> &'static str {
        match self {
            CheckpointReason::Start => "start",
            CheckpointReason::Rows => "rows",
            CheckpointReason::Interval => "interval",
            CheckpointReason::Shutdown => "shutdown",
        }
    }
}

/// One line of the checkpoints file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub seq: u64,
    pub rows: u64,
    pub head: String,
    pub prev: String,
    pub at: String,
    pub reason: CheckpointReason,
    pub key_id: String,
    /// Standard base64 (with padding) of the 64-byte Ed25519 signature.
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes: eight `\n`-terminated lines, UTF-8,
    /// `alphaswarm-audit-checkpoint/1`, then `seq=`, `rows=`, `head=`,
    /// `prev=`, `at=`, `reason=`, `key_id=` followed by the field's value
    /// (decimal numbers, lowercase hex, the RFC 3339 time as stored).
    pub fn message(&self) -> Vec<u8> {
        format!(
            "{MESSAGE_VERSION}\nseq={}\nrows={}\nhead={}\nprev={}\nat={}\nreason={}\nkey_id={}\n",
            self.seq,
            self.rows,
            self.head,
            self.prev,
            self.at,
            self.reason.as_str(),
            self.key_id
        )
        .into_bytes()
    }

    /// What the next checkpoint's `prev` holds: hex SHA-256 of [`Self::message`].
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.message()))
    }

    /// Whether `key` signed exactly this checkpoint.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        use base64::Engine;
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&self.signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key_id == key_id(key) && key.verify(&self.message(), &signature).is_ok()
    }
}

/// Lowercase hex SHA-256 of the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The proxy's checkpoint key. `Debug` shows the public half only.
pub struct AuditSigner {
    key: SigningKey,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("key_id", &key_id(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

impl AuditSigner {
    /// Loads `<state dir>/audit_signing_key.pem`, creating it (0600) when
    /// absent; the flag says whether it was created now.
    pub fn load_or_create(state_dir: &Path) -> std::io::Result<(AuditSigner, bool)> {
        let path = state_dir.join(SIGNING_KEY_FILE);
        match Self::load(&path) {
            Ok(signer) => Ok((signer, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                rand::rng().fill(&mut secret);
                let key = SigningKey::from_bytes(&secret);
                let pem = key
                    .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                    .map_err(|_| {
                        std::io::Error::other("the audit signing key cannot be encoded")
                    })?;
                crate::store::write_atomically(&path, pem.as_bytes())?;
                Ok((AuditSigner { key }, true))
            }
            Err(e) => Err(e),
        }
    }

    pub fn load(path: &Path) -> std::io::Result<AuditSigner> {
        let pem = std::fs::read_to_string(path)?;
        Self::from_private_pem(&pem).ok_or_else(|| {
            std::io::Error::other(format!(
                "{} is not a PKCS#8 Ed25519 private key",
                path.display()
            ))
        })
    }

    /// Reads a key written by [`AuditSigner::private_key_pem`].
    pub fn from_private_pem(pem: &str) -> Option<AuditSigner> {
        SigningKey::from_pkcs8_pem(pem)
            .ok()
            .map(|key| AuditSigner { key })
    }

    /// The private key as PKCS#8 PEM (what the key file holds); shared
    /// with other replicas only encrypted.
    pub fn private_key_pem(&self) -> Option<String> {
        self.key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .ok()
            .map(|pem| pem.to_string())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as SubjectPublicKeyInfo PEM (openssl, Python's
    /// `cryptography` and most verifiers read it).
    pub fn public_key_pem(&self) -> String {
        self.verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap_or_default()
    }

    /// The checkpoint after `previous` over `rows` rows ending in `head`.
    pub fn sign(
        &self,
        previous: Option<&Checkpoint>,
        rows: u64,
        head: &str,
        at: String,
        reason: CheckpointReason,
    ) -> Checkpoint {
        use base64::Engine;
        let mut checkpoint = Checkpoint {
            seq: previous.map_or(1, |p| p.seq + 1),
            rows,
            head: head.to_owned(),
            prev: previous.map_or_else(|| GENESIS_HASH.to_owned(), Checkpoint::digest),
            at,
            reason,
            key_id: key_id(&self.verifying_key()),
            signature: String::new(),
        };
        let signature = self.key.sign(&checkpoint.message());
        checkpoint.signature =
            base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());
        checkpoint
    }
}

/// Reads a public key exported by [`AuditSigner::public_key_pem`].
pub fn public_key_from_pem(pem: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_public_key_pem(pem).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_with_its_key_only_and_breaks_when_edited() {
        let dir = super::super::test_support::temp_dir("signer");
        let (signer, created) = AuditSigner::load_or_create(&dir).unwrap();
        assert!(created);
        let (again, created) = AuditSigner::load_or_create(&dir).unwrap();
        assert!(!created);
        assert_eq!(again.public_key_pem(), signer.public_key_pem());
        let first = signer.sign(
            None,
            0,
            GENESIS_HASH,
            "2026-01-01T00:00:00Z".into(),
            CheckpointReason::Start,
        );
        let second = signer.sign(
            Some(&first),
            3,
            &"a".repeat(64),
            "2026-01-01T00:05:00Z".into(),
            CheckpointReason::Rows,
        );
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(second.prev, first.digest());
        let key = public_key_from_pem(&signer.public_key_pem()).unwrap();
        assert!(first.signed_by(&key) && second.signed_by(&key));
        let mut edited = second.clone();
        edited.rows = 2;
        assert!(!edited.signed_by(&key));
        let other = AuditSigner::load_or_create(&super::super::test_support::temp_dir("other"))
            .unwrap()
            .0;
        assert!(!second.signed_by(&other.verifying_key()));
        assert!(!format!("{signer:?}").contains("PRIVATE"));
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = super::super::test_support::temp_dir("keymode");
        AuditSigner::load_or_create(&dir).unwrap();
        let mode = std::fs::metadata(dir.join(SIGNING_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
