"""The embedded SQLite backend: aiosqlite for ingest, sqlite3 for reads."""

from .ingest import SqliteIngestStore
from .sync_store import SqliteSyncStore

__all__ = ["SqliteIngestStore", "SqliteSyncStore"]
