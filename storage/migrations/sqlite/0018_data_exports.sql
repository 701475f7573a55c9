-- Data exports (the right of access and portability): a ZIP of everything
-- held about a user, built in the background by the scheduler process.
-- path is relative to <data_dir>/exports and chosen when the export is
-- asked for (the file is there once status is 'ready'); retention removes
-- old rows and their files by created_at (the "exports" class).
-- progress_done / progress_total: rows and files written of those to write.
CREATE TABLE data_exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'ready', 'failed')),
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    path TEXT NOT NULL,
    size_bytes INTEGER,
    error TEXT
);
CREATE INDEX data_exports_user ON data_exports(user_id, id);
CREATE INDEX data_exports_status ON data_exports(status, id);
CREATE INDEX data_exports_created ON data_exports(created_at);
