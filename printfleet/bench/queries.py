"""`printfleet bench queries`: chart and fleet-overview reads on a full history, store vs SQL.

1. a fresh store (SQLite file in a temp dir, or a scratch PostgreSQL
   database), migrated the normal way, so a server with TimescaleDB runs in
   TimescaleDB mode;
2. printers registered and their history written inside the database
   (bench/history.py), device_state set, rollups built with
   SyncStore.rebuild_rollups, then the database settled (bench/loading.py);
3. each read timed through the store and as the same SQL on a direct
   connection, and the 30-day hourly chart from raw telemetry against the
   rollup (bench/query_timing.py);
4. store and direct answers compared, and raw-scan buckets with the rollup's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from printfleet.settings import Settings
from storage import SyncStore

from .direct import DirectConnection, PostgresDirect, SqliteDirect
from .history import History, device_id
from .loading import load
from .query_report import QueryMeasurements, build_query_report
from .query_timing import QueryBench, check_consistency
from .scratch_store import scratch_store

Say = Callable[[str], None]

RAW_SCAN_SHARE = 10  # the raw scan is slow: a tenth of the repeats, at least MIN_RAW_REPEATS
MIN_RAW_REPEATS = 5


@dataclass(frozen=True)
class QueryBenchOptions:
    backend: str
    printers: int = 100
    days: int = 30
    interval_s: int = 10
    repeats: int = 200
    dsn: str | None = None  # PostgreSQL server; else the variable the settings name


def run(settings: Settings, options: QueryBenchOptions, say: Say) -> dict[str, Any]:
    """Build the history, time every read, check the answers; return the report."""
    history = History(options.printers, options.days, options.interval_s,
                      end=math.floor(time.time() / 3600) * 3600)
    raw_repeats = max(MIN_RAW_REPEATS, options.repeats // RAW_SCAN_SHARE)
    with fresh_store(settings, options) as (store, direct):
        say(f"bench: {options.backend} store in {store.chart_flavour} mode")
        report = load(store, direct, history, say)
        bench = QueryBench(store, direct, history)
        fleet_sql = _fleet_overview_sql(options.backend)
        reads = bench.reads(fleet_sql)
        for name, pair in reads.items():
            repeats = raw_repeats if name == "raw_scan_30d" else options.repeats
            say(f"bench: timing {name}, {repeats} runs per side …")
            bench.time(pair, repeats)
        printers = sorted({device_id(0), device_id(history.printers - 1)})
        consistency = check_consistency(bench, fleet_sql, printers)
        mode = store.chart_flavour
    return build_query_report(QueryMeasurements(options.backend, mode, history, options.repeats,
                                                raw_repeats, report, reads, consistency))


@contextmanager
def fresh_store(settings: Settings, options: QueryBenchOptions
                ) -> Iterator[tuple[SyncStore, DirectConnection]]:
    """A scratch store and a direct connection to the same database."""
    with scratch_store(settings, options.backend, options.dsn) as scratch:
        direct: DirectConnection = (PostgresDirect(scratch.dsn) if scratch.dsn is not None
                                    else SqliteDirect(scratch.settings.sqlite_file))
        try:
            yield scratch.store, direct
        finally:
            direct.close()


def _fleet_overview_sql(backend: str) -> str:
    if backend == "postgres":
        from storage.postgres.sync_store import FLEET_OVERVIEW_SQL
    else:
        from storage.sqlite.sync_store import FLEET_OVERVIEW_SQL
    return FLEET_OVERVIEW_SQL
