-- Revoked sessions are pruned by their revocation time: index it (only the revoked rows), so the
-- prune's `expires_at < … OR revoked_at < …` is two index scans instead of a scan of every session.
CREATE INDEX auth_sessions_revoked_idx ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
