"""The copy baseline: the same telemetry rows written straight through the store, no MQTT.

Rows go through ``IngestStore.write_batch`` of the configured backend (COPY on
PostgreSQL, executemany on SQLite, device_state kept as the worker keeps it),
in batches of ``fleet.batch_max_rows``, one after another as the worker's
batcher writes them. The messages are built before the clock starts.
"""

from __future__ import annotations

import asyncio
import time

from printfleet.settings import Settings
from printfleet_protocol import Family
from storage import Accepted, open_ingest_store

from .devices import telemetry


def build_batches(next_seqs: dict[str, int], rows: int, batch_rows: int) -> list[list[Accepted]]:
    """`rows` telemetry messages, the devices taking turns, each continuing its own seq."""
    seqs = dict(next_seqs)
    devices = list(seqs)
    now = time.time()
    items = []
    for number in range(rows):
        device_id = devices[number % len(devices)]
        items.append(Accepted(device_id, Family.TELEMETRY, telemetry(seqs[device_id], now), now))
        seqs[device_id] += 1
    return [items[start:start + batch_rows] for start in range(0, rows, batch_rows)]


def measure_copy(settings: Settings, next_seqs: dict[str, int], rows: int) -> float:
    """Write `rows` rows through the store's write path; return rows per second."""
    batches = build_batches(next_seqs, rows, settings.fleet.batch_max_rows)
    elapsed = asyncio.run(_write_all(settings, batches))
    return rows / elapsed


async def _write_all(settings: Settings, batches: list[list[Accepted]]) -> float:
    store = open_ingest_store(settings)
    await store.start()
    try:
        started = time.perf_counter()
        for batch in batches:
            await store.write_batch(batch, ())
        return time.perf_counter() - started
    finally:
        await store.stop()
