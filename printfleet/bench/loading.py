"""Fill a fresh store with the bench's history: devices, telemetry, device state, rollups."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage import SyncStore

from .direct import DirectConnection
from .history import History, device_id, insert_device_history, insert_device_state

Say = Callable[[str], None]

PROGRESS_EVERY_S = 5.0
# Devices per rebuild_rollups call without TimescaleDB, so progress shows.
REBUILD_DEVICES_PER_CALL = 10


@dataclass
class LoadReport:
    telemetry_rows: int = 0
    telemetry_s: float = 0.0
    rollups_s: float = 0.0
    rollup_rows: dict[str, int] = field(default_factory=dict)
    maintenance: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"telemetry_rows": self.telemetry_rows, "telemetry_s": round(self.telemetry_s, 1),
                "telemetry_rows_per_s": round(self.telemetry_rows / max(self.telemetry_s, 1e-9)),
                "rollups_s": round(self.rollups_s, 1), "rollup_rows": self.rollup_rows,
                **self.maintenance}


def load(store: SyncStore, direct: DirectConnection, history: History, say: Say) -> LoadReport:
    """Register the printers, write their history and state, then build the rollups."""
    report = LoadReport()
    devices = [device_id(number) for number in range(history.printers)]
    for number, device in enumerate(devices):
        store.add_device(device, f"Bench printer {number + 1}", None, "no-broker-login")
    _write_history(direct, history, say, report)
    for device in devices:
        direct.execute(insert_device_state(direct.dialect), (device,))
    _build_rollups(store, history, devices, say, report)
    report.rollup_rows = {table: direct.rows(f"SELECT count(*) FROM {table}")[0][0]
                          for table in ("telemetry_1m", "telemetry_1h")}
    report.maintenance = _settle(store, direct, say)
    return report


def _write_history(direct: DirectConnection, history: History, say: Say,
                   report: LoadReport) -> None:
    say(f"bench: writing {history.rows:,} telemetry rows ({history.printers} printers x "
        f"{history.days} days x one per {history.interval_s} s) …")
    started = last_said = time.monotonic()
    for number in range(history.printers):
        report.telemetry_rows += direct.execute(
            insert_device_history(history, number, direct.dialect))
        now = time.monotonic()
        if now - last_said >= PROGRESS_EVERY_S or number == history.printers - 1:
            last_said = now
            say(f"bench:   {number + 1}/{history.printers} printers, "
                f"{report.telemetry_rows:,} rows, "
                f"{report.telemetry_rows / (now - started):,.0f} rows/s")
    report.telemetry_s = time.monotonic() - started
    report.telemetry_rows = direct.rows("SELECT count(*) FROM telemetry")[0][0]


def _build_rollups(store: SyncStore, history: History, devices: list[str], say: Say,
                   report: LoadReport) -> None:
    started = time.monotonic()
    if store.chart_flavour == "timescale":
        say("bench: refreshing the continuous aggregates (telemetry_1m, then telemetry_1h) …")
        store.rebuild_rollups(history.start, history.end)
    else:
        say("bench: rebuilding the rollup tables from raw telemetry (rebuild_rollups) …")
        for first in range(0, len(devices), REBUILD_DEVICES_PER_CALL):
            chunk = devices[first:first + REBUILD_DEVICES_PER_CALL]
            store.rebuild_rollups(history.start, history.end, chunk)
            done = first + len(chunk)
            say(f"bench:   {done}/{len(devices)} printers, "
                f"{done * history.samples_per_device / (time.monotonic() - started):,.0f} "
                "raw rows/s")
    report.rollups_s = time.monotonic() - started


def _settle(store: SyncStore, direct: DirectConnection, say: Say) -> dict[str, Any]:
    """Bring the database to the state it reaches in service before anything is timed.

    PostgreSQL: VACUUM ANALYZE, which autovacuum does after bulk inserts (visibility
    map, planner statistics). TimescaleDB: also the compression policy's job, so
    chunks older than compress_after_days are compressed as in a 30-day-old
    installation. SQLite: nothing; Printfleet never runs ANALYZE there.
    """
    if direct.dialect == "sqlite":
        return {}
    started = time.monotonic()
    say("bench: VACUUM ANALYZE (what autovacuum does after a bulk load) …")
    direct.execute("VACUUM ANALYZE")
    settled: dict[str, Any] = {"vacuum_analyze_s": round(time.monotonic() - started, 1)}
    if store.chart_flavour == "timescale":
        started = time.monotonic()
        say("bench: running the telemetry compression policy once …")
        jobs = direct.rows("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = "
                           "'policy_compression' AND hypertable_name = 'telemetry'")
        for (job,) in jobs:
            direct.execute(f"CALL run_job({int(job)})")
        direct.execute("ANALYZE")
        chunks = direct.rows("SELECT count(*) FILTER (WHERE is_compressed), count(*) FROM "
                             "timescaledb_information.chunks WHERE hypertable_name = 'telemetry'")
        settled.update(compression_s=round(time.monotonic() - started, 1),
                       telemetry_chunks=chunks[0][1], compressed_chunks=chunks[0][0])
    return settled
