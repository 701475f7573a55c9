"""A fresh PostgreSQL database per test, on the server the tests are given.

The server is PF_TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres
(scripts/ensure-postgres.sh provides that one). Not PRINTFLEET_TEST_POSTGRES:
the settings loader reads every PRINTFLEET_* variable as a setting, so such
a variable would break every `printfleet` command run in that shell.
An unreachable server fails the test; it is never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import conninfo, sql

from storage.postgres.connection import describe

SERVER_VARIABLE = "PF_TEST_POSTGRES_URL"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_dsn() -> str:
    return os.environ.get(SERVER_VARIABLE) or DEFAULT_SERVER


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database with a unique name, yield its DSN, then drop it."""
    server = server_dsn()
    name = f"printfleet_test_{uuid.uuid4().hex[:12]}"
    _admin(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield conninfo.make_conninfo(server, dbname=name)
    finally:
        # FORCE: a store a test forgot to stop must not keep the database alive.
        _admin(server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _admin(server: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {describe(server)} ({error}). The "
                    "PostgreSQL tests need a server: run scripts/ensure-postgres.sh, or point "
                    f"{SERVER_VARIABLE} at one where this user may CREATE DATABASE.",
                    pytrace=False)
