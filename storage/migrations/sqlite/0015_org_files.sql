-- Files and folders owned by an organisation, and one name per folder.
-- An entry belongs to exactly one of a user (owner_user_id) or an
-- organisation (owner_org_id); SQLite cannot drop a NOT NULL, so the table is
-- built again with the same ids (and the same id sequence: old undo entries
-- in the action log name entries by id, and no id may come back).
-- name_key is the name with case folded (the app folds with Python's
-- casefold; rows from before take lower(), the same for ASCII names). Two
-- live entries of one folder of one owner never share a name_key; live
-- duplicates from before get " (<id>)" before their extension.
CREATE TABLE file_entries_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_user_id INTEGER REFERENCES users(id),
    owner_org_id INTEGER REFERENCES organisations(id),
    parent_id INTEGER REFERENCES file_entries_new(id),   -- NULL: the owner's top folder
    kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    size_bytes INTEGER,
    sha256 TEXT,
    analysis_json TEXT,
    created_at REAL NOT NULL,
    deleted_at REAL,
    CHECK ((owner_user_id IS NULL) <> (owner_org_id IS NULL))
);
INSERT INTO file_entries_new (id, owner_user_id, owner_org_id, parent_id, kind, name, name_key,
                              size_bytes, sha256, analysis_json, created_at, deleted_at)
SELECT id, owner_user_id, NULL, parent_id, kind, name, lower(name), size_bytes, sha256,
       analysis_json, created_at, deleted_at FROM file_entries;
DELETE FROM sqlite_sequence WHERE name = 'file_entries_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'file_entries_new', seq FROM sqlite_sequence WHERE name = 'file_entries';
DROP TABLE file_entries;
ALTER TABLE file_entries_new RENAME TO file_entries;
UPDATE file_entries SET name = CASE WHEN instr(name, '.') > 1
    THEN substr(name, 1, length(rtrim(name, replace(name, '.', ''))) - 1) || ' (' || id || ')'
         || substr(name, length(rtrim(name, replace(name, '.', ''))))
    ELSE name || ' (' || id || ')' END
WHERE deleted_at IS NULL AND EXISTS (
    SELECT 1 FROM file_entries o WHERE o.deleted_at IS NULL AND o.id < file_entries.id
    AND o.owner_user_id = file_entries.owner_user_id
    AND COALESCE(o.parent_id, 0) = COALESCE(file_entries.parent_id, 0)
    AND o.name_key = file_entries.name_key);
UPDATE file_entries SET name_key = lower(name);
CREATE INDEX file_entries_parent ON file_entries(owner_user_id, parent_id);
CREATE INDEX file_entries_org_parent ON file_entries(owner_org_id, parent_id);
CREATE UNIQUE INDEX file_entries_live_name ON file_entries (
    COALESCE(owner_user_id, 0), COALESCE(owner_org_id, 0), COALESCE(parent_id, 0), name_key)
    WHERE deleted_at IS NULL;
