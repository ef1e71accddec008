-- Bulk WhatsApp (seed 004): sending devices, and one row per recipient of each bulk job.

CREATE TABLE devices (
  id                  serial PRIMARY KEY,
  name                text NOT NULL,
  provider            text NOT NULL CHECK (provider IN ('cloud', 'evolution', 'waha', 'simulator')),
  base_url            text NOT NULL,
  credentials         jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- active: may send; paused: by an operator or after a ban/quality error (see status_reason).
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
  status_reason       text,
  connected           boolean NOT NULL DEFAULT false,
  connection_state    text,
  last_health_at      timestamptz,
  last_error          text,
  messages_per_minute integer,
  min_gap_ms          integer NOT NULL DEFAULT 0,
  max_gap_ms          integer NOT NULL DEFAULT 0,
  pause_after         integer,
  pause_seconds       integer NOT NULL DEFAULT 0,
  daily_cap           integer,
  typing_delay_ms     integer NOT NULL DEFAULT 0,
  template_name       text,
  template_language   text NOT NULL DEFAULT 'es',
  sent_today          integer NOT NULL DEFAULT 0,
  sent_day            date,
  sent_total          bigint NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- status: queued → sending (marked before the provider is called) → sent | failed; a row still
-- `sending` when its job restarts was in flight at a crash and becomes `uncertain` (never re-sent).
CREATE TABLE message_recipients (
  job_id              uuid NOT NULL,
  seq                 integer NOT NULL,
  phone               text,
  raw_phone           text NOT NULL,
  vals                text NOT NULL DEFAULT '',
  status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'uncertain')),
  device_id           integer,
  provider_message_id text,
  error               text,
  attempts            smallint NOT NULL DEFAULT 0,
  retry_at            timestamptz,
  updated_at          timestamptz,
  PRIMARY KEY (job_id, seq)
);
CREATE INDEX message_recipients_queued_idx ON message_recipients (job_id, seq) WHERE status = 'queued';
CREATE INDEX message_recipients_sending_idx ON message_recipients (job_id) WHERE status = 'sending';

-- An upload in progress: its recipients are staged under a job id that has no job yet. A failed or
-- interrupted upload's rows are deleted; one left by a crash is swept at the next start.
CREATE TABLE message_uploads (
  job_id     uuid PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now()
);
