"""Erasure of an account: every table's rule, and the one transaction that applies them.

Every table the migrations create is named in ``TABLE_RULES`` with what
erasure does to it (tests/storage/test_erasure_rules.py fails for a table
without one). The user's own printers go with everything they recorded;
records an organisation owns keep only a pseudonym: a users row named
"erased-user-<random>" that can never sign in. Files on disk are removed by
the caller (printfleet/erasure.py) from the paths this returns. The SQL is
written once with ``?`` placeholders (see shared_sql.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from .erasure_scan import ErasureReceipt, ErasureScanQueries, ErasureScanStore
from .shared_sql import SqlRunner

DEVICE = "delete the rows of the user's own printers"
USER = "delete the user's rows"
PSEUDONYM = "organisation-owned rows: the user's id becomes the pseudonym's"
NOTHING = "holds nothing about a user"

TABLE_RULES: dict[str, str] = {
    "users": "deleted; a pseudonym row (no email, no name, no password) takes its place "
             "in organisation-owned records",
    "devices": DEVICE + " (their MQTT credentials are revoked first)",
    "device_state": DEVICE, "telemetry": DEVICE, "telemetry_1m": DEVICE,
    "telemetry_1h": DEVICE, "job_events": DEVICE, "presence_events": DEVICE,
    "heartbeats": DEVICE, "downtime_reports": DEVICE, "device_facts": DEVICE,
    "command_acks": DEVICE, "rejected_messages": DEVICE,
    "camera_frames": DEVICE + "; their picture files are removed",
    "notification_events": DEVICE,
    "pending_devices": USER + " (claimed by the user) and " + DEVICE,
    "device_commands": DEVICE + "; " + PSEUDONYM,
    "device_settings": DEVICE + "; " + PSEUDONYM,
    "print_jobs": DEVICE + "; " + PSEUDONYM,
    "pairing_failures": USER, "web_sessions": USER, "page_views": USER + " (by session)",
    "login_failures": USER + " (by email and by the IPs of the user's sessions)",
    "password_reset_requests": USER + " (by email and by the IPs of the user's sessions)",
    "file_entries": USER + "; their file contents are removed",
    "api_tokens": USER, "password_reset_tokens": USER, "notification_settings": USER,
    "webhooks": USER, "notification_deliveries": USER,
    "notification_attempts": USER + " (with their deliveries)",
    "actions": USER + " (personal); organisation actions keep the pseudonym, without IP "
               "or place, and the user's email in summaries becomes the pseudonym",
    "org_members": USER + " (the last owner must hand over or delete the organisation)",
    "org_invitations": USER + " (sent to the user's email); " + PSEUDONYM,
    "organisations": "the user's email or full name as contact is blanked",
    "notification_scans": NOTHING, "retention_runs": NOTHING, "schema_migrations": NOTHING,
    "erasure_receipts": "the receipt: hashes only, never the email",
    "data_exports": USER + "; their ZIP files are removed",
}

# Integer columns naming a user. The scan looks for the user's id in these;
# tests/storage/test_erasure_rules.py fails for a user column not listed.
USER_ID_COLUMNS: tuple[tuple[str, str], ...] = (
    ("users", "id"), ("devices", "owner_user_id"), ("pending_devices", "claimed_by"),
    ("pairing_failures", "user_id"), ("device_commands", "user_id"),
    ("web_sessions", "user_id"), ("file_entries", "owner_user_id"), ("api_tokens", "user_id"),
    ("password_reset_tokens", "user_id"), ("notification_settings", "user_id"),
    ("webhooks", "user_id"), ("notification_deliveries", "user_id"), ("actions", "user_id"),
    ("actions", "undone_by"), ("org_members", "user_id"), ("org_invitations", "invited_by"),
    ("org_invitations", "accepted_by"), ("device_settings", "changed_by"),
    ("print_jobs", "started_by_user_id"), ("data_exports", "user_id"),
)

# Columns that look like user ids but are the receipt's own: the erased id is
# kept (as a bare number, with nothing else about the user) so the account can
# be checked by id after the erasure.
RECEIPT_COLUMNS = frozenset({("erasure_receipts", "erased_user_id"),
                             ("erasure_receipts", "pseudonym_user_id")})

# Tables keyed by device id that go with the user's printers, children first.
DEVICE_TABLES = ("device_state", "telemetry", "telemetry_1m", "telemetry_1h", "job_events",
                 "presence_events", "heartbeats", "downtime_reports", "device_facts",
                 "command_acks", "rejected_messages", "pending_devices", "device_commands",
                 "device_settings", "camera_frames", "print_jobs", "notification_events")
USER_TABLES = ("pairing_failures", "web_sessions", "api_tokens", "password_reset_tokens",
               "notification_settings", "notification_deliveries", "webhooks", "org_members")
PSEUDONYMISED = (("device_commands", "user_id"), ("device_settings", "changed_by"),
                 ("print_jobs", "started_by_user_id"), ("actions", "user_id"),
                 ("actions", "undone_by"), ("org_invitations", "invited_by"),
                 ("org_invitations", "accepted_by"))
PSEUDONYM_PASSWORD = "!erased"  # not an argon2 hash: nothing ever verifies against it


class LastOwner(ValueError):
    """The user is the last owner of organisations; erasure would orphan them."""

    def __init__(self, org_names: list[str]) -> None:
        names = ", ".join(f"“{name}”" for name in org_names)
        super().__init__(f"You are the last owner of {names}. Make another member an owner, "
                         "or delete the organisation, before deleting your account.")
        self.org_names = org_names


@dataclass(frozen=True, slots=True)
class ErasureTarget:
    """What identifies a user, read before the erasure (for the receipt and the scan)."""

    user_id: int
    email: str
    first_name: str
    last_name: str
    device_ids: list[str]
    ips: list[str]


@dataclass(slots=True)
class ErasureResult:
    """What one erasure did: rows per table, and files the caller must remove."""

    rows: dict[str, int] = field(default_factory=dict)
    pseudonym_user_id: int | None = None
    camera_paths: list[str] = field(default_factory=list)
    export_paths: list[str] = field(default_factory=list)


class ErasureStore(ErasureScanStore, Protocol):
    def erasure_target(self, user_id: int) -> ErasureTarget | None:
        """The user's identifiers (None: no such user)."""
        ...

    def last_owned_orgs(self, user_id: int) -> list[str]:
        """Names of organisations the user is the only owner of."""
        ...

    def erase_user(self, target: ErasureTarget, receipt: ErasureReceipt) -> ErasureResult:
        """Apply every table's rule and keep the receipt, in one transaction.

        Raises LastOwner, changing nothing, if it would leave an organisation without owner.
        """
        ...


def _marks(values: list) -> str:
    return ", ".join("?" for _ in values) or "NULL"


class ErasureQueries(ErasureScanQueries):
    """Account erasure, on whichever store this is mixed into."""

    def erasure_target(self, user_id: int) -> ErasureTarget | None:
        with self._sql_read() as tx:
            rows, _ = tx.run("SELECT email, first_name, last_name FROM users WHERE id = ?",
                             (user_id,))
            if not rows:
                return None
            devices, _ = tx.run(
                "SELECT device_id FROM devices WHERE owner_user_id = ? AND owner_org_id IS NULL "
                "UNION SELECT device_id FROM pending_devices WHERE claimed_by = ?",
                (user_id, user_id))
            ips, _ = tx.run("SELECT DISTINCT ip FROM web_sessions WHERE user_id = ? "
                            "UNION SELECT ip FROM actions WHERE user_id = ? AND ip <> ''",
                            (user_id, user_id))
        email, first, last = rows[0]
        return ErasureTarget(user_id, email, first, last, sorted(r[0] for r in devices),
                             sorted(r[0] for r in ips))

    def last_owned_orgs(self, user_id: int) -> list[str]:
        rows = self._run(
            "SELECT o.name FROM org_members m JOIN organisations o ON o.id = m.org_id "
            "WHERE m.user_id = ? AND m.role = 'owner' AND NOT EXISTS (SELECT 1 FROM org_members "
            "x WHERE x.org_id = m.org_id AND x.role = 'owner' AND x.user_id <> m.user_id) "
            "ORDER BY o.name", (user_id,))
        return [row[0] for row in rows]

    def erase_user(self, target: ErasureTarget, receipt: ErasureReceipt) -> ErasureResult:
        result = ErasureResult()
        pseudonym, now = receipt.pseudonym, receipt.erased_at
        with self._sql_tx() as tx:
            blocking = self.last_owned_orgs_in(tx, target.user_id)
            if blocking:
                raise LastOwner(blocking)
            self._erase_exports(tx, target, result)
            self._erase_devices(tx, target.device_ids, result)
            self._erase_user_rows(tx, target, result)
            self._pseudonymise(tx, target, pseudonym, now, result)
            self._count(result, "users", tx.run("DELETE FROM users WHERE id = ?",
                                                (target.user_id,))[1])
            self.insert_receipt(tx, replace(receipt, pseudonym_user_id=result.pseudonym_user_id))
        return result

    def last_owned_orgs_in(self, tx: SqlRunner, user_id: int) -> list[str]:
        """last_owned_orgs inside a running transaction, so the check and the erasure agree."""
        rows, _ = tx.run(
            "SELECT o.name FROM org_members m JOIN organisations o ON o.id = m.org_id "
            "WHERE m.user_id = ? AND m.role = 'owner' AND NOT EXISTS (SELECT 1 FROM org_members "
            "x WHERE x.org_id = m.org_id AND x.role = 'owner' AND x.user_id <> m.user_id)",
            (user_id,))
        return sorted(row[0] for row in rows)

    @staticmethod
    def _count(result: ErasureResult, table: str, rows: int) -> None:
        result.rows[table] = result.rows.get(table, 0) + max(rows, 0)

    def _erase_device_series(self, tx: SqlRunner, table: str, devices: list[str]) -> int:
        """Delete one device-keyed table's rows of these devices (TimescaleDB overrides)."""
        return tx.run(f"DELETE FROM {table} WHERE device_id IN ({_marks(devices)})",
                      tuple(devices))[1]

    def _erase_devices(self, tx: SqlRunner, devices: list[str], result: ErasureResult) -> None:
        if not devices:
            return
        marks, params = _marks(devices), tuple(devices)
        rows, _ = tx.run(f"SELECT path FROM camera_frames WHERE device_id IN ({marks})", params)
        result.camera_paths = [row[0] for row in rows]
        for table in DEVICE_TABLES:
            self._count(result, table, self._erase_device_series(tx, table, devices))
        self._count(result, "devices", tx.run(
            f"DELETE FROM devices WHERE device_id IN ({marks}) AND owner_org_id IS NULL",
            params)[1])

    def _erase_user_rows(self, tx: SqlRunner, target: ErasureTarget,
                         result: ErasureResult) -> None:
        uid = target.user_id
        self._count(result, "page_views", tx.run(
            "DELETE FROM page_views WHERE session_id IN "
            "(SELECT id FROM web_sessions WHERE user_id = ?)", (uid,))[1])
        self._count(result, "notification_attempts", tx.run(
            "DELETE FROM notification_attempts WHERE delivery_id IN "
            "(SELECT id FROM notification_deliveries WHERE user_id = ?)", (uid,))[1])
        for table in USER_TABLES:
            self._count(result, table, tx.run(f"DELETE FROM {table} WHERE user_id = ?",
                                              (uid,))[1])
        self._count(result, "pending_devices", tx.run(
            "DELETE FROM pending_devices WHERE claimed_by = ?", (uid,))[1])
        self._count(result, "actions", tx.run(
            "DELETE FROM actions WHERE user_id = ? AND org_id IS NULL", (uid,))[1])
        # Children before parents: a folder's entries name it.
        while True:
            _, removed = tx.run(
                "DELETE FROM file_entries WHERE owner_user_id = ? AND id NOT IN "
                "(SELECT parent_id FROM file_entries WHERE parent_id IS NOT NULL)", (uid,))
            self._count(result, "file_entries", removed)
            if removed <= 0:
                break
        ips = target.ips
        for table in ("login_failures", "password_reset_requests"):
            self._count(result, table, tx.run(
                f"DELETE FROM {table} WHERE lower(email) = lower(?) OR ip IN ({_marks(ips)})",
                (target.email, *ips))[1])
        self._count(result, "org_invitations", tx.run(
            "DELETE FROM org_invitations WHERE lower(email) = lower(?) AND accepted_at IS NULL",
            (target.email,))[1])
        full_name = f"{target.first_name} {target.last_name}".strip()
        self._count(result, "organisations", tx.run(
            "UPDATE organisations SET email = CASE WHEN lower(email) = lower(?) THEN '' "
            "ELSE email END, attention = CASE WHEN attention = ? AND ? <> '' THEN '' "
            "ELSE attention END WHERE lower(email) = lower(?) OR (attention = ? AND ? <> '')",
            (target.email, full_name, full_name, target.email, full_name, full_name))[1])

    def _pseudonymise(self, tx: SqlRunner, target: ErasureTarget, pseudonym: str, now: float,
                      result: ErasureResult) -> None:
        uid = target.user_id
        rows, _ = tx.run("INSERT INTO users (email, password_hash, first_name, last_name, "
                         "created_at) VALUES (?, ?, '', '', ?) RETURNING id",
                         (pseudonym, PSEUDONYM_PASSWORD, now))
        # Kept even when nothing names it: a tombstone above the erased id, so
        # SQLite (which reuses the highest rowid) never gives that id to someone new.
        pid = int(rows[0][0])
        for table, column in PSEUDONYMISED:
            _, changed = tx.run(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (pid, uid))
            self._count(result, table, changed)
        # Organisation actions keep what was done, not where from.
        tx.run("UPDATE actions SET ip = '', country = NULL, region = NULL, city = NULL "
               "WHERE user_id = ?", (pid,))
        # Others' actions about the user: the user is named by the pseudonym and
        # cannot be undone (the undo would name an account that is gone).
        _, changed = tx.run(
            "UPDATE actions SET target_id = ?, undo_json = NULL "
            "WHERE target_type = 'user' AND target_id = ?", (str(pid), str(uid)))
        self._count(result, "actions", changed)
        # An accepted invitation is the organisation's record of who joined.
        _, changed = tx.run("UPDATE org_invitations SET email = ? WHERE lower(email) = lower(?)",
                            (pseudonym, target.email))
        self._count(result, "org_invitations", changed)
        for needle in {target.email, target.email.lower()}:
            _, changed = tx.run("UPDATE actions SET summary = REPLACE(summary, ?, ?) "
                                "WHERE summary LIKE ?", (needle, pseudonym, f"%{needle}%"))
            self._count(result, "actions", changed)
        result.pseudonym_user_id = pid

    def _erase_exports(self, tx: SqlRunner, target: ErasureTarget,
                       result: ErasureResult) -> None:
        # data_exports comes with the export feature; until then there is none.
        columns = {c.name for c in self.table_columns_in(tx).get("data_exports", [])}
        if not {"user_id", "path"} <= columns:
            return
        rows, _ = tx.run("SELECT path FROM data_exports WHERE user_id = ?", (target.user_id,))
        result.export_paths = [row[0] for row in rows if row[0]]
        self._count(result, "data_exports", tx.run(
            "DELETE FROM data_exports WHERE user_id = ?", (target.user_id,))[1])
