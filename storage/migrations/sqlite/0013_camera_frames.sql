-- Camera pictures a device sent: a live one (only the newest per device is
-- kept, for seconds) or one taken at a job event (kept with the job). The
-- image bytes live on disk under the camera directory (outside the web root)
-- at `path`, relative to it; a row and its file are removed together.
CREATE TABLE camera_frames (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('live', 'job')),
    reason TEXT NOT NULL,          -- "live" or "job_<event>", as the device sent it
    job_id TEXT,                   -- set for job pictures
    content_type TEXT NOT NULL,    -- from the image's own bytes, not the device's word
    path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX camera_frames_device_kind ON camera_frames(device_id, kind, ts);
CREATE INDEX camera_frames_job ON camera_frames(device_id, job_id);
CREATE INDEX camera_frames_kind_received ON camera_frames(kind, received_at);
