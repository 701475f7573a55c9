"""Printfleet storage: one interface, a backend per database engine.

``open_sync_store`` and ``open_ingest_store`` build (but do not start) the
backend the settings choose. SQLite is the embedded default; PostgreSQL /
TimescaleDB is the production backend.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .interface import (
    Accepted,
    BatchResult,
    CommandNotRecorded,
    EmailTaken,
    IngestStore,
    IssuedCommand,
    LoginFailures,
    PageView,
    PendingDevice,
    PrinterRow,
    Rejected,
    RejectRow,
    SyncStore,
    User,
    WebSession,
)
from .retention import RetentionPolicy

if TYPE_CHECKING:
    from printfleet.settings import Settings

    from .postgres.timescale import TimescalePolicy

__all__ = [
    "Accepted",
    "BackendUnavailable",
    "BatchResult",
    "CommandNotRecorded",
    "EmailTaken",
    "IngestStore",
    "IssuedCommand",
    "LoginFailures",
    "PageView",
    "PendingDevice",
    "PrinterRow",
    "RejectRow",
    "Rejected",
    "SyncStore",
    "User",
    "WebSession",
    "open_ingest_store",
    "open_sync_store",
    "retention_policy",
]


class BackendUnavailable(RuntimeError):
    """The configured backend cannot be used: not in this build, or its server is unreachable."""


def open_sync_store(settings: Settings) -> SyncStore:
    """Build the sync store (web, scheduler, commands) for the configured backend."""
    if settings.storage.backend == "sqlite":
        from .sqlite import SqliteSyncStore

        return SqliteSyncStore(settings.sqlite_file)
    if settings.storage.backend == "postgres":
        from .postgres import PostgresSyncStore

        return PostgresSyncStore(postgres_dsn(settings), settings.storage.postgres_pool_min,
                                 settings.storage.postgres_pool_max,
                                 timescaledb=settings.storage.timescaledb,
                                 policy=timescale_policy(settings))
    raise BackendUnavailable(f"unknown storage backend {settings.storage.backend!r}")


def open_ingest_store(settings: Settings) -> IngestStore:
    """Build the async ingest store (fleet workers) for the configured backend."""
    if settings.storage.backend == "sqlite":
        from .sqlite import SqliteIngestStore

        return SqliteIngestStore(settings.sqlite_file)
    if settings.storage.backend == "postgres":
        from .postgres import PostgresIngestStore

        return PostgresIngestStore(postgres_dsn(settings), settings.storage.postgres_pool_min,
                                   settings.storage.postgres_pool_max)
    raise BackendUnavailable(f"unknown storage backend {settings.storage.backend!r}")


def timescale_policy(settings: Settings) -> TimescalePolicy:
    """The compression and retention settings, as TimescaleDB policies take them."""
    from .postgres.timescale import TimescalePolicy

    return TimescalePolicy(settings.storage.compress_after_days, retention_policy(settings))


def retention_policy(settings: Settings) -> RetentionPolicy:
    """How long each time series is kept, from the [retention] settings."""
    r = settings.retention
    return RetentionPolicy(r.telemetry_days, r.telemetry_1m_days, r.telemetry_1h_days,
                           r.events_days, r.downtime_days)


def postgres_dsn(settings: Settings) -> str:
    """Read the PostgreSQL connection URL from the variable the settings name."""
    variable = settings.storage.postgres_dsn_env
    dsn = os.environ.get(variable, "").strip()
    if not dsn:
        raise BackendUnavailable(
            f"storage.backend is 'postgres' but the environment variable {variable} "
            "(named by storage.postgres_dsn_env) is not set; set it to a connection URL "
            "such as postgresql://printfleet@localhost:5432/printfleet")
    return dsn
