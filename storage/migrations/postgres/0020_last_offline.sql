-- The PostgreSQL twin of sqlite/0020_last_offline.sql: when the device last
-- went offline (a last will, its own 'offline', or the watchdog), kept even
-- after it came back; overwritten by the next offline. The "offline during a
-- print" notification reads it instead of the presence_events history, which
-- is only kept for printers whose owner turned downtime logging on.
ALTER TABLE device_state ADD COLUMN last_offline_at DOUBLE PRECISION;
UPDATE device_state s SET last_offline_at = (SELECT MAX(p.received_at) FROM presence_events p
    WHERE p.device_id = s.device_id AND p.status = 'offline');
CREATE INDEX device_state_last_offline ON device_state(last_offline_at);
