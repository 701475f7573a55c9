-- Operators run the installation: they see and tune server-wide settings
-- such as retention (/admin/retention). The first user `printfleet up`
-- creates is one; `printfleet user-add --operator` makes more.
ALTER TABLE users ADD COLUMN is_operator INTEGER NOT NULL DEFAULT 0;

-- Every retention run (and every recorded preview), per data class: what it
-- removed, how long it took. Operators see them on /admin/retention and with
-- `printfleet retention show`.
CREATE TABLE retention_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    data_class TEXT NOT NULL,
    preview INTEGER NOT NULL,          -- 1: counted only, nothing removed
    triggered_by TEXT NOT NULL,        -- schedule | expiry | cli | bench
    cutoff REAL,                       -- rows older than this (epoch s) went
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    seconds REAL NOT NULL,
    rows_removed INTEGER NOT NULL,
    files_removed INTEGER NOT NULL,
    oldest REAL,                       -- the oldest and newest row removed
    newest REAL,
    error TEXT
);
CREATE INDEX retention_runs_started ON retention_runs(started_at);

-- Retention deletes by age: each class's sweep is an index range scan.
CREATE INDEX actions_at ON actions(at);
CREATE INDEX page_views_at ON page_views(at);
CREATE INDEX web_sessions_activity ON web_sessions(last_activity_at);
CREATE INDEX heartbeats_device_ts ON heartbeats(device_id, ts);
CREATE INDEX job_events_device_ts ON job_events(device_id, ts);
