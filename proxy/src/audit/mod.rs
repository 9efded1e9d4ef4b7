//! The audit trail of the wizard's cloud-touching steps.
//!
//! Each protected step appends a `pending` row before it acts and a
//! `succeeded`/`failed` row after. Rows form a SHA-256 hash chain: each row
//! carries the previous row's hash and its own hash covers every other
//! field, so an edited, deleted or reordered row breaks the chain there.
//!
//! A chain alone can be recomputed by whoever can write the file, so the
//! proxy also signs checkpoints (modelled on CloudTrail's digest files):
//! every N rows, every M minutes while rows are written, at start and at
//! shutdown, an Ed25519 signature over the row count, the chain head and
//! the previous checkpoint. A re-hashed chain no longer matches a signed
//! head; a cut-off or emptied file holds fewer rows than a checkpoint
//! signed. The public key is exported for auditors (`alphaswarm-proxy
//! audit-public-key`). Rows hold identifiers and codes, never secrets.
//!
//! Formulas (also in proxy/API.md): [`row_hash`], [`Checkpoint::message`].
//! Backends: [`AuditSink`]; the proxy writes to the database
//! ([`crate::db::audit::DbAuditSink`], one transaction per row);
//! [`FileAuditSink`] is the file era's (JSON lines, fsync per row, a torn
//! write truncated away before the next one), whose format `verify-audit
//! <path>` and `export-audit` still speak.

mod checkpoint;
mod file;
mod verify;

pub use checkpoint::{
    AuditSigner, Checkpoint, CheckpointReason, SIGNING_KEY_FILE, key_id, public_key_from_pem,
};
pub(crate) use file::now_rfc3339;
pub use file::{FileAuditSink, SinkOptions, checkpoints_path};
pub use verify::{MAX_LINE_BYTES, TrailStatus, VerifyReport, verify_files};
pub(crate) use verify::{check_row, scan_readers};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The hash the first row (and the first checkpoint) chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Pending,
    Succeeded,
    Failed,
}

/// What a caller records; the sink adds the chain fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub audit_run_id: String,
    pub phase: Phase,
    pub actor: String,
    pub org_id: String,
    pub cloud: String,
    pub step: String,
    pub error_code: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// One line of the file. Field order is the canonical order hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRow {
    pub seq: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the audit log at {path} cannot be written: {source}")]
pub struct AuditError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Durably appends one row (returns only after it is on disk). On an
    /// error nothing of the row remains.
    async fn append(&self, event: AuditEvent) -> Result<AuditRow, AuditError>;
    /// Signs a checkpoint over the rows written since the last one; `None`
    /// when there are none.
    async fn checkpoint(&self, reason: CheckpointReason) -> Result<Option<Checkpoint>, AuditError>;
    /// Checks the whole trail against the chain and the signed checkpoints.
    async fn verify(&self) -> Result<VerifyReport, AuditError>;
}

/// Hash of a row: lowercase hex SHA-256 over `prev_hash`, a newline, and
/// the compact JSON of every field but `hash`, in the row's field order.
pub fn row_hash(seq: u64, event: &AuditEvent, prev_hash: &str) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        seq: u64,
        #[serde(flatten)]
        event: &'a AuditEvent,
        prev_hash: &'a str,
    }
    let canonical = serde_json::to_vec(&Canonical {
        seq,
        event,
        prev_hash,
    })
    .unwrap_or_default();
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(b"\n");
    digest.update(&canonical);
    hex::encode(digest.finalize())
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn event(step: &str, phase: Phase) -> AuditEvent {
        AuditEvent {
            audit_run_id: uuid::Uuid::new_v4().to_string(),
            phase,
            actor: "admin".into(),
            org_id: "acme".into(),
            cloud: "aws".into(),
            step: step.into(),
            error_code: None,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
        }
    }

    pub fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("alphaswarm-audit-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_hash_formula_is_unchanged() {
        // A row written by the first release (before checkpoints existed):
        // its hash must still verify, so old trails stay valid.
        let event = AuditEvent {
            audit_run_id: "6f1c1f9e-2b7a-4c8e-9d0a-1b2c3d4e5f60".into(),
            phase: Phase::Pending,
            actor: "admin".into(),
            org_id: "acme".into(),
            cloud: "aws".into(),
            step: "validate_identity".into(),
            error_code: None,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
        };
        let canonical = r#"{"seq":1,"audit_run_id":"6f1c1f9e-2b7a-4c8e-9d0a-1b2c3d4e5f60","phase":"pending","actor":"admin","org_id":"acme","cloud":"aws","step":"validate_identity","error_code":null,"started_at":"2026-01-01T00:00:00Z","finished_at":null,"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
        let mut digest = Sha256::new();
        digest.update(GENESIS_HASH.as_bytes());
        digest.update(b"\n");
        digest.update(canonical.as_bytes());
        assert_eq!(
            row_hash(1, &event, GENESIS_HASH),
            hex::encode(digest.finalize())
        );
    }
}
