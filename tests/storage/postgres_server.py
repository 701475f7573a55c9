"""A fresh PostgreSQL database per test, on the server the tests are given.

The server is PF_TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres
(scripts/ensure-postgres.sh provides that one). Not PRINTFLEET_TEST_POSTGRES:
the settings loader reads every PRINTFLEET_* variable as a setting, so such
a variable would break every `printfleet` command run in that shell.
An unreachable server fails the test; it is never skipped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from storage.postgres.connection import PostgresUnavailable, connect, server_mode
from storage.postgres.scratch import ScratchUnavailable, scratch_database
from storage.postgres.timescale import PAUSE_POLICY_JOBS

SERVER_VARIABLE = "PF_TEST_POSTGRES_URL"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


# A server with TimescaleDB preloaded, for the TimescaleDB-mode tests. Unset:
# the default server, if it can use the extension; CI's plain PostgreSQL
# cannot, and there those tests are not collected (the plain-mode ones are).
TIMESCALE_VARIABLE = "PF_TEST_TIMESCALE_URL"


def server_dsn() -> str:
    return os.environ.get(SERVER_VARIABLE) or DEFAULT_SERVER


@functools.cache
def timescale_server() -> str | None:
    """The DSN of a server where Printfleet can run in TimescaleDB mode, or None."""
    candidate = os.environ.get(TIMESCALE_VARIABLE) or server_dsn()
    try:
        with connect(candidate) as connection:
            mode = server_mode(connection)
    except PostgresUnavailable:
        if os.environ.get(TIMESCALE_VARIABLE):
            raise
        return None
    if not mode.timescale_possible and os.environ.get(TIMESCALE_VARIABLE):
        raise RuntimeError(f"{TIMESCALE_VARIABLE} names a server without TimescaleDB: {mode}")
    return candidate if mode.timescale_possible else None


def backends() -> list[str]:
    """Every storage backend/mode these tests can run against here."""
    return ["sqlite", "postgres"] + (["timescale"] if timescale_server() else [])


@contextmanager
def fresh_database(server: str | None = None) -> Iterator[str]:
    """Create an empty database with a unique name, yield its DSN, then drop it."""
    server = server or server_dsn()
    try:
        with scratch_database(server, "printfleet_test") as dsn:
            yield dsn
    except ScratchUnavailable as error:
        pytest.fail(f"{error}. The PostgreSQL tests need a server: run "
                    f"scripts/ensure-postgres.sh, or point {SERVER_VARIABLE} at one where "
                    "this user may CREATE DATABASE.", pytrace=False)



def pause_timescale_jobs(dsn: str) -> None:
    """Stop the policy jobs (refresh, compression, retention backstop) of a test database.

    They run on TimescaleDB's own clock and would race the test: a backstop
    dropping its old chunks, a refresh holding a window the test refreshes.
    The tests call what the jobs would do themselves.
    """
    with connect(dsn) as connection:
        connection.execute(PAUSE_POLICY_JOBS)
