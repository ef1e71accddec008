-- A device sends for one bulk job at a time, so its pacing holds whatever number of jobs run: the
-- job using it holds a lease, renewed while it works and dropped when it is done with the device.
ALTER TABLE devices ADD COLUMN job_id uuid;
ALTER TABLE devices ADD COLUMN job_lease_until timestamptz;
-- The earliest moment the device may send again, as its pacing left it when its last job let go of
-- it: the next job to take the device starts from there, not from a blank slate.
ALTER TABLE devices ADD COLUMN next_send_at timestamptz;
