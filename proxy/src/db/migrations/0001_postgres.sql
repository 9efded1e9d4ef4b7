-- Version 1: integrations (one encrypted row per credential key), the
-- audit chain and its head, and small named values (the key check, the
-- file-era import report).
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE integrations (
    credential_key TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Fernet token (ALPHASWARM_ADMIN_INTEGRATIONS_KEY) of the record's JSON.
    record TEXT NOT NULL
);
CREATE INDEX integrations_by_org ON integrations (org_id, credential_key);
CREATE INDEX integrations_by_kind ON integrations (kind, credential_key);

-- One row per audit row, its JSON line byte for byte as the file era wrote it.
CREATE TABLE audit_rows (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    line TEXT NOT NULL
);

-- The chain's head: appends read and move it under the write lock, so the
-- chain stays linear however many processes append.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
