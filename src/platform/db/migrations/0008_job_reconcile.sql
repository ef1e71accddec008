-- An operator's retry of a failed or cancelled job is a new job that points at the one it retries.
-- One retry per job: two retries of the same bulk send would each send what the first left unsent.
ALTER TABLE jobs ADD COLUMN retry_of uuid REFERENCES jobs (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX jobs_retry_of_key ON jobs (retry_of) WHERE retry_of IS NOT NULL;
-- The reconciler's sweep looks only at records that claim to be running.
CREATE INDEX jobs_active_idx ON jobs (updated_at) WHERE status IN ('pending', 'processing');
