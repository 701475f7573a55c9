-- Sign-in sessions of the web UI. The cookie carries a random token; only
-- its sha256 is stored, so a copy of this table signs nobody in. The IP,
-- user agent, times and pages visited are what the privacy policy lists,
-- and what users see of their own sessions.
CREATE TABLE web_sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    last_activity_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id, started_at);

CREATE TABLE page_views (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES web_sessions(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX page_views_session ON page_views(session_id, at);

-- Failed sign-ins, for backing off password guessing per email and per IP.
CREATE TABLE login_failures (
    email TEXT NOT NULL COLLATE NOCASE,
    ip TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at);
CREATE INDEX login_failures_ip ON login_failures(ip, at);
