"""`printfleet bench web` at a tiny scale: the JSON's shape, loaded rows and positive timings."""

from __future__ import annotations

import json

import pytest

from printfleet.bench.web_fleet import Fleet, job_event_rows
from storage.jobs import build_job_records
from storage.rows import COLUMNS
from tests.storage.postgres_server import server_dsn

from .test_queries import printfleet

pytestmark = pytest.mark.timeout(300)

PRINTERS, DAYS, REPEATS = 3, 2, 4
PAGES = ("printers", "printer_page", "jobs", "jobs_filtered")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_tiny_run_reports_every_page_with_positive_figures(tmp_path, backend):
    extra = ("--dsn", server_dsn()) if backend == "postgres" else ()
    result = printfleet(tmp_path, "bench", "web", "--backend", backend, "--printers",
                        str(PRINTERS), "--days", str(DAYS), "--repeats", str(REPEATS), *extra,
                        "--log-level", "WARNING")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["bench"], report["backend"], report["printers"], report["days"]) == (
        "web", backend, PRINTERS, DAYS)
    assert report["full_size"] is False
    rows = report["load"]["rows"]
    assert rows["devices"] == rows["device_state"] == PRINTERS
    assert rows["telemetry_1h"] == PRINTERS * DAYS * 24
    assert rows["telemetry_1m"] == PRINTERS * 1440
    assert rows["print_jobs"] > PRINTERS * DAYS * 3  # a print every 4-6 hours
    assert rows["job_events"] > 2 * rows["print_jobs"]
    assert rows["presence_events"] == 2 * rows["downtime_reports"] > 0
    assert set(report["pages"]) == set(PAGES)
    for name in PAGES:
        figures = report["pages"][name]
        sides = ["store_ms"] + (["page_ms"] if figures["available"] else [])
        for side in sides:
            timing = figures[side]
            assert timing["runs"] == REPEATS
            assert 0 < timing["p50"] <= timing["p95"] <= timing["max"], (name, side)
        target = report["targets"][f"{name}_p95_ms"]
        assert target["target"] == 300.0
        if figures["available"]:
            assert target["value"] == figures["page_ms"]["p95"]
            assert target["met"] is (target["value"] <= 300.0)
        else:
            assert figures["page_ms"] is None and target["met"] is None
            assert target["note"] == "not available"
    for name in ("printers", "jobs", "jobs_filtered"):
        assert report["pages"][name]["available"] is True
    assert report["all_met"] is all(t["met"] is not False for t in report["targets"].values())
    assert "job_events" in result.stderr and "rows/s" in result.stderr  # progress on stderr
    assert not list(tmp_path.glob("printfleet-bench-*"))


def test_the_synthetic_jobs_fold_into_every_outcome():
    fleet = Fleet(printers=20, days=10, end=1_767_225_600.0, user_id=1)
    events = [dict(zip(COLUMNS["job_events"], row, strict=True))
              for n in range(fleet.printers) for row in job_event_rows(fleet, n)]
    records = build_job_records(events)
    outcomes = {r.outcome for r in records}
    assert outcomes == {"finished", "failed", "cancelled", None}
    assert any(r.pause_count == 1 and r.paused_s == 600.0 for r in records)
    assert all(r.started_at >= fleet.start for r in records)
    assert all(r.ended_at is None or r.ended_at < fleet.end for r in records)
    assert sum(r.outcome is None for r in records) <= fleet.printers  # one running at most each
