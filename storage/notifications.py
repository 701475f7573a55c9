"""Users' notification settings and webhooks: the records and the queries both backends share.

Every call is scoped to its user: another user's webhook is unknown (None,
False), never an error that would tell it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .shared_sql import SharedQueries

EVENT_KINDS = ("finished", "failed", "offline")
CHANNELS = ("email", "sms", "webhook")


class NotificationSettingsError(ValueError):
    """Settings the store refuses (SMS on without a phone number); the message says why."""


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Which events a user hears about and by which channels (webhooks: all of theirs)."""

    on_finished: bool = True
    on_failed: bool = True
    on_offline: bool = True
    by_email: bool = True
    by_sms: bool = False
    phone: str | None = None  # only while by_sms is on
    marketing_opt_in_at: float | None = None  # None: no marketing mail

    def wants(self, kind: str) -> bool:
        """Tell whether the user asked to hear about this kind of event."""
        return {"finished": self.on_finished, "failed": self.on_failed,
                "offline": self.on_offline}.get(kind, True)


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    user_id: int
    url: str
    secret: str
    created_at: float


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try at sending a notification, as the user's delivery log shows it."""

    delivery_id: int
    event_kind: str
    device_name: str
    file_name: str | None
    attempt: int
    at: float
    ok: bool
    status_code: int | None
    detail: str
    delivery_status: str  # pending | sent | gave_up


_SETTINGS_COLUMNS = ("on_finished, on_failed, on_offline, by_email, by_sms, phone, "
                     "marketing_opt_in_at")
_WEBHOOK_COLUMNS = "id, user_id, url, secret, created_at"


class NotificationSettingsStore(Protocol):
    def notification_settings(self, user_id: int) -> NotificationSettings:
        """A user's settings; the defaults until they save some."""
        ...

    def save_notification_settings(self, user_id: int, settings: NotificationSettings,
                                   now: float) -> None:
        """Store a user's settings; the phone number is dropped when SMS is off."""
        ...

    def marketing_recipients(self) -> list[tuple[int, str]]:
        """(user id, email) of every user who opted in to marketing mail and does not
        restrict processing, and nobody else."""
        ...

    def add_webhook(self, user_id: int, url: str, secret: str, now: float) -> Webhook: ...

    def webhooks_for_user(self, user_id: int) -> list[Webhook]: ...

    def webhook(self, user_id: int, webhook_id: int) -> Webhook | None:
        """One of the user's webhooks; None if it is another user's or unknown."""
        ...

    def delete_webhook(self, user_id: int, webhook_id: int) -> bool:
        """Remove one of the user's webhooks with its deliveries and their log."""
        ...

    def webhook_attempts(self, user_id: int, webhook_id: int,
                         limit: int = 100) -> list[DeliveryAttempt]:
        """The delivery log of one of the user's webhooks, newest first."""
        ...


class NotificationSettingsQueries(SharedQueries):
    """Notification settings and webhooks, on whichever store this is mixed into."""

    def notification_settings(self, user_id: int) -> NotificationSettings:
        rows = self._run(f"SELECT {_SETTINGS_COLUMNS} FROM notification_settings "
                         "WHERE user_id = ?", (user_id,))
        return settings_from_row(rows[0]) if rows else NotificationSettings()

    def save_notification_settings(self, user_id: int, settings: NotificationSettings,
                                   now: float) -> None:
        phone = settings.phone if settings.by_sms else None
        if settings.by_sms and not phone:
            raise NotificationSettingsError("SMS notifications need a phone number")
        values = (bool(settings.on_finished), bool(settings.on_failed),
                  bool(settings.on_offline), bool(settings.by_email), bool(settings.by_sms),
                  phone, settings.marketing_opt_in_at, now)
        with self._sql_tx() as tx:
            tx.run(f"INSERT INTO notification_settings (user_id, {_SETTINGS_COLUMNS}, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                   "on_finished = excluded.on_finished, on_failed = excluded.on_failed, "
                   "on_offline = excluded.on_offline, by_email = excluded.by_email, "
                   "by_sms = excluded.by_sms, phone = excluded.phone, "
                   "marketing_opt_in_at = excluded.marketing_opt_in_at, "
                   "updated_at = excluded.updated_at", (user_id, *values))

    def marketing_recipients(self) -> list[tuple[int, str]]:
        rows = self._run("SELECT u.id, u.email FROM users u JOIN notification_settings s "
                         "ON s.user_id = u.id WHERE s.marketing_opt_in_at IS NOT NULL "
                         "AND NOT u.processing_restricted ORDER BY u.id")  # restriction.py
        return [(int(row[0]), row[1]) for row in rows]

    def add_webhook(self, user_id: int, url: str, secret: str, now: float) -> Webhook:
        with self._sql_tx() as tx:
            rows, _ = tx.run("INSERT INTO webhooks (user_id, url, secret, created_at) "
                             f"VALUES (?, ?, ?, ?) RETURNING {_WEBHOOK_COLUMNS}",
                             (user_id, url, secret, now))
        return Webhook(*rows[0])

    def webhooks_for_user(self, user_id: int) -> list[Webhook]:
        rows = self._run(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = ? "
                         "ORDER BY id", (user_id,))
        return [Webhook(*row) for row in rows]

    def webhook(self, user_id: int, webhook_id: int) -> Webhook | None:
        rows = self._run(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE id = ? "
                         "AND user_id = ?", (webhook_id, user_id))
        return Webhook(*rows[0]) if rows else None

    def delete_webhook(self, user_id: int, webhook_id: int) -> bool:
        # Deliveries and their attempts go with it (ON DELETE CASCADE).
        with self._sql_tx() as tx:
            _, count = tx.run("DELETE FROM webhooks WHERE id = ? AND user_id = ?",
                              (webhook_id, user_id))
        return count == 1

    def webhook_attempts(self, user_id: int, webhook_id: int,
                         limit: int = 100) -> list[DeliveryAttempt]:
        rows = self._run(
            "SELECT a.delivery_id, e.kind, e.device_name, e.file_name, a.attempt, a.at, a.ok, "
            "a.status_code, a.detail, d.status FROM notification_attempts a "
            "JOIN notification_deliveries d ON d.id = a.delivery_id "
            "JOIN notification_events e ON e.id = d.event_id "
            "JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE w.id = ? AND w.user_id = ? AND d.user_id = ? "
            "ORDER BY a.at DESC, a.id DESC LIMIT ?", (webhook_id, user_id, user_id, limit))
        return [DeliveryAttempt(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]),
                                row[7], row[8], row[9]) for row in rows]


def settings_from_row(row: tuple) -> NotificationSettings:
    """Build settings from the columns in _SETTINGS_COLUMNS order (SQLite gives 0/1)."""
    return NotificationSettings(bool(row[0]), bool(row[1]), bool(row[2]), bool(row[3]),
                                bool(row[4]), row[5], row[6])
