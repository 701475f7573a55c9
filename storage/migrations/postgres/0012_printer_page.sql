-- The PostgreSQL twin of sqlite/0010_printer_page.sql: settings of a printer
-- that the server owns and delivers to its agent with a `configure` command.
-- downtime_logging is 0 or 1, as on SQLite, so both backends hand back the same value.
CREATE TABLE device_settings (
    device_id TEXT PRIMARY KEY REFERENCES devices(device_id),
    downtime_logging SMALLINT NOT NULL CHECK (downtime_logging IN (0, 1)),
    changed_at DOUBLE PRECISION NOT NULL,
    changed_by BIGINT REFERENCES users(id),
    sent_transaction TEXT,
    sent_at DOUBLE PRECISION
);
