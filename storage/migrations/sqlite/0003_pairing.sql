-- Devices waiting to be claimed. The public IP lets the web UI list the
-- devices on the user's own network; the code and poll token are stored
-- only as hashes. Credentials wait here, once, between claim and pick-up.
CREATE TABLE pending_devices (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL,
    poll_token_hash TEXT NOT NULL UNIQUE,
    public_ip TEXT NOT NULL,
    hostname TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    claimed_by INTEGER REFERENCES users(id),
    claimed_at REAL,
    credentials_json TEXT,
    collected_at REAL
);
CREATE INDEX pending_devices_ip ON pending_devices(public_ip, expires_at);
CREATE INDEX pending_devices_code ON pending_devices(code_hash);

-- Failed claim attempts, for rate limiting code guessing per user.
CREATE TABLE pairing_failures (
    user_id INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX pairing_failures_user ON pairing_failures(user_id, at);
