-- Uploaded G-code files and the folders they sit in, per user. Contents live
-- on disk under <files dir>/<owner>/<sha256>; a row keeps the name, place and
-- analysis. deleted_at set: in the trash (restorable), hidden everywhere else;
-- a folder and everything in it are trashed with the same deleted_at.
CREATE TABLE file_entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_user_id BIGINT NOT NULL REFERENCES users(id),
    parent_id BIGINT REFERENCES file_entries(id),   -- NULL: the user's top folder
    kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
    name TEXT NOT NULL,
    size_bytes BIGINT,
    sha256 TEXT,
    analysis_json TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    deleted_at DOUBLE PRECISION
);
CREATE INDEX file_entries_parent ON file_entries(owner_user_id, parent_id);
