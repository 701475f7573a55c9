-- Job events name the file's slicer and the filament's weight. Commands
-- issued from Printfleet are kept with the user who issued them, so a job
-- started by a command names who started it.
ALTER TABLE job_events ADD COLUMN filament_used_g DOUBLE PRECISION;
ALTER TABLE job_events ADD COLUMN slicer TEXT;
ALTER TABLE job_events ADD COLUMN slicer_version TEXT;

CREATE TABLE device_commands (
    transaction_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(device_id),
    user_id BIGINT REFERENCES users(id),    -- NULL: issued by Printfleet itself
    kind TEXT NOT NULL,
    args_json TEXT NOT NULL,
    issued_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX device_commands_device ON device_commands(device_id, issued_at);
