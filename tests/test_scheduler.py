"""The scheduler process: its jobs are registered once and the retention jobs follow the settings."""

from __future__ import annotations

import asyncio
import time

from printfleet import scheduler
from printfleet.retention import Retention
from printfleet.settings import with_changes
from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, Telemetry
from storage import Accepted, open_ingest_store
from storage.retention import DAY_S

RETENTION_JOBS = {"retention_job_pictures", "retention_telemetry", "retention_telemetry_1m",
                  "retention_telemetry_1h", "retention_events", "retention_downtime",
                  "retention_sessions", "retention_actions", "retention_rejects",
                  "retention_exports"}


def test_the_scheduler_runs_the_watchdog_and_hourly_retention_per_class(context, store):
    jobs = {job.id: job for job in scheduler.build_scheduler(context.settings, store).get_jobs()}
    assert set(jobs) == {"presence_watchdog", "notification_scan", "notification_dispatch",
                         "printer_settings", "print_locations", "data_exports",
                         *RETENTION_JOBS}
    for job_id in RETENTION_JOBS:
        assert jobs[job_id].trigger.interval.total_seconds() == 3600


def test_the_retention_job_keeps_what_the_settings_say(context, store):
    settings = with_changes(context.settings, retention={"telemetry_days": 10})
    now = time.time()

    async def write() -> None:
        ingest = open_ingest_store(settings)
        await ingest.start()
        await ingest.write_batch([Accepted("r-1", Family.TELEMETRY, Telemetry(
            v=SCHEMA_VERSION, ts=now - age_days * DAY_S, seq=seq, state="idle",
            heaters={"bed": Heater(21.0)}), now) for seq, age_days in enumerate((12, 11, 9, 1))],
            [])
        await ingest.stop()

    asyncio.run(write())
    outcome = scheduler.run_retention_class(Retention(settings, store), "telemetry")
    assert outcome.rows == 2
    assert [row["seq"] for row in store.table_rows("telemetry", "r-1")] == [2, 3]
    [run] = store.retention_runs()
    assert (run.data_class, run.preview, run.triggered_by, run.rows_removed) == (
        "telemetry", False, "schedule", 2)
