"""Connection settings shared by SQLite's async writer and sync readers."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

# WAL lets the web read while a worker writes; NORMAL sync is durable across
# application crashes and loses at most the last commits on power loss,
# which QoS 1 redelivery covers (the broker is acked only after commit).
BUSY_TIMEOUT_S = 10.0
PRAGMAS = (
    f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


def connect(path: Path) -> sqlite3.Connection:
    """Open a sync connection in autocommit mode with the shared pragmas."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        _execute_when_unlocked(connection, pragma)
    return connection


def _execute_when_unlocked(connection: sqlite3.Connection, statement: str) -> None:
    for delay in lock_retry_delays():
        try:
            connection.execute(statement)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or delay is None:
                raise
        time.sleep(delay)


def lock_retry_delays() -> Iterator[float | None]:
    """Back-off delays for a pragma that met "database is locked"; None = give up.

    Switching a new file to WAL answers "database is locked" at once, without
    waiting on busy_timeout, when several processes open it at the same moment
    (first start of a worker pool), so that wait is done by the caller.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while time.monotonic() < deadline:
        yield delay
        delay = min(delay * 2, 0.2)
    yield None
