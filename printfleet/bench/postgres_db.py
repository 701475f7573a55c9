"""A fresh PostgreSQL database for one bench run, on the server the settings point at."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import conninfo, sql

from printfleet.settings import Settings

from .processes import BenchError

# Where the bench's own database URL goes: the settings name a variable
# (secret by reference), and not a PRINTFLEET_* one, which would be read as a
# settings override.
BENCH_DSN_VARIABLE = "PF_BENCH_DATABASE_URL"


@contextmanager
def fresh_database(settings: Settings) -> Iterator[str]:
    """Create an empty database on the configured server, yield its URL, then drop it."""
    variable = settings.storage.postgres_dsn_env
    server = os.environ.get(variable, "").strip()
    if not server:
        raise BenchError(
            f"--backend postgres needs a PostgreSQL server: set {variable} (the variable "
            "storage.postgres_dsn_env names) to the URL of a user who may CREATE DATABASE, "
            "e.g. postgresql://postgres@127.0.0.1:5432/postgres. The bench creates a fresh "
            "database there and drops it afterwards.")
    name = f"printfleet_bench_{uuid.uuid4().hex[:12]}"
    _admin(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield conninfo.make_conninfo(server, dbname=name)
    finally:
        _admin(server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _admin(server: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BenchError(f"PostgreSQL at {_describe(server)}: {reason}") from error


def _describe(dsn: str) -> str:
    """Name a server without its password."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unparsable connection URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{parts.get('host') or 'local socket'}:{parts.get('port') or 5432}"


@contextmanager
def environment_variable(name: str, value: str) -> Iterator[None]:
    """Set a variable for this process and the children it starts, then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
