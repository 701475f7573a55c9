-- One row per print, folded from its job events (storage/jobs.py) by the
-- ingest path whenever one of its events arrives, so the jobs history is
-- filtered, paged and summed in SQL rather than rebuilt from every event.
-- print_s: time spent printing (end - start - paused) once the job ended.
CREATE TABLE print_jobs (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    origin TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT,                  -- finished | failed | cancelled; NULL while running
    reason TEXT,
    pause_count INTEGER NOT NULL,
    paused_s REAL NOT NULL,
    progress_pct REAL,
    time_left_s REAL,
    filament_used_mm REAL,
    filament_used_g REAL,
    command_transaction TEXT,
    slicer TEXT,
    slicer_version TEXT,
    started_by_user_id INTEGER,
    print_s REAL,
    UNIQUE (device_id, job_id)
);
-- Lists: a page of a scope's newest jobs, read from the index before any row;
-- one printer's from the first, a whole fleet's by walking the second newest first.
CREATE INDEX print_jobs_device_started ON print_jobs(device_id, started_at);
CREATE INDEX print_jobs_newest ON print_jobs(started_at, id);
-- Statistics: every column they read, grouped in this order, so one pass
-- over the index (no table rows, no sort) gives them per printer and user.
CREATE INDEX print_jobs_stats ON print_jobs(device_id, started_by_user_id, started_at, outcome,
    print_s, filament_used_mm, filament_used_g);
