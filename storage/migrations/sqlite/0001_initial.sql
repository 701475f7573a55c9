-- Accounts and the device registry.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    owner_user_id INTEGER REFERENCES users(id),
    name TEXT NOT NULL,
    mqtt_password_hash TEXT,          -- NULL once revoked
    heartbeat_interval_s REAL NOT NULL DEFAULT 30,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX devices_owner ON devices(owner_user_id);

-- Latest known state per device, kept by the ingest path for dashboards.
CREATE TABLE device_state (
    device_id TEXT PRIMARY KEY,
    presence TEXT NOT NULL DEFAULT 'offline',
    presence_source TEXT,
    presence_changed_at REAL,
    heartbeat_interval_s REAL,
    last_seen_at REAL,
    last_seq INTEGER,
    printer_state TEXT,
    heaters_json TEXT,
    fans_json TEXT,
    z_mm REAL,
    progress_pct REAL,
    time_left_s REAL,
    job_id TEXT,
    telemetry_ts REAL,
    job_file_name TEXT,
    job_status TEXT,
    job_event_ts REAL
);

-- Time series. (device_id, seq) is unique across every device-originated
-- family so a QoS 1 redelivery is stored once.
CREATE TABLE telemetry (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    printer_state TEXT NOT NULL,
    heaters_json TEXT NOT NULL,
    fans_json TEXT NOT NULL,
    z_mm REAL,
    progress_pct REAL,
    time_left_s REAL,
    job_id TEXT,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX telemetry_device_ts ON telemetry(device_id, ts);

CREATE TABLE job_events (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    job_id TEXT NOT NULL,
    event TEXT NOT NULL,
    file_name TEXT NOT NULL,
    origin TEXT NOT NULL,
    progress_pct REAL,
    time_left_s REAL,
    reason TEXT,
    filament_used_mm REAL,
    command_transaction TEXT,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX job_events_job ON job_events(device_id, job_id);

CREATE TABLE presence_events (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER,                   -- NULL: raised by the server's watchdog
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,          -- device | watchdog
    UNIQUE (device_id, seq)
);

CREATE TABLE heartbeats (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    interval_s REAL NOT NULL,
    uptime_s REAL NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

CREATE TABLE downtime_reports (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    cause TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

CREATE TABLE device_facts (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    facts_json TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

CREATE TABLE command_acks (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL,
    transaction_id TEXT NOT NULL,
    status TEXT NOT NULL,
    data_json TEXT,
    error TEXT,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

-- Messages refused at the MQTT edge, for operators.
CREATE TABLE rejected_messages (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    topic TEXT NOT NULL,
    device_id TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload_size INTEGER NOT NULL,
    payload_excerpt TEXT NOT NULL
);
CREATE INDEX rejected_messages_received ON rejected_messages(received_at);
