"""A plain driver connection to the bench's database, beside the store: the "direct SQL" side."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import psycopg

from storage.rollups import Dialect


class DirectConnection(Protocol):
    dialect: Dialect

    def rows(self, sql: str, params: tuple | None = None) -> list[tuple]:
        """Run one statement and fetch every row."""
        ...

    def execute(self, sql: str, params: tuple | None = None) -> int:
        """Run one statement in a transaction of its own; return its row count."""
        ...

    def close(self) -> None: ...


class SqliteDirect:
    """sqlite3 with the defaults: no row factory, no store code in between."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.execute("PRAGMA busy_timeout = 10000")

    def rows(self, sql: str, params: tuple | None = None) -> list[tuple]:
        return self._connection.execute(sql, params or ()).fetchall()

    def execute(self, sql: str, params: tuple | None = None) -> int:
        # total_changes, not rowcount: rowcount is -1 for an INSERT led by WITH.
        before = self._connection.total_changes
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.execute(sql, params or ())
            count = self._connection.total_changes - before
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")
        return count

    def close(self) -> None:
        self._connection.close()


class PostgresDirect:
    """One autocommit psycopg connection, outside the store's pool.

    Statements without parameters go unparsed (params None), so the
    generated SQL may use % as the modulo operator.
    """

    dialect: Dialect = "postgres"

    def __init__(self, dsn: str) -> None:
        self._connection = psycopg.connect(dsn, autocommit=True)

    def rows(self, sql: str, params: tuple | None = None) -> list[tuple]:
        return self._connection.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple | None = None) -> int:
        return self._connection.execute(sql, params).rowcount

    def close(self) -> None:
        self._connection.close()
