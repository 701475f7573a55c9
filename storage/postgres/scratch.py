"""Throwaway databases: created empty on a server, dropped afterwards (tests and benchmarks)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import conninfo, sql

from .connection import PostgresUnavailable, describe


class ScratchUnavailable(PostgresUnavailable):
    """The scratch database could not be created: the server is missing or refuses."""


@contextmanager
def scratch_database(server: str, prefix: str) -> Iterator[str]:
    """Create an empty database named <prefix>_<random>, yield its URL, then drop it.

    Only a failure to create raises ScratchUnavailable, so callers can tell
    a missing server from an error of their own or of the drop.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        _admin(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except PostgresUnavailable as error:
        raise ScratchUnavailable(str(error)) from error
    try:
        yield conninfo.make_conninfo(server, dbname=name)
    finally:
        # FORCE: a store someone forgot to stop must not keep the database alive.
        _admin(server, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _admin(server: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PostgresUnavailable(f"PostgreSQL at {describe(server)}: {reason}") from error
