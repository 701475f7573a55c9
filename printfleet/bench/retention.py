"""`printfleet bench retention`: the telemetry retention run against a plain DELETE, same run.

1. a fresh store (SQLite file, or a scratch PostgreSQL database: TimescaleDB
   mode where the server has the extension), N printers registered;
2. a day of telemetry per printer (8,640 samples at 10 s), all older than
   [retention] telemetry_days, written inside the database (bench/history.py);
3. the baseline: the day removed by one plain `DELETE ... WHERE time < cutoff`
   right after it was written, timed;
4. the day written again and brought to the state the service holds it in
   when it expires: rollups materialized and, under TimescaleDB, compressed
   (compress_after_days comes long before telemetry_days; both are done by
   policies in service, so they are timed apart from the run);
5. the retention run of the telemetry class (printfleet/retention.py:
   drop_chunks under TimescaleDB, batched per-device deletes elsewhere), timed;
6. under TimescaleDB, for comparison in the same state, also the run on the
   uncompressed day and the DELETE on the compressed day;
7. every removal must remove every row; the report gives the times and ratios.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from printfleet.retention import Outcome, Retention
from printfleet.settings import Settings
from storage import SyncStore
from storage.postgres.timescale import PAUSE_POLICY_JOBS
from storage.retention_classes import DAY_S, data_class

from .direct import DirectConnection
from .history import History, device_id, insert_device_history
from .processes import BenchError
from .queries import QueryBenchOptions, fresh_store

Say = Callable[[str], None]

TARGET_RATIO = 20.0  # on TimescaleDB
# The day sits this many days beyond the setting, well past every cutoff.
MARGIN_DAYS = 2
SETTLE_S = 5.0


@dataclass(frozen=True)
class RetentionBenchOptions:
    backend: str
    printers: int = 100
    interval_s: int = 10
    dsn: str | None = None
    repeats: int = 3
    settle_s: float = SETTLE_S


@dataclass
class _Day:
    """One bench day in one store, written and removed as often as the comparison needs."""

    store: SyncStore
    direct: DirectConnection
    history: History
    retention: Retention
    now: float
    cutoff: float
    settle_s: float
    say: Say

    def write(self, materialize: bool = False, compress: bool = False) -> dict[str, float]:
        """Write the day; optionally materialize its rollups and compress it, each timed."""
        self.say(f"bench: writing {self.history.rows:,} telemetry rows "
                 f"({self.history.printers} printers x {self.history.samples_per_device:,} "
                 "samples) …")
        timings = {"load_s": _timed(self._insert)}
        if materialize:
            timings["materialize_s"] = _timed(lambda: self.store.materialize_rollups(self.cutoff))
        if compress:
            self.say("bench: compressing the day, as the compression policy would have …")
            timings["compress_s"] = _timed(self._compress)
        return timings

    def plain_delete(self, what: str) -> float:
        before = self._left()
        self._settle()
        self.say(f"bench: plain DELETE of {self.history.rows:,} rows ({what}) …")
        started = time.perf_counter()
        self.direct.execute(_plain_delete(self.direct, self.cutoff))
        seconds = time.perf_counter() - started
        # Counted, not taken from the statement: TimescaleDB reports no rows
        # for the compressed batches it deletes whole.
        self._check(f"plain DELETE ({what})", before - self._left())
        return seconds

    def retention_run(self, what: str) -> float:
        self._settle()
        self.say(f"bench: retention run of the telemetry class ({what}) …")
        started = time.perf_counter()
        [outcome] = self.retention.run(self.now, ["telemetry"], triggered_by="bench")
        seconds = time.perf_counter() - started
        self._check(f"retention run ({what})", outcome.rows, outcome)
        return seconds

    def _settle(self) -> None:
        """Flush what writing the day left dirty, so no removal pays for the writes before it."""
        if self.direct.dialect == "postgres":
            self.direct.execute("CHECKPOINT")
        else:
            self.direct.rows("PRAGMA wal_checkpoint(TRUNCATE)")
        os.sync()
        # And let the disk settle, as it has in the weeks before a day expires.
        time.sleep(self.settle_s)

    def _insert(self) -> None:
        for number in range(self.history.printers):
            self.direct.execute(insert_device_history(self.history, number, self.direct.dialect))

    def _compress(self) -> None:
        self.direct.rows("SELECT compress_chunk(c) FROM show_chunks('telemetry', "
                         f"older_than => to_timestamp({self.cutoff!r})) c")

    def _left(self) -> int:
        return int(self.direct.rows("SELECT count(*) FROM telemetry")[0][0])

    def _check(self, what: str, removed: int, outcome: Outcome | None = None) -> None:
        left = self._left()
        error = outcome.error if outcome is not None else None
        if error or removed != self.history.rows or left:
            raise BenchError(f"{what} disagrees: {self.history.rows} rows written, {removed} "
                             f"counted as removed, {left} left ({error or 'no error'})")


def run(settings: Settings, options: RetentionBenchOptions, say: Say) -> dict[str, Any]:
    """Remove the day both ways (and, under TimescaleDB, in both states); report times and ratios."""
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
        now = time.time()
        day = _Day(store, direct, history, retention, now,
                   retention.cutoff(data_class("telemetry"), now), options.settle_s, say)
        timescale = mode == "timescale"
        if timescale:
            # The bench does what the policies would (materialize, compress) and
            # times the run; the retention backstop would drop the day on its own.
            direct.rows(PAUSE_POLICY_JOBS)
        deletes, runs, prepared = [], [], {}
        for _ in range(options.repeats):
            # Alternated, so a slow spell of the machine weighs on both alike.
            load_s = day.write()["load_s"]
            deletes.append(day.plain_delete("the day as written"))
            prepared = day.write(materialize=True, compress=timescale)
            runs.append(day.retention_run("as held in service" if timescale else "as written"))
        compared = _same_state_comparison(day) if timescale else None
    delete_s, retention_s = statistics.median(deletes), statistics.median(runs)
    ratio = delete_s / max(retention_s, 1e-9)
    report: dict[str, Any] = {
        "benchmark": "retention", "backend": options.backend, "mode": mode,
        "printers": history.printers, "samples_per_printer": history.samples_per_device,
        "rows": history.rows, "load_s": round(load_s, 3), "repeats": options.repeats,
        "retention_method": "drop_chunks" if timescale else "batched per-device deletes",
        "plain_delete_s": round(delete_s, 4), "plain_delete_each_s": _rounded(deletes),
        "retention_s": round(retention_s, 4), "retention_each_s": _rounded(runs),
        "retention_state": ("compressed, rollups materialized (as the policies leave it)"
                            if timescale else "as written"),
        "prepared_before_run": {key: round(value, 3) for key, value in prepared.items()
                                if key != "load_s"},
        "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO if timescale else None,
        "meets_target": ratio >= TARGET_RATIO if timescale else None,
    }
    if compared is not None:
        uncompressed_s, compressed_delete_s = compared
        report["same_state"] = {
            "uncompressed": {"plain_delete_s": round(delete_s, 4),
                             "retention_s": round(uncompressed_s, 4),
                             "ratio": round(delete_s / max(uncompressed_s, 1e-9), 2)},
            "compressed": {"plain_delete_s": round(compressed_delete_s, 4),
                           "retention_s": round(retention_s, 4),
                           "ratio": round(compressed_delete_s / max(retention_s, 1e-9), 2)}}
    report["note"] = (
        "times are medians of 'repeats' removals; ratio: the plain row-by-row DELETE of the "
        "day against the retention run on the day as the service holds it when it expires "
        "(compressed 'compress_after_days' after arrival, long before 'telemetry_days'); "
        "same_state compares each removal once on the same storage: on uncompressed chunks "
        "the run counts rows by a scan and pays for unlinking the files, and TimescaleDB "
        "deletes whole compressed batches without decompressing them"
        if timescale else
        "times are medians of 'repeats' removals; without TimescaleDB both remove rows one by "
        "one: the retention run's worth is short transactions (ingest never waits for the "
        "whole delete), not speed; the 20x target applies to TimescaleDB")
    return report


def _same_state_comparison(day: _Day) -> tuple[float, float]:
    """The run on the uncompressed day, and the DELETE on the compressed day."""
    day.write(materialize=True)
    uncompressed_run_s = day.retention_run("uncompressed")
    day.write(materialize=True, compress=True)
    return uncompressed_run_s, day.plain_delete("compressed")


def _rounded(values: list[float]) -> list[float]:
    return [round(value, 4) for value in values]


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _plain_delete(direct: DirectConnection, cutoff: float) -> str:
    if direct.dialect == "postgres":
        return f"DELETE FROM telemetry WHERE time < to_timestamp({cutoff!r})"
    return f"DELETE FROM telemetry WHERE ts < {cutoff!r}"
