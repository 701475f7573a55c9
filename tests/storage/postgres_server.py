"""A fresh PostgreSQL database per test, on the server the tests are given.

The server is PF_TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres
(scripts/ensure-postgres.sh provides that one). Not PRINTFLEET_TEST_POSTGRES:
the settings loader reads every PRINTFLEET_* variable as a setting, so such
a variable would break every `printfleet` command run in that shell.
An unreachable server fails the test; it is never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from storage.postgres.connection import PostgresUnavailable
from storage.postgres.scratch import scratch_database

SERVER_VARIABLE = "PF_TEST_POSTGRES_URL"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_dsn() -> str:
    return os.environ.get(SERVER_VARIABLE) or DEFAULT_SERVER


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database with a unique name, yield its DSN, then drop it."""
    server = server_dsn()
    created = False
    try:
        with scratch_database(server, "printfleet_test") as dsn:
            created = True
            yield dsn
    except PostgresUnavailable as error:
        if created:  # the caller's own error, or the drop: not a missing server
            raise
        pytest.fail(f"{error}. The PostgreSQL tests need a server: run "
                    f"scripts/ensure-postgres.sh, or point {SERVER_VARIABLE} at one where "
                    "this user may CREATE DATABASE.", pytrace=False)

