"""The sync side of the PostgreSQL backend: migrations, accounts, registry, reads."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ..charts import Flavour
from ..data_exports import PostgresCatalog
from ..derived import DerivedReads
from ..downtime_switch import LOGGING_ON_FOR
from ..erasure_scan import POSTGRES_CATALOG
from ..interface import TIME_SERIES_TABLES, EmailTaken, PrinterRow, RejectRow, User
from ..job_queries import backfill_print_jobs
from ..orgs import PRINTER_ROLE, printer_scope
from ..retention import DEVICES_WITH_DATA, RetentionPolicy, delete_expired
from ..rollups import rebuild_statements, rebuild_window
from ..shared_sql import SqlRunner, UniqueViolation
from ..shared_store import SharedStoreQueries
from .commands import CommandQueries
from .connection import (
    CONNECT_TIMEOUT_S,
    POOL_WAIT_S,
    RECONNECT_TIMEOUT_S,
    PostgresUnavailable,
    ServerMode,
    check_server,
    connect,
    describe,
    lost_server,
    pool_kwargs,
    server_mode,
    unavailable,
)
from .erasure_timescale import TimescaleErasure
from .migrate import apply_migrations, migration_lock
from .pairing import PairingQueries
from .retention_chunks import TimescaleRetention
from .timescale import (
    TimescalePolicy,
    apply_policies,
    convert_new_tables,
    convert_to_timescale,
    refresh_aggregates,
)
from .web_sessions import WebSessionQueries

logger = logging.getLogger(__name__)

# COLLATE "C" wherever order is visible: byte order, as SQLite sorts text.
_PRINTERS = """SELECT d.device_id, d.name, COALESCE(s.presence, 'offline') AS presence,
    s.last_seen_at, s.printer_state, s.heaters_json, s.progress_pct, s.time_left_s,
    s.job_file_name, s.job_status, s.telemetry_ts, d.owner_org_id AS org_id, {role} AS role
    FROM devices d LEFT JOIN device_state s USING (device_id) {join}
    WHERE d.revoked_at IS NULL {filter}
    ORDER BY d.name COLLATE "C", d.device_id COLLATE "C"
"""

# What fleet_overview runs (`printfleet bench queries` runs it directly too).
FLEET_OVERVIEW_SQL = _PRINTERS.format(role="NULL", join="", filter="")
# A user's printers: their own and their organisations' (parameters: the user id twice).
_SCOPE_JOIN, _SCOPE_FILTER = printer_scope("%s")
_USER_PRINTERS = _PRINTERS.format(role=PRINTER_ROLE, join=_SCOPE_JOIN, filter=_SCOPE_FILTER)
_USER_PRINTER = _PRINTERS.format(role=PRINTER_ROLE, join=_SCOPE_JOIN,
                                 filter=_SCOPE_FILTER + " AND d.device_id = %s")

_UPSERT_DEVICE = """INSERT INTO devices (device_id, owner_user_id, name, mqtt_password_hash,
    created_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE SET
    owner_user_id = excluded.owner_user_id, owner_org_id = NULL, name = excluded.name,
    mqtt_password_hash = excluded.mqtt_password_hash, revoked_at = NULL"""

# Locked in device_id order, the order ingest locks them in (no deadlock);
# a device heard from while we waited no longer matches and is skipped.
_SILENT = """SELECT device_id FROM device_state WHERE presence = 'online'
    AND last_seen_at < %s - %s * COALESCE(heartbeat_interval_s, %s)
    ORDER BY device_id FOR UPDATE"""


class PostgresSyncStore(
    PairingQueries,
    CommandQueries,
    WebSessionQueries,
    TimescaleRetention,
    PostgresCatalog,
    TimescaleErasure,
    SharedStoreQueries,
    DerivedReads,
):
    """A connection pool shared by the threads of the web server, scheduler or a command."""

    _camera_time_column = True
    _catalog_sql = POSTGRES_CATALOG

    def __init__(self, dsn: str, pool_min: int = 1, pool_max: int = 10,
                 timescaledb: str = "auto", policy: TimescalePolicy | None = None) -> None:
        self._dsn = dsn
        self._timescaledb = timescaledb
        self._policy = policy or TimescalePolicy()
        self._pool_min = pool_min
        self._pool_max = pool_max
        self._pool: ConnectionPool | None = None
        self._mode: ServerMode | None = None

    def start(self) -> None:
        """Check the server, then open the connection pool."""
        if self._pool is not None:
            return
        mode = check_server(self._dsn)
        pool = ConnectionPool(self._dsn, min_size=self._pool_min, max_size=self._pool_max,
                              kwargs=pool_kwargs("sync"), open=False,
                              check=ConnectionPool.check_connection, name="printfleet-sync",
                              timeout=POOL_WAIT_S, reconnect_timeout=RECONNECT_TIMEOUT_S)
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as error:
            raise unavailable(self._dsn, error) from error
        self._pool = pool
        self._mode = mode
        logger.info("store on %s: %s", describe(self._dsn), mode)

    def stop(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """Lend a pooled connection; losing the server raises PostgresUnavailable."""
        if self._pool is None:
            raise RuntimeError("start() the store first")
        try:
            with self._pool.connection() as connection:
                yield connection
        except Exception as error:
            if lost_server(error):
                raise unavailable(self._dsn, error) from error
            raise

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        with self._connection() as connection, connection.transaction():
            yield connection

    @contextmanager
    def _sql_tx(self) -> Iterator[SqlRunner]:
        with self._transaction() as tx:
            yield _PostgresRunner(tx)

    def _rows(self, query: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        with self._connection() as connection:
            return connection.execute(query, params).fetchall()

    def _dicts(self, query: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self._connection() as connection:
            return connection.cursor(row_factory=dict_row).execute(query, params).fetchall()

    def migrate(self) -> list[int]:
        """Apply the numbered migrations, then TimescaleDB mode where it is wanted and possible."""
        with connect(self._dsn) as connection:
            applied = apply_migrations(connection)
            if applied:
                with connection.transaction():
                    backfill_print_jobs(_PostgresRunner(connection))
            with migration_lock(connection):
                mode = server_mode(connection)
                if not mode.timescale and self._timescaledb != "off":
                    if mode.timescale_possible:
                        convert_to_timescale(connection)
                    elif self._timescaledb == "on":
                        raise PostgresUnavailable(
                            f"storage.timescaledb is 'on' but {describe(self._dsn)} cannot "
                            f"use TimescaleDB: {mode}")
                elif mode.timescale and self._timescaledb == "off":
                    raise PostgresUnavailable(
                        "storage.timescaledb is 'off' but this database already uses "
                        "TimescaleDB hypertables (a conversion cannot be undone)")
                mode = server_mode(connection)
                if mode.timescale:
                    convert_new_tables(connection)
                    apply_policies(connection, self._policy)
            if self._pool is not None:
                self._mode = mode
            logger.info("storage mode: %s", mode)
            return applied

    # Accounts
    def create_user(self, email: str, password_hash: str, first_name: str = "",
                    last_name: str = "") -> int:
        try:
            with self._transaction() as tx:
                row = tx.execute(
                    "INSERT INTO users (email, password_hash, first_name, last_name, created_at) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (email, password_hash, first_name, last_name, time.time())).fetchone()
        except psycopg.errors.UniqueViolation as error:
            raise EmailTaken(email) from error
        assert row is not None
        return int(row[0])

    def update_user_profile(self, user_id: int, email: str, first_name: str,
                            last_name: str) -> bool:
        try:
            with self._transaction() as tx:
                cursor = tx.execute(
                    "UPDATE users SET email = %s, first_name = %s, last_name = %s WHERE id = %s",
                    (email, first_name, last_name, user_id))
        except psycopg.errors.UniqueViolation as error:
            raise EmailTaken(email) from error
        return cursor.rowcount == 1

    def user_by_email(self, email: str) -> User | None:
        return self._user("lower(email) = lower(%s)", email)

    def user_by_id(self, user_id: int) -> User | None:
        return self._user("id = %s", user_id)

    def _user(self, where: str, value: Any) -> User | None:
        rows = self._dicts("SELECT id, email, password_hash, first_name, last_name FROM users "
                           f"WHERE {where}", (value,))
        return User(**rows[0]) if rows else None

    # Device registry
    def add_device(self, device_id: str, name: str, owner_user_id: int | None,
                   mqtt_password_hash: str) -> None:
        with self._transaction() as tx:
            tx.execute(_UPSERT_DEVICE,
                       (device_id, owner_user_id, name, mqtt_password_hash, time.time()))

    def revoke_device(self, device_id: str) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE devices SET mqtt_password_hash = NULL, revoked_at = %s "
                "WHERE device_id = %s AND revoked_at IS NULL", (time.time(), device_id))
            return cursor.rowcount == 1

    def set_device_password(self, device_id: str, mqtt_password_hash: str) -> bool:
        with self._transaction() as tx:
            cursor = tx.execute(
                "UPDATE devices SET mqtt_password_hash = %s WHERE device_id = %s "
                "AND revoked_at IS NULL", (mqtt_password_hash, device_id))
            return cursor.rowcount == 1

    def device_password_hash(self, device_id: str) -> str | None:
        rows = self._rows("SELECT mqtt_password_hash FROM devices WHERE device_id = %s "
                          "AND revoked_at IS NULL", (device_id,))
        return rows[0][0] if rows else None

    def broker_credentials(self) -> list[tuple[str, str]]:
        rows = self._rows("SELECT device_id, mqtt_password_hash FROM devices WHERE revoked_at "
                          'IS NULL AND mqtt_password_hash IS NOT NULL ORDER BY device_id COLLATE "C"')
        return [(row[0], row[1]) for row in rows]

    # Reads
    def printers_for_user(self, user_id: int) -> list[PrinterRow]:
        rows = self._dicts(_USER_PRINTERS, (user_id, user_id))
        return [_printer_row(row) for row in rows]

    def printer_for_user(self, user_id: int, device_id: str) -> PrinterRow | None:
        rows = self._dicts(_USER_PRINTER, (user_id, user_id, device_id))
        return _printer_row(rows[0]) if rows else None

    def fleet_overview(self) -> list[PrinterRow]:
        return [_printer_row(row) for row in self._dicts(FLEET_OVERVIEW_SQL)]

    def device_created_at(self, device_id: str) -> float | None:
        rows = self._rows("SELECT created_at FROM devices WHERE device_id = %s", (device_id,))
        return float(rows[0][0]) if rows else None

    def recent_rejects(self, limit: int = 100) -> list[RejectRow]:
        rows = self._dicts("SELECT received_at, topic, device_id, reason, detail, payload_size, "
                           "payload_excerpt FROM rejected_messages ORDER BY id DESC LIMIT %s",
                           (limit,))
        return [RejectRow(**row) for row in rows]

    def reject_counts(self) -> dict[str, int]:
        rows = self._rows("SELECT reason, COUNT(*) FROM rejected_messages GROUP BY reason "
                          'ORDER BY reason COLLATE "C"')
        return {row[0]: row[1] for row in rows}

    def apply_retention(self, now: float, policy: RetentionPolicy) -> dict[str, int]:
        if self._mode is not None and self._mode.timescale:
            return self._drop_chunks(now, policy)
        devices = [row[0] for row in self._rows(DEVICES_WITH_DATA)]
        return delete_expired(policy, now, devices, "%s", self._delete_alone)

    def _delete_alone(self, statement: str, params: tuple) -> int:
        with self._transaction() as tx:
            return int(tx.execute(statement, params).rowcount)

    def _drop_chunks(self, now: float, policy: RetentionPolicy) -> dict[str, int]:
        """Run the retention policies now: whole chunks go, counted in rows."""
        removed = {}
        with self._connection() as connection:
            cutoffs = policy.cutoffs(now)
            # Materialize what is about to go first: rows that arrived late,
            # outside the refresh policy's window, must reach the rollups.
            for view in ("telemetry_1m", "telemetry_1h"):
                connection.execute("CALL refresh_continuous_aggregate(%s, NULL, to_timestamp(%s))",
                                   (view, cutoffs["telemetry"]))
            for relation, cutoff in cutoffs.items():
                chunks = connection.execute(
                    "SELECT show_chunks(%s, older_than => to_timestamp(%s))",
                    (relation, cutoff)).fetchall()
                rows = 0
                for (chunk,) in chunks:
                    counted = connection.execute(f"SELECT count(*) FROM {chunk}").fetchone()
                    rows += int(counted[0]) if counted else 0
                connection.execute("SELECT drop_chunks(%s, older_than => to_timestamp(%s))",
                                   (relation, cutoff))
                removed[relation] = rows
        return removed

    @property
    def chart_flavour(self) -> Flavour:
        return "timescale" if self._mode is not None and self._mode.timescale else "postgres"

    def query_rows(self, sql: str, params: tuple) -> list[tuple]:
        return self._rows(sql, params)

    def rebuild_rollups(self, since: float, until: float,
                        device_ids: Sequence[str] | None = None) -> None:
        since, until = rebuild_window(since, until)
        if self.chart_flavour == "timescale":
            refresh_aggregates(self._dsn, since, until)
            return
        if device_ids is None:
            device_ids = [row[0] for row in self._rows(
                'SELECT device_id FROM devices ORDER BY device_id COLLATE "C"')]
        statements = rebuild_statements("postgres")
        for device_id in device_ids:
            # A transaction per device: ingest waits on one device's buckets, not all.
            with self._transaction() as tx:
                for statement in statements:
                    tx.execute(statement, (device_id, since, until))

    def table_rows(self, table: str, device_id: str) -> list[dict[str, Any]]:
        if table not in TIME_SERIES_TABLES:
            raise ValueError(f"{table!r} is not a time-series table")
        # SQLite puts NULL seqs (watchdog presence events) first, in insert order.
        tiebreak = ", id" if table == "presence_events" else ""
        rows = self._dicts(f"SELECT * FROM {table} WHERE device_id = %s "
                           f"ORDER BY seq NULLS FIRST{tiebreak}", (device_id,))
        for row in rows:
            row.pop("time", None)  # ts as timestamptz, for partitioning; SQLite has none
        return rows

    # Presence watchdog
    def mark_silent_devices_offline(self, now: float, silence_factor: float,
                                    default_interval_s: float) -> list[str]:
        with self._transaction() as tx:
            silent = [row[0] for row in tx.execute(
                _SILENT, (now, silence_factor, default_interval_s)).fetchall()]
            if silent:
                cursor = tx.cursor()
                cursor.executemany(
                    "UPDATE device_state SET presence = 'offline', presence_source = 'watchdog', "
                    "presence_changed_at = %s, last_offline_at = %s WHERE device_id = %s",
                    [(now, now, device_id) for device_id in silent])
                # Into the history only if the printer's downtime logging is on.
                cursor.executemany(
                    "INSERT INTO presence_events (device_id, seq, ts, received_at, status, "
                    "source, time) SELECT %s, NULL, %s, %s, 'offline', 'watchdog', "
                    f"to_timestamp(%s) WHERE {LOGGING_ON_FOR.replace('?', '%s')}",
                    [(device_id, now, now, now, device_id) for device_id in silent])
        return silent


def _printer_row(values: dict[str, Any]) -> PrinterRow:
    values["heaters"] = json.loads(values.pop("heaters_json") or "{}")
    return PrinterRow(**values)


class _PostgresRunner:
    """Runs the shared queries, written with ? placeholders (none sit in literals)."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def run(self, sql: str, params: tuple) -> tuple[list[tuple[Any, ...]], int]:
        try:
            cursor = self._connection.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
        except psycopg.errors.UniqueViolation as error:
            raise UniqueViolation(str(error)) from error
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.rowcount
