-- Zoho: the access-code cache (seed 003, table as specified), the shared OAuth token, products.

CREATE TABLE zoho_code (
  id         serial PRIMARY KEY,
  zoho_code  varchar(255) NOT NULL UNIQUE,
  created_at timestamp NOT NULL DEFAULT now(),
  expired_at timestamp NULL
);
CREATE INDEX idx_zoho_code_active ON zoho_code (created_at DESC) WHERE expired_at IS NULL;

-- One row per credential set; every process reads and refreshes it under an advisory lock, so Zoho's
-- "10 refreshes in 10 minutes" block is never hit by restarts or parallel processes.
CREATE TABLE zoho_tokens (
  id            text PRIMARY KEY,
  access_token  text NOT NULL,
  api_domain    text,
  expires_at    timestamptz NOT NULL,
  refreshed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id                 serial PRIMARY KEY,
  item_id            text NOT NULL UNIQUE,
  name               text NOT NULL,
  sku                text,
  rate               numeric(14, 2),
  status             text NOT NULL,
  active             boolean NOT NULL,
  stock_on_hand      numeric(14, 2),
  unit               text,
  description        text,
  last_modified_time timestamptz,
  synced_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_name_idx ON products (lower(name));
