"""The `stores` fixture: a started (sync, ingest) pair per backend, on a fresh migrated database."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from storage import IngestStore, SyncStore
from storage.postgres import PostgresIngestStore, PostgresSyncStore
from storage.sqlite import SqliteIngestStore, SqliteSyncStore

from .postgres_server import backends, fresh_database, pause_timescale_jobs, timescale_server


@dataclass
class Stores:
    sync: SyncStore
    ingest: IngestStore
    execute: Callable[[str], None]  # one statement on a connection of its own, around the store


@pytest.fixture(params=backends())
async def stores(request, tmp_path) -> AsyncIterator[Stores]:
    with ExitStack() as cleanup:
        if request.param == "sqlite":
            path = tmp_path / "contract.sqlite3"
            sync, ingest = SqliteSyncStore(path), SqliteIngestStore(path)
            execute = functools.partial(_execute_sqlite, path)
        elif request.param == "postgres":
            dsn = cleanup.enter_context(fresh_database())
            sync, ingest = PostgresSyncStore(dsn, timescaledb="off"), PostgresIngestStore(dsn)
            execute = functools.partial(_execute_postgres, dsn)
        else:
            dsn = cleanup.enter_context(fresh_database(timescale_server()))
            sync, ingest = PostgresSyncStore(dsn, timescaledb="on"), PostgresIngestStore(dsn)
            execute = functools.partial(_execute_postgres, dsn)
        sync.start()
        cleanup.callback(sync.stop)
        sync.migrate()
        if request.param == "timescale":
            pause_timescale_jobs(dsn)
        await ingest.start()
        yield Stores(sync, ingest, execute)
        await ingest.stop()




def _execute_sqlite(path: Path, statement: str) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(statement)


def _execute_postgres(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(statement)
