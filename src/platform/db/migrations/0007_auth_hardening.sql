-- Sessions behind refresh tokens, and failure counters for login and API-key throttling.

-- One row per login. Access tokens name their session (`sid`), so logging out, a password change,
-- a deactivated user or an expired access code ends them; refresh tokens rotate inside the session.
CREATE TABLE auth_sessions (
  id             uuid PRIMARY KEY,
  user_id        integer REFERENCES users (id) ON DELETE CASCADE,
  code_id        integer,
  role           text NOT NULL,
  created_ip     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

-- Only a hash of each refresh token is kept. A used token stays (used_at set) for as long as its
-- session lives, so presenting it again is recognised as reuse and ends the session.
CREATE TABLE auth_refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at    timestamptz
);
CREATE INDEX auth_refresh_tokens_session_idx ON auth_refresh_tokens (session_id);

-- Failed attempts per key (a hash of e.g. an account and an address, or "code login"), shared by
-- every process; each process also keeps its own counters, so throttling holds if this is unreachable.
CREATE TABLE auth_throttle (
  key           text PRIMARY KEY,
  failures      integer NOT NULL,
  window_start  timestamptz NOT NULL,
  blocked_until timestamptz
);
