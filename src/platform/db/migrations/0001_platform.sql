-- Platform: users (customers from Wispro and local staff), background job records, key/value settings.

CREATE TABLE users (
  id                   serial PRIMARY KEY,
  name                 text NOT NULL,
  email                text,
  phone                text,
  address              text,
  zone                 text,
  code                 text,
  id_number            text,
  cedula_digits        text,
  id_wispro            text,
  plan_id              integer,
  status               boolean NOT NULL DEFAULT true,
  role                 smallint NOT NULL DEFAULT 0,
  password_hash        text,
  must_change_password boolean NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_id_wispro_key ON users (id_wispro) WHERE id_wispro IS NOT NULL;
CREATE INDEX users_cedula_digits_idx ON users (cedula_digits) WHERE cedula_digits IS NOT NULL;
CREATE INDEX users_email_idx ON users (lower(email));
CREATE INDEX users_role_idx ON users (role);

CREATE TABLE jobs (
  id           uuid PRIMARY KEY,
  type         text NOT NULL,
  status       text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'processing', 'paused', 'completed', 'failed', 'cancelled')),
  params       jsonb NOT NULL DEFAULT '{}'::jsonb,
  progress     jsonb NOT NULL DEFAULT '{}'::jsonb,
  results      jsonb NOT NULL DEFAULT '{}'::jsonb,
  checkpoint   jsonb,
  error        text,
  attempts     integer NOT NULL DEFAULT 0,
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz
);
CREATE INDEX jobs_created_at_idx ON jobs (created_at DESC);
CREATE INDEX jobs_type_status_idx ON jobs (type, status);

CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
