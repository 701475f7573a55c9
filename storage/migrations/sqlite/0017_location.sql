-- Restriction of processing (the privacy policy's right): while set, no
-- coordinates, no page views, no place in the action log, no marketing.
ALTER TABLE users ADD COLUMN processing_restricted INTEGER NOT NULL DEFAULT 0;
-- When it was last turned on or off.
ALTER TABLE users ADD COLUMN processing_restricted_at REAL;

-- The device's last public IP, as the web server saw it on the device's own
-- HTTP calls (pairing, credential rotation, print-file downloads); kept for
-- a limited time ([location] public_ip_keep_days).
ALTER TABLE devices ADD COLUMN last_public_ip TEXT;
ALTER TABLE devices ADD COLUMN last_public_ip_at REAL;

-- Where a print was started, only ever blurred by a random 10-200 km offset;
-- location_blur_km is the largest offset the blur could apply. A print is
-- looked at once: location_decided_at is set whether it got coordinates or
-- not (restricted, no known IP, no place for it).
ALTER TABLE print_jobs ADD COLUMN location_lat REAL;
ALTER TABLE print_jobs ADD COLUMN location_lon REAL;
ALTER TABLE print_jobs ADD COLUMN location_blur_km REAL;
ALTER TABLE print_jobs ADD COLUMN location_decided_at REAL;
-- Prints from before this migration are history: today's IP says nothing
-- about where they were.
UPDATE print_jobs SET location_decided_at = started_at;
CREATE INDEX print_jobs_to_locate ON print_jobs(started_at) WHERE location_decided_at IS NULL;
