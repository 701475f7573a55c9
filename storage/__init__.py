"""Printfleet storage: one interface, a backend per database engine.

``open_sync_store`` and ``open_ingest_store`` build (but do not start) the
backend the settings choose. SQLite is the embedded default; PostgreSQL /
TimescaleDB is the production backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .interface import (
    Accepted,
    BatchResult,
    IngestStore,
    PendingDevice,
    PrinterRow,
    Rejected,
    RejectRow,
    SyncStore,
    User,
)

if TYPE_CHECKING:
    from printfleet.settings import Settings

__all__ = [
    "Accepted",
    "BatchResult",
    "IngestStore",
    "PendingDevice",
    "PrinterRow",
    "RejectRow",
    "Rejected",
    "SyncStore",
    "User",
    "open_ingest_store",
    "open_sync_store",
]


class BackendUnavailable(RuntimeError):
    """The configured backend cannot be used in this build."""


def open_sync_store(settings: Settings) -> SyncStore:
    """Build the sync store (web, scheduler, commands) for the configured backend."""
    if settings.storage.backend == "sqlite":
        from .sqlite import SqliteSyncStore

        return SqliteSyncStore(settings.sqlite_file)
    raise BackendUnavailable(f"unknown storage backend {settings.storage.backend!r}")


def open_ingest_store(settings: Settings) -> IngestStore:
    """Build the async ingest store (fleet workers) for the configured backend."""
    if settings.storage.backend == "sqlite":
        from .sqlite import SqliteIngestStore

        return SqliteIngestStore(settings.sqlite_file)
    raise BackendUnavailable(f"unknown storage backend {settings.storage.backend!r}")
