"""A per-device sequence number that survives restarts and power cuts."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

# Numbers are reserved in blocks so the SD card sees one synced write per
# block, not one per message. After a crash the unused rest of a block is
# skipped: numbers stay unique and increasing, never reused.
BLOCK = 100


class SequenceCounter:
    """Hands out increasing numbers; thread-safe."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._next = 0
        self._reserved_until = 0

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS sequence (id INTEGER PRIMARY KEY CHECK "
                         "(id = 1), reserved_until INTEGER NOT NULL)")
        row = self._db.execute("SELECT reserved_until FROM sequence WHERE id = 1").fetchone()
        self._next = self._reserved_until = row[0] if row else 0

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def next(self) -> int:
        """Return the next number, reserving a new block on disk when needed."""
        with self._lock:
            if self._next >= self._reserved_until:
                self._reserve(self._next + BLOCK)
            value = self._next
            self._next += 1
            return value

    def _reserve(self, until: int) -> None:
        assert self._db is not None, "open() the counter first"
        self._db.execute("INSERT INTO sequence (id, reserved_until) VALUES (1, ?) "
                         "ON CONFLICT(id) DO UPDATE SET reserved_until = excluded.reserved_until",
                         (until,))
        self._reserved_until = until
