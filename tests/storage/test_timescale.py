"""TimescaleDB mode: the conversion, the policies, compressed chunks, and the plain fallback.

The TimescaleDB assertions need a server with the extension preloaded
(PF_TEST_TIMESCALE_URL, or the default server if it has one). CI runs
plain PostgreSQL, where they cannot run; the fallback tests run everywhere.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, Telemetry
from storage import Accepted
from storage.postgres import PostgresIngestStore, PostgresSyncStore
from storage.postgres.connection import PostgresUnavailable
from storage.postgres.timescale import HYPERTABLES, TimescalePolicy
from storage.retention import DAY_S, RetentionPolicy

from .postgres_server import fresh_database, pause_timescale_jobs, server_dsn, timescale_server

pytestmark = pytest.mark.timeout(90)

needs_timescale = pytest.mark.skipif(
    timescale_server() is None,
    reason="no TimescaleDB on this PostgreSQL server (CI runs plain PostgreSQL); "
           "set PF_TEST_TIMESCALE_URL to a server with the extension preloaded")


def telemetry(seq: int, ts: float, bed: float = 60.0) -> Accepted:
    message = Telemetry(v=SCHEMA_VERSION, ts=ts, seq=seq, state="printing",
                        heaters={"bed": Heater(bed, 60.0)})
    return Accepted("ts-1", Family.TELEMETRY, message, time.time())


def test_plain_postgresql_refuses_timescaledb_on_with_the_reason():
    with fresh_database() as dsn:
        mode_possible = timescale_server() == server_dsn()
        store = PostgresSyncStore(dsn, timescaledb="on" if not mode_possible else "off")
        store.start()
        try:
            if mode_possible:  # this server has it: "off" must stay plain
                store.migrate()
                assert store.chart_flavour == "postgres"
            else:
                with pytest.raises(PostgresUnavailable, match="cannot use TimescaleDB"):
                    store.migrate()
        finally:
            store.stop()


@needs_timescale
async def test_existing_plain_data_is_converted_in_place_with_its_rollups():
    with fresh_database(timescale_server()) as dsn:
        plain = PostgresSyncStore(dsn, timescaledb="off")
        plain.start()
        plain.migrate()
        ingest = PostgresIngestStore(dsn)
        await ingest.start()
        now = time.time()
        await ingest.write_batch([telemetry(n, now - 7200 + n * 30, 50 + n % 10)
                                  for n in range(200)], [])
        await ingest.stop()
        before = plain.temperature_chart("ts-1", now - 2 * DAY_S, now)
        plain.stop()

        converted = PostgresSyncStore(dsn, timescaledb="on",
                                      policy=TimescalePolicy(3, RetentionPolicy(telemetry_days=20)))
        converted.start()
        try:
            converted.migrate()
            assert converted.chart_flavour == "timescale"
            after = converted.temperature_chart("ts-1", now - 2 * DAY_S, now)
            assert after == before
            assert len(converted.table_rows("telemetry", "ts-1")) == 200
        finally:
            converted.stop()
        with psycopg.connect(dsn, autocommit=True) as db:
            hypertables = {row[0] for row in db.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables")}
            assert hypertables == set(HYPERTABLES)
            views = {row[0] for row in db.execute(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates")}
            assert views == {"telemetry_1m", "telemetry_1h"}
            jobs = {(row[0], row[1], str(row[2])) for row in db.execute(
                "SELECT proc_name, hypertable_name, config->>'drop_after' FROM "
                "timescaledb_information.jobs WHERE proc_name = 'policy_retention'")}
            # A day behind the setting: a backstop for the scheduler's recorded run.
            assert ("policy_retention", "telemetry", "21 days") in jobs
            compress = db.execute(
                "SELECT config->>'compress_after' FROM timescaledb_information.jobs "
                "WHERE proc_name = 'policy_compression' AND hypertable_name = 'telemetry'"
            ).fetchone()
            assert compress == ("3 days",)


@needs_timescale
async def test_replays_into_a_compressed_chunk_are_still_ignored(stores_on_timescale):
    sync, ingest, dsn = stores_on_timescale
    old = time.time() - 10 * DAY_S
    batch = [telemetry(n, old + n * 10) for n in range(100)]
    await ingest.write_batch(batch, [])
    with psycopg.connect(dsn, autocommit=True) as db:
        compressed = db.execute(
            "SELECT count(compress_chunk(c)) FROM show_chunks('telemetry') c").fetchone()
        assert compressed == (1,)

    replay = await ingest.write_batch(batch[40:60] + [telemetry(100, old + 1000)], [])

    assert (replay.stored, replay.duplicates) == (1, 20)
    assert [r["seq"] for r in sync.table_rows("telemetry", "ts-1")] == list(range(101))


@pytest.fixture
async def stores_on_timescale():
    with fresh_database(timescale_server()) as dsn:
        sync = PostgresSyncStore(dsn, timescaledb="on")
        sync.start()
        sync.migrate()
        pause_timescale_jobs(dsn)
        ingest = PostgresIngestStore(dsn)
        await ingest.start()
        try:
            yield sync, ingest, dsn
        finally:
            await ingest.stop()
            sync.stop()


@needs_timescale
async def test_retention_counts_rows_that_came_late_into_a_compressed_chunk_and_keeps_them_rolled_up(
        stores_on_timescale, tmp_path):
    from printfleet.retention import Retention
    from printfleet.settings import load

    sync, ingest, dsn = stores_on_timescale
    sync.add_device("ts-1", "Timescale printer", None, "hash")
    now = time.time()
    day_start = (now - 40 * DAY_S) // 3600 * 3600
    await ingest.write_batch([telemetry(n, day_start + n * 10) for n in range(300)], [])
    settings = load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path / "data")})
    sync.materialize_rollups(now - settings.retention.telemetry_days * DAY_S)
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("SELECT compress_chunk(c) FROM show_chunks('telemetry') c")
    # Replayed days late, after the day was rolled up and compressed.
    await ingest.write_batch([telemetry(1000 + n, day_start + n * 10 + 5) for n in range(40)], [])
    retention = Retention(settings, sync)

    [preview] = retention.preview(now, ["telemetry"])
    [run] = retention.run(now, ["telemetry"], triggered_by="cli")

    assert preview.rows == run.rows == 340
    assert (run.oldest, run.newest) == (day_start, day_start + 299 * 10)
    assert sync.table_rows("telemetry", "ts-1") == []
    with psycopg.connect(dsn, autocommit=True) as db:
        rolled_up = db.execute("SELECT sum(samples) FROM telemetry_1h").fetchone()
    assert rolled_up == (340,)
