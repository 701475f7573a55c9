"""The seam through which queries written once run on both backends.

Shared query mixins write their SQL with ``?`` placeholders (never inside
literals) and portable syntax; each store provides ``_sql_tx()``, a
transaction yielding an SqlRunner (PostgreSQL swaps in ``%s``).
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

    def _run(self, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction and return its rows."""
        with self._sql_tx() as tx:
            return tx.run(sql, params)[0]
