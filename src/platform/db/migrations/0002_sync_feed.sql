-- Orders and the change feed that local apps pull (seed 001).

CREATE TABLE orders (
  id           serial PRIMARY KEY,
  external_ref text UNIQUE,
  customer_id  integer REFERENCES users(id) ON DELETE SET NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'completed', 'cancelled')),
  items        jsonb NOT NULL DEFAULT '[]'::jsonb,
  total        numeric(14, 2) NOT NULL DEFAULT 0,
  notes        text,
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_created_at_idx ON orders (created_at DESC);

-- Appended in the same transaction as the order write, under an advisory lock, so sequence numbers
-- commit in order and a cursor can never skip a change that commits late.
CREATE TABLE sync_changes (
  seq        bigserial PRIMARY KEY,
  entity     text NOT NULL,
  entity_id  text NOT NULL,
  op         text NOT NULL CHECK (op IN ('created', 'updated', 'cancelled')),
  data       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_changes_entity_idx ON sync_changes (entity, entity_id);

CREATE TABLE sync_clients (
  id             serial PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  key_hash       text NOT NULL UNIQUE,
  key_prefix     text NOT NULL,
  cursor         bigint NOT NULL DEFAULT 0,
  delivered_upto bigint NOT NULL DEFAULT 0,
  is_default     boolean NOT NULL DEFAULT false,
  revoked_at     timestamptz,
  last_seen_at   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
