"""Connection settings shared by SQLite's async writer and sync readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# WAL lets the web read while a worker writes; NORMAL sync is durable across
# application crashes and loses at most the last commits on power loss,
# which QoS 1 redelivery covers (the broker is acked only after commit).
# busy_timeout first: switching a new file to WAL takes a lock, and without
# a timeout a second process opening it at that moment fails at once.
PRAGMAS = (
    "PRAGMA busy_timeout = 10000",
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
        connection.execute(pragma)
    return connection
