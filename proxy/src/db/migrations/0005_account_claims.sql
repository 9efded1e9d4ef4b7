-- Version 5: the cloud account a record claims (Azure tenant + subscription,
-- GCP project), as a keyed hash, so "one account serves one org" is an
-- indexed lookup instead of decrypting every other org's record of the kind
-- on each connect. NULL for records written before it (checked the old way).
ALTER TABLE integrations ADD COLUMN claim TEXT;
CREATE INDEX integrations_by_claim ON integrations (kind, claim);
