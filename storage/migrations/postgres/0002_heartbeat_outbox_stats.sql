-- Heartbeats report the device's offline outbox: depth, thinned telemetry
-- and messages given up, so operators see what an outage cost.
ALTER TABLE heartbeats ADD COLUMN outbox_depth BIGINT NOT NULL DEFAULT 0;
ALTER TABLE heartbeats ADD COLUMN telemetry_thinned_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE heartbeats ADD COLUMN undeliverable_total BIGINT NOT NULL DEFAULT 0;
