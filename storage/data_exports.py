"""Data exports: their records, their queue, and reading a user's rows table by table.

The SQL is written once with ``?`` placeholders (see shared_sql.py); only
the catalogue (which tables exist, which columns they have) differs per
backend, in SqliteCatalog and PostgresCatalog.
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass
from typing import Any, Protocol

from .personal_data import Scope, TableRule
from .shared_sql import SharedQueries

_COLUMNS = ("id, user_id, status, progress_done, progress_total, created_at, started_at, "
            "finished_at, path, size_bytes, error")
# Statuses an export moves through; "ready" and "failed" are final.
QUEUED, RUNNING, READY, FAILED = "queued", "running", "ready", "failed"


@dataclass(frozen=True, slots=True)
class DataExport:
    id: int
    user_id: int
    status: str
    progress_done: int
    progress_total: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    path: str  # relative to <data_dir>/exports
    size_bytes: int | None
    error: str | None

    @property
    def percent(self) -> int:
        if self.status == READY:
            return 100
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0


def json_value(value: Any) -> Any:
    """A column value as JSON carries it (the same for the export and for comparing with it)."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


class DataExportStore(Protocol):
    def create_data_export(self, user_id: int, path: str, now: float) -> DataExport:
        """Queue an export for a user, or return the one already queued or running."""
        ...

    def data_export(self, user_id: int, export_id: int) -> DataExport | None:
        """One of the user's exports; None when it is not theirs."""
        ...

    def data_exports_for_user(self, user_id: int) -> list[DataExport]:
        """The user's exports, newest first."""
        ...

    def claim_data_export(self, now: float) -> DataExport | None:
        """Mark the oldest queued export running and return it (None: nothing queued)."""
        ...

    def requeue_running_exports(self) -> int:
        """Queue again exports left running by a process that stopped; return how many."""
        ...

    def record_export_progress(self, export_id: int, done: int, total: int) -> None: ...

    def finish_data_export(self, export_id: int, size_bytes: int, now: float) -> None: ...

    def fail_data_export(self, export_id: int, error: str, now: float) -> None: ...

    def export_scope(self, user_id: int, export_id: int = 0) -> Scope | None:
        """The identifiers a user's data is found by; None for an unknown user."""
        ...

    def table_names(self) -> list[str]:
        """Every table and view of the application's schema."""
        ...

    def table_columns(self, table: str) -> list[str]:
        """A table's columns in their order."""
        ...

    def count_personal_rows(self, rule: TableRule, scope: Scope) -> int: ...

    def personal_rows(self, rule: TableRule, scope: Scope, columns: list[str], limit: int,
                      offset: int) -> list[tuple[Any, ...]]:
        """A page of the table's rows about the user, in a stable order."""
        ...


class DataExportQueries(SharedQueries):
    """Exports and personal rows, on whichever store this is mixed into."""

    def create_data_export(self, user_id: int, path: str, now: float) -> DataExport:
        with self._sql_tx() as tx:
            rows, _ = tx.run(f"SELECT {_COLUMNS} FROM data_exports WHERE user_id = ? AND "
                             "status IN (?, ?) ORDER BY id LIMIT 1", (user_id, QUEUED, RUNNING))
            if rows:
                return DataExport(*rows[0])
            rows, _ = tx.run(f"INSERT INTO data_exports (user_id, status, created_at, path) "
                             f"VALUES (?, ?, ?, ?) RETURNING {_COLUMNS}",
                             (user_id, QUEUED, now, path))
            return DataExport(*rows[0])

    def data_export(self, user_id: int, export_id: int) -> DataExport | None:
        rows = self._run(f"SELECT {_COLUMNS} FROM data_exports WHERE id = ? AND user_id = ?",
                         (export_id, user_id))
        return DataExport(*rows[0]) if rows else None

    def data_exports_for_user(self, user_id: int) -> list[DataExport]:
        return [DataExport(*row) for row in self._run(
            f"SELECT {_COLUMNS} FROM data_exports WHERE user_id = ? ORDER BY id DESC",
            (user_id,))]

    def claim_data_export(self, now: float) -> DataExport | None:
        with self._sql_tx() as tx:
            rows, _ = tx.run(f"UPDATE data_exports SET status = ?, started_at = ? WHERE id = "
                             f"(SELECT min(id) FROM data_exports WHERE status = ?) "
                             f"AND status = ? RETURNING {_COLUMNS}", (RUNNING, now, QUEUED, QUEUED))
            return DataExport(*rows[0]) if rows else None

    def requeue_running_exports(self) -> int:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE data_exports SET status = ?, progress_done = 0 "
                              "WHERE status = ?", (QUEUED, RUNNING))
            return count

    def record_export_progress(self, export_id: int, done: int, total: int) -> None:
        self._run("UPDATE data_exports SET progress_done = ?, progress_total = ? WHERE id = ?",
                  (done, total, export_id))

    def finish_data_export(self, export_id: int, size_bytes: int, now: float) -> None:
        self._run("UPDATE data_exports SET status = ?, finished_at = ?, size_bytes = ?, "
                  "progress_done = progress_total WHERE id = ?",
                  (READY, now, size_bytes, export_id))

    def fail_data_export(self, export_id: int, error: str, now: float) -> None:
        self._run("UPDATE data_exports SET status = ?, finished_at = ?, error = ? WHERE id = ?",
                  (FAILED, now, error, export_id))

    def export_scope(self, user_id: int, export_id: int = 0) -> Scope | None:
        with self._sql_read() as tx:
            users, _ = tx.run("SELECT email FROM users WHERE id = ?", (user_id,))
            if not users:
                return None
            devices, _ = tx.run("SELECT device_id FROM devices WHERE owner_user_id = ? "
                                "ORDER BY device_id", (user_id,))
        return Scope(user_id, users[0][0], tuple(row[0] for row in devices), export_id)

    def count_personal_rows(self, rule: TableRule, scope: Scope) -> int:
        where, params = rule.where(scope)
        return int(self._run(f"SELECT count(*) FROM {rule.table} WHERE {where}", params)[0][0])

    def personal_rows(self, rule: TableRule, scope: Scope, columns: list[str], limit: int,
                      offset: int) -> list[tuple[Any, ...]]:
        where, params = rule.where(scope)
        # Every column in the order: the same page boundaries on every read.
        order = ", ".join(str(n) for n in range(1, len(columns) + 1))
        return self._run(f"SELECT {', '.join(columns)} FROM {rule.table} WHERE {where} "
                         f"ORDER BY {order} LIMIT ? OFFSET ?", (*params, limit, offset))


class SqliteCatalog(SharedQueries):
    """The schema's tables and columns as SQLite lists them."""

    def table_names(self) -> list[str]:
        return [row[0] for row in self._run(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]

    def table_columns(self, table: str) -> list[str]:
        return [row[0] for row in self._run("SELECT name FROM pragma_table_info(?) ORDER BY cid",
                                            (table,))]


class PostgresCatalog(SharedQueries):
    """The schema's tables, views and continuous aggregates as PostgreSQL lists them."""

    def table_names(self) -> list[str]:
        return [row[0] for row in self._run(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm') "
            "ORDER BY c.relname")]

    def table_columns(self, table: str) -> list[str]:
        return [row[0] for row in self._run(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?::text)::oid "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (table,))]
