-- Files and folders owned by an organisation, and one name per folder.
-- An entry belongs to exactly one of a user (owner_user_id) or an
-- organisation (owner_org_id).
-- name_key is the name with case folded (the app folds with Python's
-- casefold; rows from before take lower()). Two live entries of one folder
-- of one owner never share a name_key; live duplicates from before get
-- " (<id>)" before their extension.
ALTER TABLE file_entries ALTER COLUMN owner_user_id DROP NOT NULL;
ALTER TABLE file_entries ADD COLUMN owner_org_id BIGINT REFERENCES organisations(id);
ALTER TABLE file_entries ADD CONSTRAINT file_entries_one_owner
    CHECK ((owner_user_id IS NULL) <> (owner_org_id IS NULL));
ALTER TABLE file_entries ADD COLUMN name_key TEXT;
UPDATE file_entries SET name_key = lower(name);
UPDATE file_entries SET name = CASE WHEN strpos(name, '.') > 1
    THEN substr(name, 1, length(rtrim(name, replace(name, '.', ''))) - 1) || ' (' || id || ')'
         || substr(name, length(rtrim(name, replace(name, '.', ''))))
    ELSE name || ' (' || id || ')' END
WHERE deleted_at IS NULL AND EXISTS (
    SELECT 1 FROM file_entries o WHERE o.deleted_at IS NULL AND o.id < file_entries.id
    AND o.owner_user_id = file_entries.owner_user_id
    AND COALESCE(o.parent_id, 0) = COALESCE(file_entries.parent_id, 0)
    AND o.name_key = file_entries.name_key);
UPDATE file_entries SET name_key = lower(name);
ALTER TABLE file_entries ALTER COLUMN name_key SET NOT NULL;
CREATE INDEX file_entries_org_parent ON file_entries(owner_org_id, parent_id);
CREATE UNIQUE INDEX file_entries_live_name ON file_entries (
    COALESCE(owner_user_id, 0), COALESCE(owner_org_id, 0), COALESCE(parent_id, 0), name_key)
    WHERE deleted_at IS NULL;
