"""Reaching the PostgreSQL server: clear errors, pool options, the mode it runs in."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import conninfo
from psycopg_pool import PoolTimeout

from .. import BackendUnavailable

CONNECT_TIMEOUT_S = 10
# While the server is down the pool retries each lost connection with a
# doubling back-off (1, 2, 4, 8 s ...) until this timeout, then gives it up.
# psycopg_pool's default, 5 minutes, would leave the back-off at 32 s and
# more after a minute's outage, so the pool could go on waiting half a
# minute after the server is back. A short timeout restarts the back-off at
# 1 s with the next request for a connection.
RECONNECT_TIMEOUT_S = 5
# How long a request waits for a pooled connection before it reports the
# server unavailable (the pool keeps reconnecting meanwhile).
POOL_WAIT_S = 5


class PostgresUnavailable(BackendUnavailable):
    """The PostgreSQL server cannot be reached or refused the connection."""


def describe(dsn: str) -> str:
    """Name the server and database of a DSN without its password (for logs and errors)."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unparsable connection URL)"
    host = parts.get("host") or "local socket"
    port = parts.get("port") or 5432
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{parts.get('dbname') or ''}"


def pool_kwargs(role: str) -> dict[str, object]:
    """Connection options for a pool; the role shows in pg_stat_activity."""
    # Autocommit: writes open an explicit transaction, and a read costs one
    # round trip instead of BEGIN, query, COMMIT.
    return {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
            "fallback_application_name": f"printfleet-{role}"}


def lost_server(error: BaseException) -> bool:
    """Tell whether an error means the server is out of reach (down, restarting, refusing).

    Such errors pass once the server is back; a serialization failure or a
    deadlock (also OperationalError) is about the transaction, not the server.
    """
    if isinstance(error, PoolTimeout):
        return True
    return (isinstance(error, psycopg.OperationalError)
            and not isinstance(error, psycopg.errors.TransactionRollback))


def connect(dsn: str) -> psycopg.Connection:
    """Open one autocommit connection outside any pool (checks, migrations)."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as error:
        raise unavailable(dsn, error) from error


def unavailable(dsn: str, error: Exception) -> PostgresUnavailable:
    """Wrap a connection failure in an error that names the server, never the password."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return PostgresUnavailable(f"cannot connect to PostgreSQL at {describe(dsn)}: {reason}")


@dataclass(frozen=True)
class ServerMode:
    """What the server offers and how this database uses it."""

    server_version: int
    timescale_version: str | None   # installed in this database
    timescale_available: bool       # the extension's files are on the server
    timescale_preloaded: bool       # in shared_preload_libraries, so it can be created
    hypertables: bool               # Printfleet's time series are hypertables here

    @property
    def timescale(self) -> bool:
        """Whether storage runs in TimescaleDB mode (hypertables, aggregates, policies)."""
        return self.hypertables

    @property
    def timescale_possible(self) -> bool:
        return bool(self.timescale_version) or (self.timescale_available
                                                and self.timescale_preloaded)

    def __str__(self) -> str:
        version = f"{self.server_version // 10000}.{self.server_version % 10000}"
        if self.hypertables:
            return (f"TimescaleDB {self.timescale_version} on PostgreSQL {version} (hypertables, "
                    "compression, continuous aggregates, retention policies)")
        if self.timescale_possible:
            why = "TimescaleDB available, not enabled (storage.timescaledb)"
        elif self.timescale_available:
            why = "TimescaleDB installed but not in shared_preload_libraries"
        else:
            why = "no TimescaleDB"
        return (f"plain PostgreSQL {version} ({why}; rollup tables kept by the workers, "
                "retention by batched deletes)")


_MODE_QUERY = """SELECT
    (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
    current_setting('shared_preload_libraries') LIKE '%timescaledb%',
    to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL"""

_HYPERTABLE_QUERY = """SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable
    WHERE schema_name = current_schema() AND table_name = 'telemetry')"""


def check_server(dsn: str) -> ServerMode:
    """Connect once (fail fast, with the server's reason) and return the mode it runs in."""
    with connect(dsn) as connection:
        try:
            return server_mode(connection)
        except psycopg.Error as error:
            raise unavailable(dsn, error) from error


async def check_server_async(dsn: str) -> ServerMode:
    """Like check_server, without blocking the event loop."""
    try:
        async with await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as connection:
            row = await (await connection.execute(_MODE_QUERY)).fetchone()
            assert row is not None
            hypertables = False
            if row[3]:
                found = await (await connection.execute(_HYPERTABLE_QUERY)).fetchone()
                hypertables = bool(found and found[0])
            return _mode(connection.info.server_version, row, hypertables)
    except psycopg.Error as error:
        raise unavailable(dsn, error) from error


def server_mode(connection: psycopg.Connection) -> ServerMode:
    """Read what the server offers and whether this database uses TimescaleDB."""
    row = connection.execute(_MODE_QUERY).fetchone()
    assert row is not None
    hypertables = False
    if row[3]:
        found = connection.execute(_HYPERTABLE_QUERY).fetchone()
        hypertables = bool(found and found[0])
    return _mode(connection.info.server_version, row, hypertables)


def _mode(server_version: int, row: tuple, hypertables: bool) -> ServerMode:
    installed, available, preloaded, _ = row
    return ServerMode(server_version, installed, bool(available), bool(preloaded), hypertables)
