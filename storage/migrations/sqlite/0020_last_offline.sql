-- When the device last went offline (a last will, its own 'offline', or the
-- watchdog), kept even after it came back; overwritten by the next offline.
-- The "offline during a print" notification reads it instead of the
-- presence_events history, which is only kept for printers whose owner
-- turned downtime logging on (the privacy policy's promise).
ALTER TABLE device_state ADD COLUMN last_offline_at REAL;
UPDATE device_state SET last_offline_at = (SELECT MAX(p.received_at) FROM presence_events p
    WHERE p.device_id = device_state.device_id AND p.status = 'offline');
CREATE INDEX device_state_last_offline ON device_state(last_offline_at);
