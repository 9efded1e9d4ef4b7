-- Version 4: the sign-in and step-up attempt budgets (auth::limiter), one
-- row per budget (client network or account, per kind), shared by every
-- replica. Times are Unix milliseconds. Replaces version 2's unused
-- failure log.
DROP TABLE auth_failures;
CREATE TABLE attempt_budgets (
    budget TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_ms BIGINT NOT NULL,
    closed_until_ms BIGINT
);
CREATE INDEX attempt_budgets_by_last_failure ON attempt_budgets (last_failure_ms);
