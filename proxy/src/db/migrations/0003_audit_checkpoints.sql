-- Version 3: signed checkpoints over the audit chain (the hardening
-- issue's Ed25519 checkpoints), one JSON line each as the file sink writes
-- them to audit.checkpoints.jsonl. The signing key is shared by every
-- replica through `meta` (audit_signing_key, Fernet-encrypted).
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    line TEXT NOT NULL
);
