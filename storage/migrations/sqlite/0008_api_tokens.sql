-- Per-user tokens for the JSON API (scripts, slicer plug-ins, dashboards).
-- Only the token's sha256 is stored; the user sees the token once, at
-- creation, and later only its first characters to tell tokens apart.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL,
    revoked_at REAL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id, created_at);
