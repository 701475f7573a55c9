"""What only the PostgreSQL backend has: concurrent migrators and writers, server errors."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from contextlib import ExitStack

import psycopg
import pytest

from printfleet import settings as settings_module
from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, Heartbeat, Presence, Telemetry
from printfleet_protocol.settings import SettingsError
from storage import Accepted, BackendUnavailable, open_ingest_store, open_sync_store
from storage.migrations import migrations_for
from storage.postgres import PostgresIngestStore, PostgresSyncStore, PostgresUnavailable

from .postgres_server import fresh_database

pytestmark = pytest.mark.timeout(60)


def test_two_concurrent_migrations_both_succeed_and_apply_each_migration_once():
    with fresh_database() as dsn:
        stores = [PostgresSyncStore(dsn), PostgresSyncStore(dsn)]
        ready = threading.Barrier(len(stores))
        applied: list[list[int]] = []
        errors: list[BaseException] = []

        def migrate(store: PostgresSyncStore) -> None:
            try:
                ready.wait(10)
                applied.append(store.migrate())
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

        threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        versions = [m.version for m in migrations_for("postgres")]
        assert sorted(applied) == [[], versions]
        with psycopg.connect(dsn) as connection:
            ledger = connection.execute("SELECT version FROM schema_migrations ORDER BY 1")
            assert [row[0] for row in ledger] == versions


async def test_concurrent_batches_over_the_same_devices_neither_deadlock_nor_double_count():
    # Two workers of one shared subscription get interleaved slices of the
    # same devices in any order: disjoint slices (each message reaches one
    # worker) and, every other round, overlapping ones (redeliveries).
    devices = [f"p-{n:02d}" for n in range(40)]
    rng = random.Random(7)
    with fresh_database() as dsn:
        PostgresSyncStore(dsn).migrate()
        writers = [PostgresIngestStore(dsn), PostgresIngestStore(dsn)]
        for writer in writers:
            await writer.start()
        try:
            sent = stored = duplicates = 0
            for round_ in range(20):
                messages = [Accepted(d, Family.TELEMETRY, telemetry(round_ * 2 + n), time.time())
                            for d in devices for n in range(2)]
                rng.shuffle(messages)
                if round_ % 2:
                    batches = [messages[:60], messages[20:]]  # 40 messages in both
                else:
                    batches = [messages[::2], messages[1::2]]
                results = await asyncio.gather(*(w.write_batch(b, []) for w, b in
                                                  zip(writers, batches, strict=True)))
                sent += sum(len(b) for b in batches)
                stored += sum(r.stored for r in results)
                duplicates += sum(r.duplicates for r in results)
        finally:
            for writer in writers:
                await writer.stop()
        with psycopg.connect(dsn) as connection:
            (count,) = connection.execute("SELECT count(*) FROM telemetry").fetchone() or (0,)
        assert stored == count == 20 * 2 * len(devices)
        assert stored + duplicates == sent


def telemetry(seq: int) -> Telemetry:
    return Telemetry(v=SCHEMA_VERSION, ts=time.time(), seq=seq, state="idle")


async def test_the_watchdog_and_ingest_lock_the_same_devices_without_deadlock():
    # A third session holds one device's row, so the watchdog and a batch
    # both pile up behind it halfway through their locks; released, they
    # must finish one after the other. Locks taken in different orders
    # would deadlock here every time.
    devices = [f"p-{n:03d}" for n in range(100)]

    def heartbeats(seq: int) -> list[Accepted]:
        now = time.time()
        return [Accepted(d, Family.HEARTBEAT, Heartbeat(v=SCHEMA_VERSION, ts=now, seq=seq,
                                                        interval_s=10, uptime_s=1), now)
                for d in devices]

    with fresh_database() as dsn, ExitStack() as cleanup:
        sync = PostgresSyncStore(dsn)
        sync.start()
        cleanup.callback(sync.stop)
        sync.migrate()
        writer = PostgresIngestStore(dsn)
        await writer.start()
        try:
            await writer.write_batch(heartbeats(1), [])
            with psycopg.connect(dsn) as blocker:
                blocker.execute("SELECT 1 FROM device_state WHERE device_id = 'p-050' FOR UPDATE")
                batch = asyncio.create_task(writer.write_batch(heartbeats(2), []))
                watchdog = asyncio.create_task(asyncio.to_thread(
                    sync.mark_silent_devices_offline, time.time() + 1000, 1.5, 30))
                await wait_for_lock_waiters(dsn, 2)
            await asyncio.wait_for(asyncio.gather(batch, watchdog), 10)
        finally:
            await writer.stop()
        assert batch.result().stored == len(devices)
        assert watchdog.result() == devices  # silent before and after the batch


async def wait_for_lock_waiters(dsn: str, count: int) -> None:
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
             "AND wait_event_type = 'Lock'")
    deadline = time.monotonic() + 10
    # Autocommit: pg_stat_activity is a snapshot that lasts a transaction.
    with psycopg.connect(dsn, autocommit=True) as observer:
        while (observer.execute(query).fetchone() or (0,))[0] < count:
            assert time.monotonic() < deadline, f"{count} sessions never waited for a lock"
            await asyncio.sleep(0.01)


async def test_an_unreachable_server_is_a_clear_error_without_the_password():
    dsn = "postgresql://printfleet:s3cret-pw@127.0.0.1:1/printfleet"
    with pytest.raises(PostgresUnavailable, match=r"cannot connect to PostgreSQL at "
                       r"postgresql://printfleet@127\.0\.0\.1:1/printfleet") as caught:
        PostgresSyncStore(dsn).start()
    assert "s3cret-pw" not in str(caught.value)
    with pytest.raises(PostgresUnavailable, match="127.0.0.1:1") as caught:
        await PostgresIngestStore(dsn).start()
    assert "s3cret-pw" not in str(caught.value)


def postgres_settings(variable: str) -> settings_module.Settings:
    base = settings_module.load(None, environ={})
    return settings_module.with_changes(
        base, storage={"backend": "postgres", "postgres_dsn_env": variable})


def test_the_backend_reads_its_url_from_the_variable_the_settings_name(monkeypatch, caplog):
    settings = postgres_settings("PF_TEST_STORE_URL")
    monkeypatch.delenv("PF_TEST_STORE_URL", raising=False)
    with pytest.raises(BackendUnavailable, match="PF_TEST_STORE_URL .* is not set"):
        open_sync_store(settings)
    with pytest.raises(BackendUnavailable, match="PF_TEST_STORE_URL"):
        open_ingest_store(settings)
    with fresh_database() as dsn:
        monkeypatch.setenv("PF_TEST_STORE_URL", dsn)
        store = open_sync_store(settings)
        assert isinstance(store, PostgresSyncStore)
        assert isinstance(open_ingest_store(settings), PostgresIngestStore)
        with caplog.at_level(logging.INFO, logger="storage.postgres"):
            store.start()
        try:
            assert "plain PostgreSQL" in caplog.text
            assert store.migrate() == [m.version for m in migrations_for("postgres")]
        finally:
            store.stop()


def test_settings_refuse_a_url_variable_the_loader_would_read_as_a_setting(tmp_path):
    config = tmp_path / "printfleet.toml"
    config.write_text('[storage]\nbackend = "postgres"\npostgres_dsn_env = "PRINTFLEET_DB"\n'
                      "postgres_pool_min = 5\npostgres_pool_max = 2\n")
    with pytest.raises(SettingsError) as caught:
        settings_module.load(config, environ={})
    assert [error.key for error in caught.value.errors] == ["storage.postgres_dsn_env"]
    config.write_text("[storage]\npostgres_pool_min = 5\npostgres_pool_max = 2\n")
    with pytest.raises(SettingsError, match="must not exceed"):
        settings_module.load(config, environ={})


def test_migrate_needs_no_started_pool():
    # Like SQLite's: `migrate` runs on its own connection, before or without start().
    async def write_presence(dsn: str) -> None:
        writer = PostgresIngestStore(dsn)
        await writer.start()
        try:
            message = Presence(v=SCHEMA_VERSION, ts=time.time(), seq=1, status="online")
            await writer.write_batch([Accepted("p-1", Family.PRESENCE, message, time.time())], [])
        finally:
            await writer.stop()

    with fresh_database() as dsn:
        store = PostgresSyncStore(dsn)
        assert store.migrate() == [m.version for m in migrations_for("postgres")]
        store.start()
        try:
            store.add_device("p-1", "Printer", None, "$7$h")
            store.set_downtime_logging("p-1", True, None, 0.0)  # presence history is kept
            asyncio.run(write_presence(dsn))
            assert [r["status"] for r in store.table_rows("presence_events", "p-1")] == ["online"]
        finally:
            store.stop()


async def test_both_pools_report_a_stopped_server_and_recover_once_it_is_back(
        private_postgres_server):
    server = private_postgres_server
    sync = PostgresSyncStore(server.dsn)
    sync.migrate()
    sync.start()
    ingest = PostgresIngestStore(server.dsn)
    await ingest.start()
    try:
        await ingest.write_batch([Accepted("p-1", Family.TELEMETRY, telemetry(1), time.time())],
                                 [])
        server.stop("fast")  # the pooled connections die with it
        with pytest.raises(PostgresUnavailable, match="cannot connect to PostgreSQL at"):
            await ingest.write_batch(
                [Accepted("p-1", Family.TELEMETRY, telemetry(2), time.time())], [])
        with pytest.raises(PostgresUnavailable):
            await ingest.count_online_devices()
        server.start()
        # The pool reconnects by itself: the first write after the restart commits.
        await ingest.write_batch([Accepted("p-1", Family.TELEMETRY, telemetry(2), time.time())],
                                 [])
        assert [r["seq"] for r in sync.table_rows("telemetry", "p-1")] == [1, 2]
    finally:
        await ingest.stop()
        sync.stop()
