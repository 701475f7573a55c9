"""Apply PostgreSQL migrations: one transaction each, one migrating process at a time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ..migrations import migrations_for

logger = logging.getLogger(__name__)

# pg_advisory_lock key shared by every process migrating a Printfleet
# database ("printflt" in ASCII); any fixed 64-bit number would do.
MIGRATION_LOCK_KEY = 0x7072696E74666C74

_CREATE_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, title TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"""


@contextmanager
def migration_lock(connection: psycopg.Connection) -> Iterator[None]:
    """Hold the lock every process migrating this database takes (a session lock)."""
    connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        yield
    finally:
        _unlock(connection)


def apply_migrations(connection: psycopg.Connection) -> list[int]:
    """Apply pending migrations on a dedicated autocommit connection; return the versions.

    Use a connection of its own (never a pooled one): were unlocking to fail,
    closing it still releases the lock.
    """
    # A session lock, not a transaction one: it must span the ledger's
    # creation and every migration's own transaction. A second process
    # waits here, then finds the work done.
    with migration_lock(connection):
        connection.execute(_CREATE_LEDGER)
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations_for("postgres"):
            if migration.version in done:
                continue
            with connection.transaction():
                # No parameters: psycopg sends the file as one simple query,
                # so a migration may hold several statements.
                connection.execute(migration.sql)
                connection.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                                   (migration.version, migration.title, time.time()))
            logger.info("applied postgres migration %04d_%s", migration.version, migration.title)
            applied.append(migration.version)
        return applied


def _unlock(connection: psycopg.Connection) -> None:
    if connection.closed:
        return  # the server let go of the session, and of its lock
    try:
        connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    except psycopg.Error:
        logger.warning("could not release the migration lock; it ends with the connection")
