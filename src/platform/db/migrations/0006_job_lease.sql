-- The attempt that runs a job holds a lease on its row, renewed while it runs and dropped when its
-- handler has returned. A new attempt (a resume right after a pause, a retry after a crash) waits for
-- the lease to be dropped or to expire, so two attempts of one job never work at the same time.
ALTER TABLE jobs ADD COLUMN lease text;
ALTER TABLE jobs ADD COLUMN lease_until timestamptz;
