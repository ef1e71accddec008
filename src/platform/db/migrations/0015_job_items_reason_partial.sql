-- Only failed and skipped items have a reason code: index those alone. A sync records an item per
-- record (10,000 for 10,000 Wispro clients), nearly all without a reason, and each paid an entry in
-- this index that no query reads (`GET /jobs/{id}/items?reason=…` and the failure summary look up a
-- code, never the absence of one).
DROP INDEX job_items_reason_idx;
CREATE INDEX job_items_reason_idx ON job_items (job_id, reason_code, seq) WHERE reason_code IS NOT NULL;
