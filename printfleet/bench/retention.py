"""`printfleet bench retention`: the telemetry retention run against a plain DELETE, same run.

1. a fresh store (SQLite file, or a scratch PostgreSQL database: TimescaleDB
   mode where the server has the extension), N printers registered;
2. a day of telemetry per printer (8,640 samples at 10 s), all older than
   [retention] telemetry_days, written inside the database (bench/history.py);
3. the same day removed by one plain `DELETE ... WHERE time < cutoff`, timed;
4. the day written again and removed by the retention run of the telemetry
   class (printfleet/retention.py: drop_chunks under TimescaleDB, batched
   per-device deletes elsewhere), timed;
5. both must remove every row; the report gives both times and their ratio.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from printfleet.retention import Retention
from printfleet.settings import Settings
from storage.retention_classes import DAY_S, data_class

from .direct import DirectConnection
from .history import History, device_id, insert_device_history
from .processes import BenchError
from .queries import QueryBenchOptions, fresh_store

Say = Callable[[str], None]

TARGET_RATIO = 20.0  # on TimescaleDB
# The day sits this many days beyond the setting, well past every cutoff.
MARGIN_DAYS = 2


@dataclass(frozen=True)
class RetentionBenchOptions:
    backend: str
    printers: int = 100
    interval_s: int = 10
    dsn: str | None = None


def run(settings: Settings, options: RetentionBenchOptions, say: Say) -> dict[str, Any]:
    """Build the day twice, remove it both ways, and report the times and their ratio."""
    keep_days = settings.retention.telemetry_days
    end = math.floor(time.time() / 3600) * 3600 - (keep_days + MARGIN_DAYS) * DAY_S
    history = History(options.printers, 1, options.interval_s, end=end)
    with fresh_store(settings, QueryBenchOptions(options.backend, dsn=options.dsn)) as (
            store, direct):
        mode = store.chart_flavour
        say(f"bench: {options.backend} store in {mode} mode")
        for number in range(history.printers):
            store.add_device(device_id(number), f"Bench printer {number + 1}", None, "none")
        retention = Retention(settings, store)
        telemetry = data_class("telemetry")

        load_s = _write_day(direct, history, say)
        now = time.time()
        cutoff = retention.cutoff(telemetry, now)
        say(f"bench: plain DELETE of {history.rows:,} rows …")
        started = time.perf_counter()
        deleted = direct.execute(_plain_delete(direct, cutoff))
        delete_s = time.perf_counter() - started

        _write_day(direct, history, say)
        # In service the aggregates' refresh policy has materialized this day long
        # before it expires; here it was just written, so that is done (and timed)
        # apart from the run, as the policy would have.
        started = time.perf_counter()
        store.materialize_rollups(cutoff)
        materialize_s = time.perf_counter() - started
        say("bench: retention run of the telemetry class …")
        started = time.perf_counter()
        [outcome] = retention.run(now, ["telemetry"], triggered_by="bench")
        retention_s = time.perf_counter() - started
        left = direct.rows("SELECT count(*) FROM telemetry")[0][0]
    if outcome.error or deleted != history.rows or outcome.rows != history.rows or left:
        raise BenchError(f"the removals disagree: {history.rows} rows written, plain DELETE "
                         f"removed {deleted}, retention {outcome.rows} ({outcome.error}), "
                         f"{left} left")
    ratio = delete_s / max(retention_s, 1e-9)
    timescale = mode == "timescale"
    return {
        "benchmark": "retention", "backend": options.backend, "mode": mode,
        "printers": history.printers, "samples_per_printer": history.samples_per_device,
        "rows": history.rows, "load_s": round(load_s, 3),
        "retention_method": "drop_chunks" if timescale else "batched per-device deletes",
        "retention_s": round(retention_s, 4), "plain_delete_s": round(delete_s, 4),
        "rollups_materialized_before_s": round(materialize_s, 4),
        "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO if timescale else None,
        "meets_target": ratio >= TARGET_RATIO if timescale else None,
        "note": ("drop_chunks removes whole day chunks against a row-by-row DELETE"
                 if timescale else
                 "without TimescaleDB both remove rows one by one: the retention run's "
                 "worth is short transactions (ingest never waits for the whole delete), "
                 "not speed; the 20x target applies to TimescaleDB"),
    }


def _write_day(direct: DirectConnection, history: History, say: Say) -> float:
    say(f"bench: writing {history.rows:,} telemetry rows ({history.printers} printers x "
        f"{history.samples_per_device:,} samples) …")
    started = time.perf_counter()
    for number in range(history.printers):
        direct.execute(insert_device_history(history, number, direct.dialect))
    return time.perf_counter() - started


def _plain_delete(direct: DirectConnection, cutoff: float) -> str:
    if direct.dialect == "postgres":
        return f"DELETE FROM telemetry WHERE time < to_timestamp({cutoff!r})"
    return f"DELETE FROM telemetry WHERE ts < {cutoff!r}"
