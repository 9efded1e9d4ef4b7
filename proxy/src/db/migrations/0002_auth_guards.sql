-- Version 2: the login guards every replica shares. Failed sign-in and
-- one-time-code attempts (unix milliseconds), counted over a window; the
-- last accepted TOTP step lives in `meta` (totp_last_step).
CREATE TABLE auth_failures (
    at BIGINT NOT NULL
);
CREATE INDEX auth_failures_by_time ON auth_failures (at);
