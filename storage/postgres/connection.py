"""Reaching the PostgreSQL server: clear errors, pool options, the mode it runs in."""

from __future__ import annotations

import psycopg
from psycopg import conninfo

from .. import BackendUnavailable

CONNECT_TIMEOUT_S = 10


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


def check_server(dsn: str) -> str:
    """Connect once (fail fast, with the server's reason) and return the mode it runs in."""
    with connect(dsn) as connection:
        try:
            return server_mode(connection)
        except psycopg.Error as error:
            raise unavailable(dsn, error) from error


async def check_server_async(dsn: str) -> str:
    """Like check_server, without blocking the event loop."""
    try:
        async with await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as connection:
            row = await (await connection.execute(_MODE_QUERY)).fetchone()
            return _mode(connection.info.server_version, row)
    except psycopg.Error as error:
        raise unavailable(dsn, error) from error


_MODE_QUERY = ("SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), "
               "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')")


def server_mode(connection: psycopg.Connection) -> str:
    """Say how storage uses this server: plain PostgreSQL until hypertables arrive."""
    return _mode(connection.info.server_version, connection.execute(_MODE_QUERY).fetchone())


def _mode(server_version: int, row: tuple | None) -> str:
    installed, available = row or (None, False)
    version = f"{server_version // 10000}.{server_version % 10000}"
    # TimescaleDB features (hypertables, compression, retention) are not used
    # yet: with or without the extension this backend runs plain PostgreSQL.
    if installed:
        timescale = f"TimescaleDB {installed} installed, not used yet"
    elif available:
        timescale = "TimescaleDB available, not used yet"
    else:
        timescale = "no TimescaleDB"
    return f"plain PostgreSQL {version} ({timescale})"
