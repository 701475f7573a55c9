"""The `stores` fixture: a started (sync, ingest) pair per backend, on a fresh migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from storage import IngestStore, SyncStore
from storage.postgres import PostgresIngestStore, PostgresSyncStore
from storage.sqlite import SqliteIngestStore, SqliteSyncStore

from .postgres_server import backends, fresh_database, timescale_server


@dataclass
class Stores:
    sync: SyncStore
    ingest: IngestStore


@pytest.fixture(params=backends())
async def stores(request, tmp_path) -> AsyncIterator[Stores]:
    with ExitStack() as cleanup:
        if request.param == "sqlite":
            path = tmp_path / "contract.sqlite3"
            sync, ingest = SqliteSyncStore(path), SqliteIngestStore(path)
        elif request.param == "postgres":
            dsn = cleanup.enter_context(fresh_database())
            sync, ingest = PostgresSyncStore(dsn, timescaledb="off"), PostgresIngestStore(dsn)
        else:
            dsn = cleanup.enter_context(fresh_database(timescale_server()))
            sync, ingest = PostgresSyncStore(dsn, timescaledb="on"), PostgresIngestStore(dsn)
        sync.start()
        cleanup.callback(sync.stop)
        sync.migrate()
        await ingest.start()
        yield Stores(sync, ingest)
        await ingest.stop()


