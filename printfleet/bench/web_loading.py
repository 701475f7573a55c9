"""Fill a fresh store for `printfleet bench web`: printers, 30 days of rollups, jobs, downtime.

Bulk writes on a connection of the loader's own (executemany in one
transaction on SQLite, COPY on PostgreSQL); the rollup tables are generated
by the database itself. Raw telemetry is not written: no page reads it
(charts read the rollups), and 259 million rows would only slow the load.
The print_jobs records are then folded by the store's own path
(backfill_print_jobs), the one ingest and migrations use.
"""

from __future__ import annotations

import datetime
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from storage import SyncStore
from storage.rows import COLUMNS

from .history import device_id
from .web_fleet import (
    Fleet,
    command_rows,
    downtime_rows,
    facts_json,
    job_event_rows,
    presence_rows,
)

Say = Callable[[str], None]
PROGRESS_EVERY_S = 5.0
ROWS_PER_WRITE = 50_000
TIMED = {"job_events", "presence_events", "downtime_reports"}  # PostgreSQL's `time` column
_ROLLUP_COLUMNS = ("device_id", "bucket", "samples", "tool0_n", "tool0_sum", "tool0_min",
                   "tool0_max", "tool0_target", "bed_n", "bed_sum", "bed_min", "bed_max",
                   "bed_target", "chamber_n", "chamber_sum", "chamber_min", "chamber_max",
                   "chamber_target")
ROLLUP_SPANS = {"telemetry_1h": (3600, None), "telemetry_1m": (60, 86400)}  # width, last span


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
                "total_s": round(sum(self.seconds.values()), 1)}


class BulkWriter:
    """The loader's own connection: many rows per round trip, in a transaction per call."""

    def __init__(self, sqlite_path: Path | None = None, dsn: str | None = None) -> None:
        self.dialect = "sqlite" if dsn is None else "postgres"
        self._sqlite = None if sqlite_path is None else sqlite3.connect(sqlite_path,
                                                                          isolation_level=None)
        self._pg = None if dsn is None else psycopg.connect(dsn, autocommit=True)

    def write(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        """Insert rows; return how many."""
        if self._pg is not None:
            if table in TIMED:
                columns = (*columns, "time")
                rows = (row + (_utc(row[2]),) for row in rows)
            count = 0
            with self._pg.transaction(), self._pg.cursor() as cursor, cursor.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        assert self._sqlite is not None
        marks = ", ".join("?" for _ in columns)
        self._sqlite.execute("BEGIN IMMEDIATE")
        written = self._sqlite.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows).rowcount
        self._sqlite.execute("COMMIT")
        return written

    def execute(self, sql: str) -> int:
        if self._pg is not None:
            return self._pg.execute(sql).rowcount  # type: ignore[arg-type]
        assert self._sqlite is not None
        before = self._sqlite.total_changes
        self._sqlite.execute("BEGIN IMMEDIATE")
        self._sqlite.execute(sql)
        self._sqlite.execute("COMMIT")
        return self._sqlite.total_changes - before

    def close(self) -> None:
        for connection in (self._sqlite, self._pg):
            if connection is not None:
                connection.close()


def load(store: SyncStore, writer: BulkWriter, fleet: Fleet, say: Say) -> LoadReport:
    """Register the printers, then write their history table by table, then fold the jobs."""
    report = LoadReport()
    numbers = range(fleet.printers)
    now = fleet.end
    steps: list[tuple[str, tuple[str, ...], Callable[[int], Iterable[tuple]]]] = [
        ("devices", ("device_id", "owner_user_id", "name", "mqtt_password_hash", "created_at"),
         lambda n: [(device_id(n), fleet.user_id, f"Bench printer {n + 1}", "no-login",
                     fleet.start - 86400)]),
        ("device_state", ("device_id", "presence", "presence_source", "presence_changed_at",
                          "last_seen_at", "printer_state", "heaters_json", "progress_pct",
                          "time_left_s", "telemetry_ts"),
         lambda n: [(device_id(n), "online", "device", now - 3600, now - 2, "printing",
                     '{"bed":{"actual":60.1,"target":60.0},"tool0":{"actual":209.6,'
                     '"target":210.0}}', 42.0 + n % 50, 3600.0 - n, now - 2)]),
        # Downtime logging on since they were added, so the printer page reads
        # (and the bench times) their whole downtime history.
        ("device_settings", ("device_id", "downtime_logging", "changed_at", "changed_by"),
         lambda n: [(device_id(n), 1, fleet.start - 86400, fleet.user_id)]),
        ("device_facts", COLUMNS["device_facts"],
         lambda n: [(device_id(n), 1, fleet.start, fleet.start + 1, facts_json(n))]),
        ("device_commands", ("transaction_id", "device_id", "user_id", "kind", "args_json",
                             "issued_at", "expires_at"), lambda n: command_rows(fleet, n)),
        ("job_events", COLUMNS["job_events"], lambda n: job_event_rows(fleet, n)),
        ("presence_events", ("device_id", "seq", "ts", "received_at", "status", "source"),
         lambda n: presence_rows(fleet, n)),
        ("downtime_reports", COLUMNS["downtime_reports"], lambda n: downtime_rows(fleet, n)),
    ]
    for table, columns, rows_of in steps:
        started = time.monotonic()
        report.rows[table] = _write_all(writer, table, columns, numbers, rows_of, say)
        report.seconds[table] = time.monotonic() - started
    for table, (width_s, span_s) in ROLLUP_SPANS.items():
        started = time.monotonic()
        first = fleet.start if span_s is None else fleet.end - span_s
        say(f"bench: generating {table} from {_day(first)} ({width_s} s buckets) …")
        report.rows[table] = writer.execute(rollup_sql(writer.dialect, table, width_s, first,
                                                       fleet.end))
        report.seconds[table] = time.monotonic() - started
    started = time.monotonic()
    say("bench: folding the job events into print_jobs (the store's backfill_print_jobs) …")
    report.rows["print_jobs"] = store.backfill_print_jobs()
    report.seconds["print_jobs"] = time.monotonic() - started
    if writer.dialect == "postgres":
        started = time.monotonic()
        say("bench: VACUUM ANALYZE (what autovacuum does after a bulk load) …")
        writer.execute("VACUUM ANALYZE")
        report.seconds["vacuum_analyze"] = time.monotonic() - started
    return report


def _write_all(writer: BulkWriter, table: str, columns: tuple[str, ...], numbers: range,
               rows_of: Callable[[int], Iterable[tuple]], say: Say) -> int:
    """Write every printer's rows for one table in large chunks, saying how far it got."""
    total, started, last_said = 0, time.monotonic(), time.monotonic()
    chunk: list[tuple] = []
    for n in numbers:
        chunk.extend(rows_of(n))
        last = n == numbers[-1]
        if len(chunk) >= ROWS_PER_WRITE or last:
            total += writer.write(table, columns, chunk)
            chunk = []
        now = time.monotonic()
        if now - last_said >= PROGRESS_EVERY_S or last:
            last_said = now
            say(f"bench:   {table}: {n + 1}/{len(numbers)} printers, {total:,} rows, "
                f"{total / max(now - started, 1e-9):,.0f} rows/s")
    return total


def rollup_sql(dialect: str, table: str, width_s: int, first: float, end: float) -> str:
    """One INSERT ... SELECT writing every printer's buckets of one rollup over [first, end)."""
    count = int((end - first) // width_s)
    samples = width_s // 10
    series = (f"generate_series(0, {count - 1}) AS b(i)" if dialect == "postgres" else "b")
    prefix = ("" if dialect == "postgres" else "WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL "
              f"SELECT i + 1 FROM b WHERE i < {count - 1}) ")
    wobble = "(i % 10)"
    values = (f"d.device_id, {first!r} + i * {width_s}, {samples}, "
              f"{samples}, {samples} * (200.0 + {wobble}), 195.0 + {wobble}, 205.0 + {wobble}, "
              f"210.0, {samples}, {samples} * 60.0, 59.5, 60.5, 60.0, 0, 0.0, NULL, NULL, NULL")
    return (f"{prefix}INSERT INTO {table} ({', '.join(_ROLLUP_COLUMNS)}) SELECT {values} "
            f"FROM devices d CROSS JOIN {series} ORDER BY d.device_id, i")


def _utc(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def _day(epoch: float) -> str:
    return _utc(epoch).strftime("%Y-%m-%d %H:%M UTC")

