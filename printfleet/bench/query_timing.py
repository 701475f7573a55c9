"""Time each read through the store and as the same SQL on a direct connection.

Reads, each for a random printer per repeat, over windows ending where the
history ends:

- chart_24h: SyncStore.temperature_chart over 24 hours (1-minute rollup);
- chart_30d: the same over 30 days (1-hour rollup);
- fleet_overview: SyncStore.fleet_overview();
- raw_scan_30d: the 30-day hourly chart computed from raw telemetry
  (charts.raw_rollup_query), against chart_30d's direct SQL.

The store and the direct side take turns, first one then the other, so
neither always meets the cache the other left behind.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage import SyncStore
from storage.charts import chart_query, chart_source, raw_rollup_query, to_points
from storage.rollups import CHART_HEATERS, ROLLUP_WIDTHS_S

from .direct import DirectConnection
from .history import History, device_id
from .report import percentile

WARMUP_RUNS = 3
HOUR_S = ROLLUP_WIDTHS_S["telemetry_1h"]
WINDOWS_S = {"chart_24h": 86400, "chart_30d": 30 * 86400}
# Relative tolerance when raw-scan buckets are compared with rollup buckets:
# sums added in another order differ in the last bits.
MATCH_TOLERANCE = 1e-9

Read = Callable[[str], object]


@dataclass
class Timed:
    ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"p50": _round(percentile(self.ms, 0.50)), "p95": _round(percentile(self.ms, 0.95)),
                "max": _round(max(self.ms, default=None)), "runs": len(self.ms)}


@dataclass
class ReadPair:
    """One read's two sides, with the SQL they both run."""

    sql: str
    store: Read
    direct: Read
    timings: tuple[Timed, Timed] = field(default_factory=lambda: (Timed(), Timed()))


class QueryBench:
    def __init__(self, store: SyncStore, direct: DirectConnection, history: History,
                 seed: int = 1) -> None:
        self.store, self.direct, self.history = store, direct, history
        self.flavour = store.chart_flavour
        self._random = random.Random(seed)

    def window(self, name: str) -> tuple[float, float]:
        return self.history.end - WINDOWS_S[name], self.history.end

    def chart_sql(self, name: str) -> str:
        return chart_query(chart_source(*self.window(name))[0], self.flavour)

    def raw_sql(self) -> str:
        return raw_rollup_query(HOUR_S, self.flavour)

    def reads(self, fleet_sql: str) -> dict[str, ReadPair]:
        def chart(name: str) -> ReadPair:
            since, until = self.window(name)
            sql = self.chart_sql(name)
            return ReadPair(sql, lambda d: self.store.temperature_chart(d, since, until),
                            lambda d: self.direct.rows(sql, (d, since, until)))

        since, until = self.window("chart_30d")
        raw_sql = self.raw_sql()
        return {
            "chart_24h": chart("chart_24h"),
            "chart_30d": chart("chart_30d"),
            "fleet_overview": ReadPair(fleet_sql, lambda d: self.store.fleet_overview(),
                                       lambda d: self.direct.rows(fleet_sql)),
            # "store" here is the rollup read, "direct" the raw scan: both direct SQL.
            "raw_scan_30d": ReadPair(raw_sql, chart("chart_30d").direct,
                                     lambda d: self.direct.rows(raw_sql, (d, since, until))),
        }

    def time(self, pair: ReadPair, repeats: int) -> None:
        """Run both sides `repeats` times each, for random printers, after a warm-up."""
        for _ in range(WARMUP_RUNS):
            pair.store(self._printer())
            pair.direct(self._printer())
        for run in range(repeats):
            printer = self._printer()
            sides = [(pair.store, pair.timings[0]), (pair.direct, pair.timings[1])]
            for read, timed in sides if run % 2 == 0 else reversed(sides):
                started = time.perf_counter()
                read(printer)
                timed.ms.append((time.perf_counter() - started) * 1000)

    def _printer(self) -> str:
        return device_id(self._random.randrange(self.history.printers))


def check_consistency(bench: QueryBench, fleet_sql: str, printers: list[str]) -> dict[str, Any]:
    """Compare what the store returns with the direct SQL, and raw-scan buckets with rollups."""
    checks: dict[str, Any] = {"printers_checked": printers}
    for name in WINDOWS_S:
        since, until = bench.window(name)
        store_points, direct_points = [], []
        for printer in printers:
            store_points.append(bench.store.temperature_chart(printer, since, until).points)
            direct_points.append(to_points(bench.direct.rows(bench.chart_sql(name),
                                                             (printer, since, until))))
        checks[name] = {"source": chart_source(since, until)[0],
                        "store_points": [len(points) for points in store_points],
                        "direct_points": [len(points) for points in direct_points],
                        "same_points": store_points == direct_points}
    fleet = bench.store.fleet_overview()
    direct_fleet = bench.direct.rows(fleet_sql)
    checks["fleet_overview"] = {
        "store_rows": len(fleet), "direct_rows": len(direct_fleet),
        "same_printers": [p.device_id for p in fleet] == [row[0] for row in direct_fleet]}
    checks["raw_scan_30d"] = _raw_matches_rollup(bench, printers)
    return checks


def _raw_matches_rollup(bench: QueryBench, printers: list[str]) -> dict[str, Any]:
    since, until = bench.window("chart_30d")
    rollup_buckets = raw_buckets = 0
    worst = 0.0
    equal = True
    for printer in printers:
        rollup = [_comparable(point) for point in to_points(
            bench.direct.rows(bench.chart_sql("chart_30d"), (printer, since, until)))]
        raw = [_raw_comparable(row) for row in bench.direct.rows(bench.raw_sql(),
                                                                (printer, since, until))]
        rollup_buckets += len(rollup)
        raw_buckets += len(raw)
        if len(rollup) != len(raw):
            equal = False
            continue
        for ours, theirs in zip(rollup, raw, strict=True):
            for a, b in zip(ours, theirs, strict=True):
                if (a is None) != (b is None):
                    equal = False
                elif a is not None and b is not None:
                    difference = abs(a - b)
                    worst = max(worst, difference)
                    if difference > MATCH_TOLERANCE * max(1.0, abs(a), abs(b)):
                        equal = False
    return {"rollup_buckets": rollup_buckets, "raw_buckets": raw_buckets, "equal": equal,
            "max_abs_difference": worst}


def _comparable(point: Any) -> tuple:
    values: list[float | None] = [point.t, float(point.samples)]
    for heater in CHART_HEATERS:
        h = point.heaters.get(heater)
        values += [None] * 4 if h is None else [h.avg, h.min, h.max, h.target]
    return tuple(values)


def _raw_comparable(row: tuple) -> tuple:
    # aggregate_select: device_id, bucket, count, then per heater n, sum, min, max, target.
    values: list[float | None] = [float(row[1]), float(row[2])]
    for index in range(len(CHART_HEATERS)):
        n, total, low, high, target = row[3 + 5 * index: 8 + 5 * index]
        if not n and target is None:
            values += [None] * 4  # to_points leaves such a heater out
        else:
            values += [total / n if n else None, low, high, target]
    return tuple(values)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
