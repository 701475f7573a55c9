"""The notification outbox: what the scheduler's scan finds, queues, and the dispatcher sends.

Idempotent by construction: an event is stored once per `event_key`
(device/job/kind) and a delivery once per (event, user, channel, target),
both with insert-or-ignore, so a scan that runs twice queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .notifications import NotificationSettings, settings_from_row
from .shared_sql import SharedQueries

# The job that printed (or not) and who may be told about it.
# A transaction names its starter only on the device it was issued to.
_STARTER = ("(SELECT c.user_id FROM device_commands c WHERE c.device_id = {e}.device_id "
            "AND c.transaction_id = "
            "(SELECT MIN(s.command_transaction) FROM job_events s WHERE s.device_id = {e}.device_id "
            "AND s.job_id = {e}.job_id AND s.command_transaction IS NOT NULL))")


@dataclass(frozen=True, slots=True)
class ObservedEvent:
    """Something that happened to a printer that may be worth telling people about."""

    kind: str  # finished | failed | offline | test
    device_id: str  # "" for a test
    device_name: str
    job_id: str
    file_name: str
    reason: str | None
    occurred_at: float
    owner_user_id: int | None  # NULL for an organisation's printer
    started_by_user_id: int | None
    owner_org_id: int | None = None  # set when an organisation owns the printer

    @property
    def event_key(self) -> str:
        return f"{self.device_id}/{self.job_id}/{self.kind}"


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    user_id: int
    channel: str  # email | sms | webhook
    webhook_id: int | None = None

    @property
    def target_key(self) -> str:
        return "" if self.webhook_id is None else f"webhook:{self.webhook_id}"


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery to send now, with all the dispatcher needs to send it."""

    id: int
    channel: str
    attempts: int
    user_id: int
    email: str
    settings: NotificationSettings
    webhook_url: str | None
    webhook_secret: str | None
    event_kind: str
    device_id: str | None
    device_name: str
    job_id: str | None
    file_name: str | None
    reason: str | None
    occurred_at: float


class NotificationOutboxStore(Protocol):
    def notification_scan_cursor(self, name: str) -> float | None:
        """How far (received_at) the scan called `name` has looked; None before its first run."""
        ...

    def set_notification_scan_cursor(self, name: str, scanned_until: float) -> None: ...

    def ended_jobs_received_since(self, since: float) -> list[ObservedEvent]:
        """Jobs that finished or failed, by job events received after `since`."""
        ...

    def offline_during_print_since(self, since: float) -> list[ObservedEvent]:
        """Printers that last went offline after `since` while a job was running."""
        ...

    def queue_notification(self, event: ObservedEvent, deliveries: Sequence[PlannedDelivery],
                           now: float) -> bool:
        """Store an event and its deliveries in one transaction; False if it was queued before."""
        ...

    def due_deliveries(self, now: float, limit: int = 100) -> list[DueDelivery]: ...

    def record_delivery_attempt(self, delivery: DueDelivery, ok: bool, status_code: int | None,
                                detail: str, now: float, next_attempt_at: float | None) -> None:
        """Log an attempt; a failure with no next attempt gives the delivery up."""
        ...


class NotificationOutboxQueries(SharedQueries):
    """The outbox queries, on whichever store this is mixed into."""

    def notification_scan_cursor(self, name: str) -> float | None:
        rows = self._run("SELECT scanned_until FROM notification_scans WHERE name = ?", (name,))
        return float(rows[0][0]) if rows else None

    def set_notification_scan_cursor(self, name: str, scanned_until: float) -> None:
        self._run("INSERT INTO notification_scans (name, scanned_until) VALUES (?, ?) "
                  "ON CONFLICT (name) DO UPDATE SET scanned_until = excluded.scanned_until",
                  (name, scanned_until))

    def ended_jobs_received_since(self, since: float) -> list[ObservedEvent]:
        rows = self._run(
            "SELECT e.event, e.device_id, d.name, e.job_id, e.file_name, e.reason, e.ts, "
            f"d.owner_user_id, {_STARTER.format(e='e')}, d.owner_org_id FROM job_events e "
            "JOIN devices d ON d.device_id = e.device_id AND d.revoked_at IS NULL "
            "WHERE e.event IN ('finished', 'failed') AND e.received_at > ? "
            "ORDER BY e.received_at, e.device_id, e.seq", (since,))
        return [ObservedEvent(*row) for row in rows]

    def offline_during_print_since(self, since: float) -> list[ObservedEvent]:
        # Read from device_state.last_offline_at, not the presence_events
        # history: that history exists only for printers whose downtime
        # logging is on, and this notification is for every printer. One
        # timestamp per printer, overwritten by its next offline, is enough:
        # the event is queued once per device/job anyway, and it is kept when
        # the printer comes back, so an outage shorter than the scan interval
        # is still seen. The job event received last before the printer went
        # offline tells whether a print was running (received_at: one clock,
        # the server's).
        rows = self._run(
            "SELECT 'offline', s.device_id, d.name, j.job_id, j.file_name, NULL, "
            f"s.last_offline_at, d.owner_user_id, {_STARTER.format(e='j')}, d.owner_org_id "
            "FROM device_state s "
            "JOIN devices d ON d.device_id = s.device_id AND d.revoked_at IS NULL "
            "JOIN job_events j ON j.device_id = s.device_id AND j.seq = ("
            "SELECT l.seq FROM job_events l WHERE l.device_id = s.device_id "
            "AND l.received_at <= s.last_offline_at ORDER BY l.received_at DESC, l.seq DESC "
            "LIMIT 1) "
            "WHERE s.last_offline_at > ? AND j.event NOT IN ('finished', 'failed', 'cancelled') "
            "ORDER BY s.last_offline_at, s.device_id", (since,))
        return [ObservedEvent(*row) for row in rows]

    def queue_notification(self, event: ObservedEvent, deliveries: Sequence[PlannedDelivery],
                           now: float) -> bool:
        with self._sql_tx() as tx:
            rows, _ = tx.run(
                "INSERT INTO notification_events (event_key, kind, device_id, device_name, "
                "job_id, file_name, reason, occurred_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING "
                "RETURNING id",
                (event.event_key, event.kind, event.device_id or None, event.device_name, event.job_id,
                 event.file_name, event.reason, event.occurred_at, now))
            if not rows:
                return False
            for delivery in deliveries:
                tx.run("INSERT INTO notification_deliveries (event_id, user_id, channel, "
                       "webhook_id, target_key, next_attempt_at, created_at) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (rows[0][0], delivery.user_id, delivery.channel, delivery.webhook_id,
                        delivery.target_key, now, now))
        return True

    def due_deliveries(self, now: float, limit: int = 100) -> list[DueDelivery]:
        rows = self._run(
            "SELECT d.id, d.channel, d.attempts, d.user_id, u.email, "
            "COALESCE(s.on_finished, ?), COALESCE(s.on_failed, ?), COALESCE(s.on_offline, ?), "
            "COALESCE(s.by_email, ?), COALESCE(s.by_sms, ?), s.phone, s.marketing_opt_in_at, "
            "w.url, w.secret, e.kind, e.device_id, e.device_name, e.job_id, e.file_name, "
            "e.reason, e.occurred_at FROM notification_deliveries d "
            "JOIN users u ON u.id = d.user_id "
            "JOIN notification_events e ON e.id = d.event_id "
            "LEFT JOIN notification_settings s ON s.user_id = d.user_id "
            "LEFT JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
            "ORDER BY d.next_attempt_at, d.id LIMIT ?", (*_DEFAULT_FLAGS, now, limit))
        return [DueDelivery(row[0], row[1], row[2], row[3], row[4],
                            settings_from_row(row[5:12]), *row[12:]) for row in rows]

    def record_delivery_attempt(self, delivery: DueDelivery, ok: bool, status_code: int | None,
                                detail: str, now: float, next_attempt_at: float | None) -> None:
        attempt = delivery.attempts + 1
        if ok:
            status, finished_at, next_at = "sent", now, now
        elif next_attempt_at is None:
            status, finished_at, next_at = "gave_up", now, now
        else:
            status, finished_at, next_at = "pending", None, next_attempt_at
        with self._sql_tx() as tx:
            tx.run("INSERT INTO notification_attempts (delivery_id, attempt, at, ok, "
                   "status_code, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (delivery.id, attempt, now, ok, status_code, detail[:500]))
            tx.run("UPDATE notification_deliveries SET attempts = ?, status = ?, "
                   "next_attempt_at = ?, finished_at = ?, last_error = ? WHERE id = ?",
                   (attempt, status, next_at, finished_at, None if ok else detail[:500],
                    delivery.id))


_defaults = NotificationSettings()
_DEFAULT_FLAGS = (_defaults.on_finished, _defaults.on_failed, _defaults.on_offline,
                  _defaults.by_email, _defaults.by_sms)
