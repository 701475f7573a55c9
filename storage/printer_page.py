"""What a printer's page reads beyond the dashboard: facts, command acks, server-owned settings.

The SQL is written once with ``?`` placeholders (see shared_sql.py). Facts
and acks are the device's own messages as the fleet stored them
(device_facts, command_acks); settings are the server's (device_settings).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from .shared_sql import SharedQueries

# An ack that ends a command; "accepted" only says it is running.
FINAL_ACK_STATES = ("finished", "failed", "rejected")
_COMMAND_COLUMNS = "transaction_id, device_id, user_id, kind, args_json, issued_at, expires_at"
_SETTING_COLUMNS = "device_id, downtime_logging, changed_at, changed_by, sent_transaction, sent_at"


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """The newest facts message of a device (hostname, network, Pi, firmware, plugins, mesh)."""

    device_id: str
    seq: int
    ts: float
    received_at: float
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AckRow:
    status: str
    ts: float
    received_at: float
    data: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class CommandState:
    """A command sent from Printfleet and the acks its device sent back, oldest first."""

    transaction_id: str
    device_id: str
    user_id: int | None
    kind: str
    args: dict[str, Any]
    issued_at: float
    expires_at: float
    acks: list[AckRow] = field(default_factory=list)

    @property
    def status(self) -> str:
        """pending (no answer yet), accepted (running), or the final finished/failed/rejected."""
        final = [ack for ack in self.acks if ack.status in FINAL_ACK_STATES]
        if final:
            return final[-1].status
        return "accepted" if self.acks else "pending"

    @property
    def last_ack(self) -> AckRow | None:
        final = [ack for ack in self.acks if ack.status in FINAL_ACK_STATES]
        chosen = final or self.acks
        return chosen[-1] if chosen else None


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """The server's settings for one printer, and whether the printer has applied them."""

    device_id: str
    downtime_logging: bool
    changed_at: float
    changed_by: int | None
    sent_transaction: str | None  # the configure command carrying this value; None: not sent
    sent_at: float | None
    applied: str  # "not_sent", "pending", "accepted", "finished", "failed" or "rejected"
    error: str | None


class PrinterPageStore(Protocol):
    """The store reads and writes the printer page needs (mixed into SyncStore)."""

    def latest_facts(self, device_id: str) -> DeviceFacts | None:
        """The device's newest facts message, or None if it never sent one."""
        ...

    def command_state(self, device_id: str, transaction_id: str) -> CommandState | None:
        """One command sent to this device, with its acks; None for another device's."""
        ...

    def recent_commands(self, device_id: str, limit: int = 10) -> list[CommandState]:
        """The newest commands sent to a device, newest first, with their acks."""
        ...

    def device_settings(self, device_id: str) -> DeviceSettings | None:
        """The server's settings for a printer; None while nobody has set any."""
        ...

    def set_downtime_logging(self, device_id: str, enabled: bool, user_id: int | None,
                             now: float) -> None:
        """Store the per-printer switch; it counts as not sent until mark_settings_sent."""
        ...

    def mark_settings_sent(self, device_id: str, transaction_id: str, now: float) -> None:
        """Record the configure command that carries the current settings."""
        ...

    def settings_to_deliver(self, resend_before: float) -> list[DeviceSettings]:
        """Settings of online printers to send: never sent, or sent before resend_before and
        neither finished nor failed (lost, or rejected as expired, while the printer was away)."""
        ...


class PrinterPageQueries(SharedQueries):
    """PrinterPageStore on whichever store this is mixed into."""

    def latest_facts(self, device_id: str) -> DeviceFacts | None:
        rows = self._run("SELECT device_id, seq, ts, received_at, facts_json FROM device_facts "
                         "WHERE device_id = ? ORDER BY seq DESC LIMIT 1", (device_id,))
        if not rows:
            return None
        device, seq, ts, received_at, facts_json = rows[0]
        return DeviceFacts(device, int(seq), float(ts), float(received_at), json.loads(facts_json))

    def command_state(self, device_id: str, transaction_id: str) -> CommandState | None:
        rows = self._run(f"SELECT {_COMMAND_COLUMNS} FROM device_commands "
                         "WHERE device_id = ? AND transaction_id = ?", (device_id, transaction_id))
        return self._with_acks(device_id, rows)[0] if rows else None

    def recent_commands(self, device_id: str, limit: int = 10) -> list[CommandState]:
        rows = self._run(f"SELECT {_COMMAND_COLUMNS} FROM device_commands WHERE device_id = ? "
                         "ORDER BY issued_at DESC, transaction_id LIMIT ?", (device_id, limit))
        return self._with_acks(device_id, rows)

    def _with_acks(self, device_id: str, rows: list[tuple]) -> list[CommandState]:
        if not rows:
            return []
        transactions = [row[0] for row in rows]
        marks = ", ".join("?" for _ in transactions)
        acks: dict[str, list[AckRow]] = {t: [] for t in transactions}
        for transaction, status, ts, received_at, data, error in self._run(
                "SELECT transaction_id, status, ts, received_at, data_json, error "
                f"FROM command_acks WHERE device_id = ? AND transaction_id IN ({marks}) "
                "ORDER BY seq", (device_id, *transactions)):
            acks[transaction].append(AckRow(status, float(ts), float(received_at),
                                            None if data is None else json.loads(data), error))
        return [CommandState(t, device, user, kind, json.loads(args), float(issued),
                             float(expires), acks[t])
                for t, device, user, kind, args, issued, expires in rows]

    def device_settings(self, device_id: str) -> DeviceSettings | None:
        rows = self._run(f"SELECT {_SETTING_COLUMNS} FROM device_settings WHERE device_id = ?",
                         (device_id,))
        return self._settings(rows[0]) if rows else None

    def set_downtime_logging(self, device_id: str, enabled: bool, user_id: int | None,
                             now: float) -> None:
        self._run("INSERT INTO device_settings (device_id, downtime_logging, changed_at, "
                  "changed_by) VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                  "downtime_logging = excluded.downtime_logging, changed_at = excluded.changed_at, "
                  "changed_by = excluded.changed_by, sent_transaction = NULL, sent_at = NULL",
                  (device_id, int(enabled), now, user_id))

    def mark_settings_sent(self, device_id: str, transaction_id: str, now: float) -> None:
        self._run("UPDATE device_settings SET sent_transaction = ?, sent_at = ? "
                  "WHERE device_id = ?", (transaction_id, now, device_id))

    def settings_to_deliver(self, resend_before: float) -> list[DeviceSettings]:
        columns = ", ".join(f"s.{c.strip()}" for c in _SETTING_COLUMNS.split(","))
        rows = self._run(
            f"SELECT {columns} FROM device_settings s JOIN device_state d USING (device_id) "
            "JOIN devices v USING (device_id) WHERE d.presence = 'online' AND "
            "v.revoked_at IS NULL AND (s.sent_transaction IS NULL OR (s.sent_at < ? AND "
            "NOT EXISTS (SELECT 1 FROM command_acks a WHERE a.device_id = s.device_id AND "
            "a.transaction_id = s.sent_transaction AND a.status IN ('finished', 'failed')))) "
            "ORDER BY s.device_id", (resend_before,))
        return [self._settings(row) for row in rows]

    def _settings(self, row: tuple) -> DeviceSettings:
        device_id, enabled, changed_at, changed_by, transaction, sent_at = row
        applied, error = "not_sent", None
        if transaction is not None:
            command = self.command_state(device_id, transaction)
            applied = "pending" if command is None else command.status
            last = None if command is None else command.last_ack
            error = None if last is None else last.error
        return DeviceSettings(device_id, bool(enabled), float(changed_at), changed_by,
                              transaction, None if sent_at is None else float(sent_at),
                              applied, error)
