-- What each record of a job came to, for jobs whose records are not rows of their own (a Wispro
-- sync's clients, a WHMCS push's customers): created, updated, unchanged, skipped or failed, with the
-- reason. `GET /jobs/{id}/items` pages them and `/failures/summary` groups the failures by reason.
-- A bulk send's recipients are already rows (message_recipients) and are read from there.
CREATE TABLE job_items (
  job_id     uuid NOT NULL,
  item_key   text NOT NULL,
  seq        bigint GENERATED ALWAYS AS IDENTITY,
  status     text NOT NULL,
  -- a stable code to group by (`wispro.duplicate_id_number`) beside the readable reason
  reason_code text,
  reason     text,
  label      text,
  data       jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, item_key)
);
CREATE INDEX job_items_status_idx ON job_items (job_id, status, seq);
CREATE INDEX job_items_reason_idx ON job_items (job_id, reason_code, seq);

-- Scheduled runs are hidden from the dashboard's jobs list by default.
CREATE INDEX jobs_created_by_idx ON jobs (created_by, created_at DESC);
