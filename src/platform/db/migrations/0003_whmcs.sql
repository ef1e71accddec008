-- WHMCS billing link (seed 002): the map between local and WHMCS records, and the audit log of every call.

-- Address fields WHMCS requires; filled by pulls from WHMCS or left empty (configured defaults apply).
ALTER TABLE users ADD COLUMN city text;
ALTER TABLE users ADD COLUMN state text;
ALTER TABLE users ADD COLUMN postcode text;
ALTER TABLE users ADD COLUMN country text;

CREATE TABLE whmcs_sync_map (
  id             serial PRIMARY KEY,
  entity_type    text NOT NULL DEFAULT 'client',
  laravel_id     integer NOT NULL,
  -- NULL while a first push is in flight or after it failed (sync_status tells which).
  whmcs_id       integer,
  sync_status    text NOT NULL CHECK (sync_status IN ('synced', 'pending', 'error')),
  -- 'creating' between "WHMCS has no such email" and AddClient's answer: a restart that finds the email
  -- in WHMCS then knows the record is its own and links it instead of reporting a duplicate.
  pending_action text,
  last_error     text,
  last_synced_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (entity_type, laravel_id)
);
CREATE UNIQUE INDEX whmcs_sync_map_whmcs_key ON whmcs_sync_map (entity_type, whmcs_id) WHERE whmcs_id IS NOT NULL;
CREATE INDEX whmcs_sync_map_status_idx ON whmcs_sync_map (sync_status);

CREATE TABLE whmcs_sync_logs (
  id            bigserial PRIMARY KEY,
  entity_type   text NOT NULL DEFAULT 'client',
  laravel_id    integer,
  whmcs_id      integer,
  operation     text NOT NULL,
  action        text NOT NULL,
  status        text NOT NULL CHECK (status IN ('success', 'error')),
  request_data  jsonb,
  response_data jsonb,
  error_message text,
  duration_ms   numeric(10, 2),
  job_id        uuid,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whmcs_sync_logs_created_idx ON whmcs_sync_logs (created_at DESC);
CREATE INDEX whmcs_sync_logs_entity_idx ON whmcs_sync_logs (entity_type, laravel_id);
