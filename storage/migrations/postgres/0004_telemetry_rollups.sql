-- Charts read rollups, not raw telemetry (storage/rollups.py). The chart
-- heaters' readings move out of heaters_json into columns at ingest so that
-- neither charts nor rollups parse JSON per row; existing rows are backfilled
-- and their rollups built here.

-- The time-series tables also gain `time`, the device timestamp as
-- timestamptz: TimescaleDB partitions on it (it cannot partition on a
-- DOUBLE PRECISION or a generated column), and plain PostgreSQL range-scans
-- it the same way. Ingest writes it as to_timestamp(ts).
ALTER TABLE telemetry ADD COLUMN time TIMESTAMPTZ;
UPDATE telemetry SET time = to_timestamp(ts);
ALTER TABLE telemetry ALTER COLUMN time SET NOT NULL;
ALTER TABLE job_events ADD COLUMN time TIMESTAMPTZ;
UPDATE job_events SET time = to_timestamp(ts);
ALTER TABLE job_events ALTER COLUMN time SET NOT NULL;
ALTER TABLE presence_events ADD COLUMN time TIMESTAMPTZ;
UPDATE presence_events SET time = to_timestamp(ts);
ALTER TABLE presence_events ALTER COLUMN time SET NOT NULL;
ALTER TABLE heartbeats ADD COLUMN time TIMESTAMPTZ;
UPDATE heartbeats SET time = to_timestamp(ts);
ALTER TABLE heartbeats ALTER COLUMN time SET NOT NULL;
ALTER TABLE downtime_reports ADD COLUMN time TIMESTAMPTZ;
UPDATE downtime_reports SET time = to_timestamp(ts);
ALTER TABLE downtime_reports ALTER COLUMN time SET NOT NULL;

ALTER TABLE telemetry ADD COLUMN tool0_actual DOUBLE PRECISION;
ALTER TABLE telemetry ADD COLUMN tool0_target DOUBLE PRECISION;
ALTER TABLE telemetry ADD COLUMN bed_actual DOUBLE PRECISION;
ALTER TABLE telemetry ADD COLUMN bed_target DOUBLE PRECISION;
ALTER TABLE telemetry ADD COLUMN chamber_actual DOUBLE PRECISION;
ALTER TABLE telemetry ADD COLUMN chamber_target DOUBLE PRECISION;

UPDATE telemetry SET
    tool0_actual = (heaters_json::jsonb -> 'tool0' ->> 'actual')::double precision,
    tool0_target = (heaters_json::jsonb -> 'tool0' ->> 'target')::double precision,
    bed_actual = (heaters_json::jsonb -> 'bed' ->> 'actual')::double precision,
    bed_target = (heaters_json::jsonb -> 'bed' ->> 'target')::double precision,
    chamber_actual = (heaters_json::jsonb -> 'chamber' ->> 'actual')::double precision,
    chamber_target = (heaters_json::jsonb -> 'chamber' ->> 'target')::double precision;

CREATE TABLE telemetry_1m (
    device_id TEXT NOT NULL,
    bucket DOUBLE PRECISION NOT NULL,  -- epoch seconds, start of the bucket
    samples BIGINT NOT NULL,
    tool0_n BIGINT NOT NULL,
    tool0_sum DOUBLE PRECISION NOT NULL,
    tool0_min DOUBLE PRECISION,
    tool0_max DOUBLE PRECISION,
    tool0_target DOUBLE PRECISION,
    bed_n BIGINT NOT NULL,
    bed_sum DOUBLE PRECISION NOT NULL,
    bed_min DOUBLE PRECISION,
    bed_max DOUBLE PRECISION,
    bed_target DOUBLE PRECISION,
    chamber_n BIGINT NOT NULL,
    chamber_sum DOUBLE PRECISION NOT NULL,
    chamber_min DOUBLE PRECISION,
    chamber_max DOUBLE PRECISION,
    chamber_target DOUBLE PRECISION,
    PRIMARY KEY (device_id, bucket)
);
INSERT INTO telemetry_1m (device_id, bucket, samples, tool0_n, tool0_sum, tool0_min, tool0_max, tool0_target, bed_n, bed_sum, bed_min, bed_max, bed_target, chamber_n, chamber_sum, chamber_min, chamber_max, chamber_target)
SELECT device_id, (floor((ts) / 60) * 60) AS bucket, count(*), count(tool0_actual), COALESCE(sum(tool0_actual), 0), min(tool0_actual), max(tool0_actual), max(tool0_target), count(bed_actual), COALESCE(sum(bed_actual), 0), min(bed_actual), max(bed_actual), max(bed_target), count(chamber_actual), COALESCE(sum(chamber_actual), 0), min(chamber_actual), max(chamber_actual), max(chamber_target) FROM telemetry WHERE true GROUP BY device_id, bucket ORDER BY device_id, bucket;

CREATE TABLE telemetry_1h (
    device_id TEXT NOT NULL,
    bucket DOUBLE PRECISION NOT NULL,  -- epoch seconds, start of the bucket
    samples BIGINT NOT NULL,
    tool0_n BIGINT NOT NULL,
    tool0_sum DOUBLE PRECISION NOT NULL,
    tool0_min DOUBLE PRECISION,
    tool0_max DOUBLE PRECISION,
    tool0_target DOUBLE PRECISION,
    bed_n BIGINT NOT NULL,
    bed_sum DOUBLE PRECISION NOT NULL,
    bed_min DOUBLE PRECISION,
    bed_max DOUBLE PRECISION,
    bed_target DOUBLE PRECISION,
    chamber_n BIGINT NOT NULL,
    chamber_sum DOUBLE PRECISION NOT NULL,
    chamber_min DOUBLE PRECISION,
    chamber_max DOUBLE PRECISION,
    chamber_target DOUBLE PRECISION,
    PRIMARY KEY (device_id, bucket)
);
INSERT INTO telemetry_1h (device_id, bucket, samples, tool0_n, tool0_sum, tool0_min, tool0_max, tool0_target, bed_n, bed_sum, bed_min, bed_max, bed_target, chamber_n, chamber_sum, chamber_min, chamber_max, chamber_target)
SELECT device_id, (floor((ts) / 3600) * 3600) AS bucket, count(*), count(tool0_actual), COALESCE(sum(tool0_actual), 0), min(tool0_actual), max(tool0_actual), max(tool0_target), count(bed_actual), COALESCE(sum(bed_actual), 0), min(bed_actual), max(bed_actual), max(bed_target), count(chamber_actual), COALESCE(sum(chamber_actual), 0), min(chamber_actual), max(chamber_actual), max(chamber_target) FROM telemetry WHERE true GROUP BY device_id, bucket ORDER BY device_id, bucket;
