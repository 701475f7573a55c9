"""Telemetry rollups: per-device 1-minute and 1-hour aggregates of the chart heaters.

Charts read these instead of raw telemetry, so a 30-day chart touches 720
rows, not 259,200. SQLite and plain PostgreSQL keep them as tables the ingest
transaction updates (only from rows that were new, so a replay never counts
twice); under TimescaleDB they are continuous aggregates with the same names
and columns (storage/postgres/timescale.py).

Each bucket keeps count, sum, min and max per heater rather than an average:
sums and counts add up, so late rows fold into a bucket exactly and the
hourly rollup is the sum of its minutes.
"""

from __future__ import annotations

import math
from typing import Literal

Dialect = Literal["sqlite", "postgres"]

# The heaters charts draw. Their readings are copied out of heaters_json into
# columns at ingest, so neither charts nor rollups parse JSON per row; other
# heaters (tool1, ...) stay in heaters_json.
CHART_HEATERS = ("tool0", "bed", "chamber")

# Rollup table -> bucket width in seconds, finest first.
ROLLUP_WIDTHS_S = {"telemetry_1m": 60, "telemetry_1h": 3600}

HEATER_COLUMNS = tuple(f"{heater}_{part}" for heater in CHART_HEATERS
                       for part in ("actual", "target"))

AGGREGATE_COLUMNS = ("samples",) + tuple(
    f"{heater}_{part}" for heater in CHART_HEATERS
    for part in ("n", "sum", "min", "max", "target"))


def heater_values(heaters: dict) -> tuple[float | None, ...]:
    """The chart heaters' (actual, target) pairs, flattened in HEATER_COLUMNS order."""
    values: list[float | None] = []
    for name in CHART_HEATERS:
        heater = heaters.get(name)
        values += (None, None) if heater is None else (heater.actual, heater.target)
    return tuple(values)


def bucket_expression(width_s: int, dialect: Dialect, ts: str = "ts") -> str:
    """SQL for the start of a reading's bucket, in epoch seconds."""
    if dialect == "sqlite":
        return f"(CAST(({ts}) / {width_s} AS INTEGER) * {width_s})"
    return f"(floor(({ts}) / {width_s}) * {width_s})"


def aggregate_select(source: str, width_s: int, dialect: Dialect, where: str = "true") -> str:
    """SELECT device_id, bucket and AGGREGATE_COLUMNS from raw telemetry rows in `source`."""
    total = "total({})" if dialect == "sqlite" else "COALESCE(sum({}), 0)"
    parts = ["device_id", f"{bucket_expression(width_s, dialect)} AS bucket", "count(*)"]
    for heater in CHART_HEATERS:
        actual, target = f"{heater}_actual", f"{heater}_target"
        parts += [f"count({actual})", total.format(actual), f"min({actual})",
                  f"max({actual})", f"max({target})"]
    return (f"SELECT {', '.join(parts)} FROM {source} WHERE {where} "
            "GROUP BY device_id, bucket ORDER BY device_id, bucket")


def fold_into(table: str, source: str, width_s: int, dialect: Dialect) -> str:
    """An upsert adding new raw rows from `source` into a rollup table's buckets."""
    columns = ", ".join(("device_id", "bucket") + AGGREGATE_COLUMNS)
    return (f"INSERT INTO {table} ({columns}) {aggregate_select(source, width_s, dialect)} "
            f"ON CONFLICT (device_id, bucket) DO UPDATE SET {_merge(table, dialect)}")


def _merge(table: str, dialect: Dialect) -> str:
    def lower(column: str) -> str:
        return _extreme("min", "LEAST", table, column, dialect)

    def upper(column: str) -> str:
        return _extreme("max", "GREATEST", table, column, dialect)

    sets = [f"samples = {table}.samples + excluded.samples"]
    for heater in CHART_HEATERS:
        n, total = f"{heater}_n", f"{heater}_sum"
        sets += [f"{n} = {table}.{n} + excluded.{n}",
                 f"{total} = {table}.{total} + excluded.{total}",
                 f"{heater}_min = {lower(heater + '_min')}",
                 f"{heater}_max = {upper(heater + '_max')}",
                 f"{heater}_target = {upper(heater + '_target')}"]
    return ", ".join(sets)


def _extreme(sqlite_fn: str, postgres_fn: str, table: str, column: str, dialect: Dialect) -> str:
    old, new = f"{table}.{column}", f"excluded.{column}"
    if dialect == "postgres":
        return f"{postgres_fn}({old}, {new})"  # LEAST/GREATEST skip NULLs
    # SQLite's two-argument min/max return NULL if either is NULL.
    return f"{sqlite_fn}(COALESCE({old}, {new}), COALESCE({new}, {old}))"


def rebuild_window(since: float, until: float) -> tuple[float, float]:
    """Widen [since, until) to whole buckets of the widest rollup, so none is left partial."""
    widest = max(ROLLUP_WIDTHS_S.values())
    return math.floor(since / widest) * widest, math.ceil(until / widest) * widest


def rebuild_statements(dialect: Dialect) -> list[str]:
    """Recompute one device's rollup buckets from raw telemetry, params (device_id, since, until).

    Each rollup's buckets in the window are deleted and inserted again from
    aggregate_select, so a rebuild is exact however the buckets were kept
    before (backfills, a fold gone wrong, rows imported around the workers).
    The window must be whole buckets (rebuild_window).
    """
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ", ".join(("device_id", "bucket") + AGGREGATE_COLUMNS)
    in_window = f"device_id = {mark} AND {{column}} >= {mark} AND {{column}} < {mark}"
    statements = []
    for table, width_s in ROLLUP_WIDTHS_S.items():
        statements.append(f"DELETE FROM {table} WHERE {in_window.format(column='bucket')}")
        select = aggregate_select("telemetry", width_s, dialect, in_window.format(column="ts"))
        statements.append(f"INSERT INTO {table} ({columns}) {select}")
    return statements


def fold_values(table: str, dialect: Dialect) -> str:
    """An upsert adding one precomputed bucket (device_id, bucket, AGGREGATE_COLUMNS)."""
    columns = ("device_id", "bucket") + AGGREGATE_COLUMNS
    marks = ", ".join("?" if dialect == "sqlite" else "%s" for _ in columns)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT (device_id, bucket) DO UPDATE SET {_merge(table, dialect)}")


def aggregate_rows(rows: list[tuple], width_s: int, ts_index: int, heaters_index: int
                   ) -> list[tuple]:
    """The fold_values rows for raw telemetry rows, aggregated here instead of in SQL.

    `heaters_index` is where the HEATER_COLUMNS values start in each row.
    """
    buckets: dict[tuple[str, float], list] = {}
    for row in rows:
        key = (row[0], float(row[ts_index] // width_s * width_s))
        aggregate = buckets.get(key)
        if aggregate is None:
            aggregate = buckets[key] = [0] + [0, 0.0, None, None, None] * len(CHART_HEATERS)
        aggregate[0] += 1
        for index in range(len(CHART_HEATERS)):
            _add_reading(aggregate, 1 + 5 * index, row[heaters_index + 2 * index],
                         row[heaters_index + 2 * index + 1])
    return [(device_id, bucket, *aggregate)
            for (device_id, bucket), aggregate in sorted(buckets.items())]


def _add_reading(aggregate: list, at: int, actual: float | None, target: float | None) -> None:
    if actual is not None:
        aggregate[at] += 1
        aggregate[at + 1] += actual
        if aggregate[at + 2] is None or actual < aggregate[at + 2]:
            aggregate[at + 2] = actual
        if aggregate[at + 3] is None or actual > aggregate[at + 3]:
            aggregate[at + 3] = actual
    if target is not None and (aggregate[at + 4] is None or target > aggregate[at + 4]):
        aggregate[at + 4] = target
