"""The seam through which queries written once run on both backends.

Shared query mixins write their SQL with ``?`` placeholders (never inside
literals) and portable syntax; each store provides ``_sql_tx()``, a
transaction yielding an SqlRunner (PostgreSQL swaps in ``%s``), and may
provide ``_sql_read()`` for reads: on SQLite a write transaction takes the
file's write lock, so reads must not wait behind a busy ingest worker.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class UniqueViolation(Exception):
    """A statement broke a unique index; each backend's runner raises this for its own error."""


class SqlRunner(Protocol):
    def run(self, sql: str, params: tuple) -> tuple[list[tuple[Any, ...]], int]:
        """Run one statement; return its rows and row count (UniqueViolation on a duplicate)."""
        ...


class SharedQueries:
    """Base of the shared query mixins; the store it is mixed into provides `_sql_tx()`."""

    def _sql_tx(self) -> AbstractContextManager[SqlRunner]:
        raise NotImplementedError

    def _sql_read(self) -> AbstractContextManager[SqlRunner]:
        """A transaction that only reads (a consistent snapshot where the backend has one)."""
        return self._sql_tx()

    def _run(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction and return its rows."""
        reads = sql.lstrip()[:6].upper() == "SELECT"
        with (self._sql_read() if reads else self._sql_tx()) as tx:
            return tx.run(sql, params)[0]
