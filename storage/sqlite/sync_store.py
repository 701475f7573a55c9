"""The sync side of the SQLite backend: migrations, accounts, registry, reads."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..charts import Flavour
from ..data_exports import SqliteCatalog
from ..derived import DerivedReads
from ..downtime_switch import LOGGING_ON_FOR
from ..interface import TIME_SERIES_TABLES, EmailTaken, PrinterRow, RejectRow, User
from ..migrations import migrations_for
from ..orgs import PRINTER_ROLE, printer_scope
from ..retention import DEVICES_WITH_DATA, RetentionPolicy, delete_expired
from ..rollups import rebuild_statements, rebuild_window
from ..shared_sql import SqlRunner, UniqueViolation
from ..shared_store import SharedStoreQueries
from .commands import CommandQueries
from .connection import connect
from .pairing import PairingQueries
from .web_sessions import WebSessionQueries

logger = logging.getLogger(__name__)

_PRINTERS = """SELECT d.device_id, d.name, COALESCE(s.presence, 'offline') AS presence,
    s.last_seen_at, s.printer_state, s.heaters_json, s.progress_pct, s.time_left_s,
    s.job_file_name, s.job_status, s.telemetry_ts, d.owner_org_id AS org_id, {role} AS role
    FROM devices d LEFT JOIN device_state s USING (device_id) {join}
    WHERE d.revoked_at IS NULL {filter}
    ORDER BY d.name, d.device_id"""

# What fleet_overview runs (`printfleet bench queries` runs it directly too).
FLEET_OVERVIEW_SQL = _PRINTERS.format(role="NULL", join="", filter="")
# A user's printers: their own and their organisations' (parameters: the user id twice).
_SCOPE_JOIN, _SCOPE_FILTER = printer_scope("?")
_USER_PRINTERS = _PRINTERS.format(role=PRINTER_ROLE, join=_SCOPE_JOIN, filter=_SCOPE_FILTER)
_USER_PRINTER = _PRINTERS.format(role=PRINTER_ROLE, join=_SCOPE_JOIN,
                                 filter=_SCOPE_FILTER + " AND d.device_id = ?")


class SqliteSyncStore(
    PairingQueries,
    CommandQueries,
    WebSessionQueries,
    SqliteCatalog,
    SharedStoreQueries,
    DerivedReads,
):
    """One connection per thread, so a threaded web server can share the store."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._local = threading.local()

    def start(self) -> None:
        self._conn()

    def stop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _conn(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect(self._path)
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._conn()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def _sql_tx(self) -> Iterator[SqlRunner]:
        with self._transaction() as tx:
            yield _SqliteRunner(tx)

    @contextmanager
    def _sql_read(self) -> Iterator[SqlRunner]:
        # A deferred transaction that never writes takes no write lock: in WAL
        # mode it reads a snapshot while the ingest worker keeps committing.
        connection = self._conn()
        connection.execute("BEGIN")
        try:
            yield _SqliteRunner(connection)
        finally:
            connection.execute("COMMIT")

    def migrate(self) -> list[int]:
        connection = self._conn()
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "title TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations_for("sqlite"):
            if migration.version in done:
                continue
            with self._transaction() as tx:
                # Checked again under the write lock: another process may have
                # applied it since we looked.
                if tx.execute("SELECT 1 FROM schema_migrations WHERE version = ?",
                              (migration.version,)).fetchone():
                    continue
                for statement in _statements(migration.sql):
                    tx.execute(statement)
                tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                           (migration.version, migration.title, time.time()))
            logger.info("applied sqlite migration %04d_%s", migration.version, migration.title)
            applied.append(migration.version)
        if applied:
            self.backfill_print_jobs()
        return applied

    # Accounts
    def create_user(self, email: str, password_hash: str, first_name: str = "",
                    last_name: str = "") -> int:
        try:
            with self._transaction() as tx:
                cursor = tx.execute(
                    "INSERT INTO users (email, password_hash, first_name, last_name, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (email, password_hash, first_name, last_name, time.time()))
        except sqlite3.IntegrityError as error:
            raise EmailTaken(email) from error
        return int(cursor.lastrowid or 0)

    def update_user_profile(self, user_id: int, email: str, first_name: str,
                            last_name: str) -> bool:
        try:
            with self._transaction() as tx:
                cursor = tx.execute(
                    "UPDATE users SET email = ?, first_name = ?, last_name = ? WHERE id = ?",
                    (email, first_name, last_name, user_id))
        except sqlite3.IntegrityError as error:
            raise EmailTaken(email) from error
        return cursor.rowcount == 1

    def user_by_email(self, email: str) -> User | None:
        return self._user("email = ?", email)

    def user_by_id(self, user_id: int) -> User | None:
        return self._user("id = ?", user_id)

    def _user(self, where: str, value: Any) -> User | None:
        row = self._conn().execute(
            f"SELECT id, email, password_hash, first_name, last_name FROM users WHERE {where}",
            (value,)).fetchone()
        return User(**dict(row)) if row else None

    # Device registry
    def add_device(self, device_id: str, name: str, owner_user_id: int | None,
                   mqtt_password_hash: str) -> None:
        with self._transaction() as tx:
            tx.execute(
                "INSERT INTO devices (device_id, owner_user_id, name, mqtt_password_hash, "
                "created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
                "owner_user_id = excluded.owner_user_id, owner_org_id = NULL, name = excluded.name, "
                "mqtt_password_hash = excluded.mqtt_password_hash, revoked_at = NULL",
                (device_id, owner_user_id, name, mqtt_password_hash, time.time()))

    def revoke_device(self, device_id: str) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE devices SET mqtt_password_hash = NULL, revoked_at = ? "
                "WHERE device_id = ? AND revoked_at IS NULL", (time.time(), device_id))
        return cursor.rowcount == 1

    def set_device_password(self, device_id: str, mqtt_password_hash: str) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE devices SET mqtt_password_hash = ? WHERE device_id = ? "
                "AND revoked_at IS NULL", (mqtt_password_hash, device_id))
        return cursor.rowcount == 1

    def device_password_hash(self, device_id: str) -> str | None:
        row = self._conn().execute(
            "SELECT mqtt_password_hash FROM devices WHERE device_id = ? AND revoked_at IS NULL",
            (device_id,)).fetchone()
        return None if row is None else row[0]

    def broker_credentials(self) -> list[tuple[str, str]]:
        rows = self._conn().execute(
            "SELECT device_id, mqtt_password_hash FROM devices "
            "WHERE revoked_at IS NULL AND mqtt_password_hash IS NOT NULL ORDER BY device_id")
        return [(row[0], row[1]) for row in rows]

    # Reads
    def printers_for_user(self, user_id: int) -> list[PrinterRow]:
        rows = self._conn().execute(_USER_PRINTERS, (user_id, user_id))
        return [_printer_row(row) for row in rows]

    def printer_for_user(self, user_id: int, device_id: str) -> PrinterRow | None:
        row = self._conn().execute(_USER_PRINTER, (user_id, user_id, device_id)).fetchone()
        return None if row is None else _printer_row(row)

    def fleet_overview(self) -> list[PrinterRow]:
        return [_printer_row(row) for row in self._conn().execute(FLEET_OVERVIEW_SQL)]

    def device_created_at(self, device_id: str) -> float | None:
        row = self._conn().execute("SELECT created_at FROM devices WHERE device_id = ?",
                                   (device_id,)).fetchone()
        return None if row is None else float(row[0])

    def recent_rejects(self, limit: int = 100) -> list[RejectRow]:
        rows = self._conn().execute(
            "SELECT received_at, topic, device_id, reason, detail, payload_size, "
            "payload_excerpt FROM rejected_messages ORDER BY id DESC LIMIT ?", (limit,))
        return [RejectRow(**dict(row)) for row in rows]

    def reject_counts(self) -> dict[str, int]:
        rows = self._conn().execute(
            "SELECT reason, COUNT(*) FROM rejected_messages GROUP BY reason ORDER BY reason")
        return {row[0]: row[1] for row in rows}

    def apply_retention(self, now: float, policy: RetentionPolicy) -> dict[str, int]:
        devices = [row[0] for row in self._conn().execute(DEVICES_WITH_DATA)]
        return delete_expired(policy, now, devices, "?", self._delete_alone)

    def _delete_alone(self, statement: str, params: tuple) -> int:
        with self._transaction() as tx:
            return int(tx.execute(statement, params).rowcount)

    @property
    def chart_flavour(self) -> Flavour:
        return "sqlite"

    def query_rows(self, sql: str, params: tuple) -> list[tuple]:
        cursor = self._conn().cursor()
        cursor.row_factory = None  # plain tuples, not sqlite3.Row copied into tuples
        return cursor.execute(sql, params).fetchall()

    def rebuild_rollups(self, since: float, until: float,
                        device_ids: Sequence[str] | None = None) -> None:
        since, until = rebuild_window(since, until)
        if device_ids is None:
            device_ids = [row[0] for row in self._conn().execute(
                "SELECT device_id FROM devices ORDER BY device_id")]
        statements = rebuild_statements("sqlite")
        for device_id in device_ids:
            # A transaction per device: the workers wait for one device, not all.
            with self._transaction() as tx:
                for statement in statements:
                    tx.execute(statement, (device_id, since, until))

    def table_rows(self, table: str, device_id: str) -> list[dict[str, Any]]:
        if table not in TIME_SERIES_TABLES:
            raise ValueError(f"{table!r} is not a time-series table")
        rows = self._conn().execute(
            f"SELECT * FROM {table} WHERE device_id = ? ORDER BY seq", (device_id,))
        return [dict(row) for row in rows]

    # Presence watchdog
    def mark_silent_devices_offline(self, now: float, silence_factor: float,
                                    default_interval_s: float) -> list[str]:
        with self._transaction() as tx:
            silent = [row[0] for row in tx.execute(
                "SELECT device_id FROM device_state WHERE presence = 'online' AND "
                "last_seen_at < ? - ? * COALESCE(heartbeat_interval_s, ?)",
                (now, silence_factor, default_interval_s))]
            for device_id in silent:
                tx.execute("UPDATE device_state SET presence = 'offline', presence_source = "
                           "'watchdog', presence_changed_at = ?, last_offline_at = ? "
                           "WHERE device_id = ?", (now, now, device_id))
                # Into the history only if the printer's downtime logging is on.
                tx.execute("INSERT INTO presence_events (device_id, seq, ts, received_at, "
                           "status, source) SELECT ?, NULL, ?, ?, 'offline', 'watchdog' "
                           f"WHERE {LOGGING_ON_FOR}", (device_id, now, now, device_id))
        return silent


class _SqliteRunner:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def run(self, sql: str, params: tuple) -> tuple[list[tuple[Any, ...]], int]:
        try:
            cursor = self._connection.execute(sql, params)
        except sqlite3.IntegrityError as error:
            if str(error).startswith("UNIQUE constraint failed"):
                raise UniqueViolation(str(error)) from error
            raise
        rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        return rows, cursor.rowcount


def _printer_row(row: sqlite3.Row) -> PrinterRow:
    values = dict(row)
    values["heaters"] = json.loads(values.pop("heaters_json") or "{}")
    return PrinterRow(**values)


def _statements(sql: str) -> list[str]:
    """Split a migration on semicolons that end a line (no procedural SQL in SQLite)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";\n") if part.strip().strip(";")]
