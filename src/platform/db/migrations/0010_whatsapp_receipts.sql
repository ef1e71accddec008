-- WhatsApp delivery truth: a provider's 200 means accepted; receipts (webhooks) move each recipient
-- on: sent → delivered → read, or sent → failed with the provider's code and words. Numbers that
-- asked to stop are suppressed and never sent to again.

ALTER TABLE message_recipients DROP CONSTRAINT IF EXISTS message_recipients_status_check;
ALTER TABLE message_recipients ADD CONSTRAINT message_recipients_status_check
  CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'uncertain', 'suppressed'));
-- A failure reported by receipt after the provider accepted the message (Meta's 131026 and the like).
ALTER TABLE message_recipients ADD COLUMN failed_after_send boolean NOT NULL DEFAULT false;
ALTER TABLE message_recipients ADD COLUMN delivered_at timestamptz;
ALTER TABLE message_recipients ADD COLUMN read_at timestamptz;
-- Receipts find their recipient by the provider's message id, on the device that sent it.
CREATE INDEX message_recipients_provider_id_idx ON message_recipients (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Receipt counters per bulk job, kept beside the recipients' rows in the same transaction, so a job's
-- delivery summary is read without counting a million rows.
CREATE TABLE message_job_receipts (
  job_id            uuid PRIMARY KEY,
  delivered         integer NOT NULL DEFAULT 0,
  read              integer NOT NULL DEFAULT 0,
  failed_after_send integer NOT NULL DEFAULT 0,
  last_receipt_at   timestamptz
);

-- Numbers that must not be sent to (E.164): an opt-out reply, an operator, or an imported list.
CREATE TABLE suppressions (
  phone      text PRIMARY KEY,
  source     text NOT NULL,
  reason     text,
  device_id  integer,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Receipts whose message id no recipient has (another system's sends, or rows deleted since).
ALTER TABLE devices ADD COLUMN receipts_unknown bigint NOT NULL DEFAULT 0;
-- The base URL Puente last gave the engine for its webhook (set on create/check), so the periodic
-- check can keep it set without a request to learn its own address from.
ALTER TABLE devices ADD COLUMN webhook_base_url text;
