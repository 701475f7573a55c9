-- The action log: what each user did, when, from which IP and coarse place
-- (country, region, city; never finer), and how to undo it. org_id is the
-- organisation the action was taken in (NULL: the user's own things).
-- undo_json: what reverses the action, NULL when nothing can; undone_at and
-- undone_by are set once, when someone undoes it.
CREATE TABLE actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    org_id INTEGER,
    ip TEXT NOT NULL,
    country TEXT,
    region TEXT,
    city TEXT,
    kind TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    undo_json TEXT,
    undone_at REAL,
    undone_by INTEGER REFERENCES users(id)
);
CREATE INDEX actions_by_user ON actions(user_id, id);
CREATE INDEX actions_by_org ON actions(org_id, id);
