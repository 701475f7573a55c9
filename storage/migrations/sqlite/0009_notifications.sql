-- Password reset by email. Only the sha256 of each emailed token is kept,
-- so a copy of this table resets nobody's password; a token works once.
CREATE TABLE password_reset_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens(user_id);

-- Every reset request, for a known email or not, for the per-email and
-- per-IP limits (emails lower-cased).
CREATE TABLE password_reset_requests (
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX password_reset_requests_email ON password_reset_requests(email, at);
CREATE INDEX password_reset_requests_ip ON password_reset_requests(ip, at);

-- What each user wants to hear about and how. No row: the defaults. The
-- phone number exists only while SMS is on (the privacy policy's promise),
-- and marketing mail only after an explicit opt-in, kept with its time.
CREATE TABLE notification_settings (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    on_finished INTEGER NOT NULL,
    on_failed INTEGER NOT NULL,
    on_offline INTEGER NOT NULL,
    by_email INTEGER NOT NULL,
    by_sms INTEGER NOT NULL,
    phone TEXT,
    marketing_opt_in_at REAL,
    updated_at REAL NOT NULL,
    CHECK ((by_sms <> 0) = (phone IS NOT NULL))
);

-- A user's webhooks. The secret signs each delivery, so it is kept as is;
-- the user sees it once, when the webhook is made.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX webhooks_user ON webhooks(user_id);

-- The notification outbox, filled by the scheduler's scan. event_key
-- (device/job/kind) makes a job's event queued once however often it is
-- seen; a delivery is one (event, user, channel, target) and is sent once.
CREATE TABLE notification_events (
    id INTEGER PRIMARY KEY,
    event_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    device_id TEXT,
    device_name TEXT NOT NULL DEFAULT '',
    job_id TEXT,
    file_name TEXT,
    reason TEXT,
    occurred_at REAL NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES notification_events(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    webhook_id INTEGER REFERENCES webhooks(id) ON DELETE CASCADE,
    target_key TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL,
    last_error TEXT,
    UNIQUE (event_id, user_id, channel, target_key)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(status, next_attempt_at);
CREATE INDEX notification_deliveries_webhook ON notification_deliveries(webhook_id);

-- Every attempt to send a delivery: the log users read for their webhooks.
CREATE TABLE notification_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES notification_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL,
    status_code INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX notification_attempts_delivery ON notification_attempts(delivery_id, attempt);

-- How far the scheduler's scans have looked (received_at of the events).
CREATE TABLE notification_scans (
    name TEXT PRIMARY KEY,
    scanned_until REAL NOT NULL
);

-- The scan reads job ends and presence changes by when they were received.
CREATE INDEX job_events_received ON job_events(received_at);
CREATE INDEX presence_events_received ON presence_events(received_at);
