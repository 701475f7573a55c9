-- Charts read rollups, not raw telemetry (storage/rollups.py). The chart
-- heaters' readings move out of heaters_json into columns at ingest so that
-- neither charts nor rollups parse JSON per row; existing rows are backfilled
-- and their rollups built here.

ALTER TABLE telemetry ADD COLUMN tool0_actual REAL;
ALTER TABLE telemetry ADD COLUMN tool0_target REAL;
ALTER TABLE telemetry ADD COLUMN bed_actual REAL;
ALTER TABLE telemetry ADD COLUMN bed_target REAL;
ALTER TABLE telemetry ADD COLUMN chamber_actual REAL;
ALTER TABLE telemetry ADD COLUMN chamber_target REAL;

UPDATE telemetry SET
    tool0_actual = json_extract(heaters_json, '$.tool0.actual'),
    tool0_target = json_extract(heaters_json, '$.tool0.target'),
    bed_actual = json_extract(heaters_json, '$.bed.actual'),
    bed_target = json_extract(heaters_json, '$.bed.target'),
    chamber_actual = json_extract(heaters_json, '$.chamber.actual'),
    chamber_target = json_extract(heaters_json, '$.chamber.target');

CREATE TABLE telemetry_1m (
    device_id TEXT NOT NULL,
    bucket REAL NOT NULL,  -- epoch seconds, start of the bucket
    samples INTEGER NOT NULL,
    tool0_n INTEGER NOT NULL,
    tool0_sum REAL NOT NULL,
    tool0_min REAL,
    tool0_max REAL,
    tool0_target REAL,
    bed_n INTEGER NOT NULL,
    bed_sum REAL NOT NULL,
    bed_min REAL,
    bed_max REAL,
    bed_target REAL,
    chamber_n INTEGER NOT NULL,
    chamber_sum REAL NOT NULL,
    chamber_min REAL,
    chamber_max REAL,
    chamber_target REAL,
    PRIMARY KEY (device_id, bucket)
) WITHOUT ROWID;
INSERT INTO telemetry_1m (device_id, bucket, samples, tool0_n, tool0_sum, tool0_min, tool0_max, tool0_target, bed_n, bed_sum, bed_min, bed_max, bed_target, chamber_n, chamber_sum, chamber_min, chamber_max, chamber_target)
SELECT device_id, (CAST((ts) / 60 AS INTEGER) * 60) AS bucket, count(*), count(tool0_actual), total(tool0_actual), min(tool0_actual), max(tool0_actual), max(tool0_target), count(bed_actual), total(bed_actual), min(bed_actual), max(bed_actual), max(bed_target), count(chamber_actual), total(chamber_actual), min(chamber_actual), max(chamber_actual), max(chamber_target) FROM telemetry WHERE true GROUP BY device_id, bucket ORDER BY device_id, bucket;

CREATE TABLE telemetry_1h (
    device_id TEXT NOT NULL,
    bucket REAL NOT NULL,  -- epoch seconds, start of the bucket
    samples INTEGER NOT NULL,
    tool0_n INTEGER NOT NULL,
    tool0_sum REAL NOT NULL,
    tool0_min REAL,
    tool0_max REAL,
    tool0_target REAL,
    bed_n INTEGER NOT NULL,
    bed_sum REAL NOT NULL,
    bed_min REAL,
    bed_max REAL,
    bed_target REAL,
    chamber_n INTEGER NOT NULL,
    chamber_sum REAL NOT NULL,
    chamber_min REAL,
    chamber_max REAL,
    chamber_target REAL,
    PRIMARY KEY (device_id, bucket)
) WITHOUT ROWID;
INSERT INTO telemetry_1h (device_id, bucket, samples, tool0_n, tool0_sum, tool0_min, tool0_max, tool0_target, bed_n, bed_sum, bed_min, bed_max, bed_target, chamber_n, chamber_sum, chamber_min, chamber_max, chamber_target)
SELECT device_id, (CAST((ts) / 3600 AS INTEGER) * 3600) AS bucket, count(*), count(tool0_actual), total(tool0_actual), min(tool0_actual), max(tool0_actual), max(tool0_target), count(bed_actual), total(bed_actual), min(bed_actual), max(bed_actual), max(bed_target), count(chamber_actual), total(chamber_actual), min(chamber_actual), max(chamber_actual), max(chamber_target) FROM telemetry WHERE true GROUP BY device_id, bucket ORDER BY device_id, bucket;
