-- Settings of a printer that the server owns and delivers to its agent with a
-- `configure` command. For now the per-printer switch for downtime logging.
-- sent_transaction names the configure command carrying the current value
-- (NULL: not sent yet, e.g. the printer was offline); its ack in command_acks
-- tells whether the printer applied it.
CREATE TABLE device_settings (
    device_id TEXT PRIMARY KEY REFERENCES devices(device_id),
    downtime_logging INTEGER NOT NULL CHECK (downtime_logging IN (0, 1)),
    changed_at REAL NOT NULL,
    changed_by INTEGER REFERENCES users(id),
    sent_transaction TEXT,
    sent_at REAL
);
