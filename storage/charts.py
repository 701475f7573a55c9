"""Temperature charts: which table answers a time range, and the SQL that reads it.

The SQL is built here, not inside a backend, so `printfleet bench queries`
can run exactly the statement the store runs and compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .rollups import CHART_HEATERS, ROLLUP_WIDTHS_S, Dialect, aggregate_select

Flavour = Literal["sqlite", "postgres", "timescale"]

# The finest source whose points over the range stay a readable few thousand.
RAW_UP_TO_S = 6 * 3600
MINUTES_UP_TO_S = 7 * 86400


# Not frozen: a frozen dataclass's __init__ costs about three times as much,
# and a 24-hour chart builds some 5,000 of these per read.
@dataclass(slots=True)
class HeaterPoint:
    avg: float | None
    min: float | None
    max: float | None
    target: float | None


@dataclass(slots=True)
class ChartPoint:
    t: float          # sample time, or the start of the bucket
    samples: int
    heaters: dict[str, HeaterPoint]


@dataclass(frozen=True, slots=True)
class TemperatureChart:
    device_id: str
    source: str       # telemetry, telemetry_1m or telemetry_1h
    step_s: int       # 0 for raw samples
    points: list[ChartPoint]


def chart_source(since: float, until: float) -> tuple[str, int]:
    """Pick raw telemetry or a rollup for a range: (table, bucket width in s, 0 for raw)."""
    span = until - since
    if span <= RAW_UP_TO_S:
        return "telemetry", 0
    if span <= MINUTES_UP_TO_S:
        return "telemetry_1m", ROLLUP_WIDTHS_S["telemetry_1m"]
    return "telemetry_1h", ROLLUP_WIDTHS_S["telemetry_1h"]


def chart_query(source: str, flavour: Flavour) -> str:
    """SQL for one device's chart rows from `source`, params (device_id, since, until)."""
    mark = "?" if flavour == "sqlite" else "%s"
    if source == "telemetry":
        columns = ", ".join(f"{h}_actual, {h}_actual, {h}_actual, {h}_target"
                            for h in CHART_HEATERS)
        when = "time" if flavour == "timescale" else "ts"
        return (f"SELECT ts, 1, {columns} FROM telemetry WHERE device_id = {mark} "
                f"AND {_range(when, mark, flavour)} ORDER BY {when}")
    columns = ", ".join(f"{h}_sum / NULLIF({h}_n, 0), {h}_min, {h}_max, {h}_target"
                        for h in CHART_HEATERS)
    bucket = "extract(epoch FROM bucket)" if flavour == "timescale" else "bucket"
    return (f"SELECT {bucket}, samples, {columns} FROM {source} WHERE device_id = {mark} "
            f"AND {_range('bucket', mark, flavour)} ORDER BY bucket")


def raw_rollup_query(width_s: int, flavour: Flavour) -> str:
    """The same buckets as a rollup, computed by scanning raw telemetry (for comparison)."""
    mark = "?" if flavour == "sqlite" else "%s"
    dialect: Dialect = "sqlite" if flavour == "sqlite" else "postgres"
    when = "time" if flavour == "timescale" else "ts"
    return aggregate_select("telemetry", width_s, dialect,
                            where=f"device_id = {mark} AND {_range(when, mark, flavour)}")


def _range(column: str, mark: str, flavour: Flavour) -> str:
    if flavour == "timescale":  # constant bounds let the planner skip chunks
        return f"{column} >= to_timestamp({mark}) AND {column} < to_timestamp({mark})"
    return f"{column} >= {mark} AND {column} < {mark}"


def to_points(rows: list[tuple]) -> list[ChartPoint]:
    """Turn chart_query rows into points."""
    points = []
    for row in rows:
        heaters = {}
        for name, first in _HEATER_OFFSETS:
            avg, target = row[first], row[first + 3]
            if avg is not None or target is not None:
                heaters[name] = HeaterPoint(avg, row[first + 1], row[first + 2], target)
        points.append(ChartPoint(float(row[0]), int(row[1]), heaters))
    return points


# Where each heater's (avg, min, max, target) start in a chart_query row.
_HEATER_OFFSETS = tuple((name, 2 + 4 * index) for index, name in enumerate(CHART_HEATERS))
