"""JobTracker: OctoPrint's print events and states in, Printfleet job events out."""

from __future__ import annotations

import itertools

import pytest

from printfleet_agent.printers.octoprint.jobs import (
    ADOPTED_REASON,
    GAP_REASON,
    JobTracker,
    OctoPrintJobStatus,
)
from printfleet_protocol.payloads import JobEventKind, JobOrigin

STARTED, PAUSED, RESUMED = JobEventKind.STARTED, JobEventKind.PAUSED, JobEventKind.RESUMED
FINISHED, CANCELLED, FAILED = JobEventKind.FINISHED, JobEventKind.CANCELLED, JobEventKind.FAILED
LOCAL = {"origin": "local", "path": "cube.gcode", "name": "cube.gcode"}
SD = {"origin": "sdcard", "path": "cube~1.gco", "name": "cube~1.gco"}


def tracker() -> JobTracker:
    counter = itertools.count(1)
    return JobTracker(new_job_id=lambda: f"job{next(counter)}")


def feed(jobs: JobTracker, events: list[tuple[str, dict]]) -> list[tuple]:
    for ts, (kind, payload) in enumerate(events):
        jobs.handle_event(kind, payload, float(ts))
    return [(e.event, e.job_id, e.origin, e.progress_pct, e.reason) for e in jobs.drain()]


@pytest.mark.parametrize(("events", "expected"), [
    pytest.param(
        [("PrintStarted", LOCAL), ("PrintPaused", {**LOCAL, "progress": 40}),
         ("PrintResumed", LOCAL), ("PrintDone", {**LOCAL, "time": 12.5})],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, None),
         (PAUSED, "job1", JobOrigin.OCTOPRINT_UI, 40.0, None),
         (RESUMED, "job1", JobOrigin.OCTOPRINT_UI, 40.0, None),
         (FINISHED, "job1", JobOrigin.OCTOPRINT_UI, 100.0, None)],
        id="paused-and-finished"),
    pytest.param(
        [("PrintStarted", SD), ("PrintCancelling", SD), ("PrintCancelled", {**SD, "progress": 37}),
         ("PrintFailed", {**SD, "progress": 37, "reason": "cancelled"})],
        [(STARTED, "job1", JobOrigin.SD_CARD, 0.0, None),
         (CANCELLED, "job1", JobOrigin.SD_CARD, 37.0, None)],
        id="cancelled-from-sd-once"),
    pytest.param(
        [("PrintStarted", LOCAL), ("Error", {"error": "MAXTEMP triggered!", "reason": "firmware"}),
         ("PrintFailed", {**LOCAL, "reason": "error", "progress": 0.25, "error": "MAXTEMP triggered!"})],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, None),
         (FAILED, "job1", JobOrigin.OCTOPRINT_UI, 25.0, "MAXTEMP triggered!")],
        id="failed-with-error-fraction"),
    pytest.param(
        [("PrintStarted", LOCAL), ("Error", {"error": "Thermal runaway"}),
         ("PrintFailed", {**LOCAL, "reason": "error"})],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, None),
         (FAILED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, "Thermal runaway")],
        id="failed-reason-from-error-event"),
    pytest.param(
        [("PrintStarted", LOCAL), ("PrintCancelling", {**LOCAL, "firmwareError": "Heater failed"}),
         ("PrintCancelled", {**LOCAL, "progress": 12})],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, None),
         (FAILED, "job1", JobOrigin.OCTOPRINT_UI, 12.0, "firmware error: Heater failed")],
        id="cancelled-by-firmware-error-is-a-failure"),
    pytest.param(
        [("PrintPaused", {**LOCAL, "progress": 10}), ("PrintDone", LOCAL)],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, 10.0, ADOPTED_REASON),
         (PAUSED, "job1", JobOrigin.OCTOPRINT_UI, 10.0, None),
         (FINISHED, "job1", JobOrigin.OCTOPRINT_UI, 100.0, None)],
        id="start-unseen"),
    pytest.param(
        [("PrintStarted", LOCAL), ("PrintStarted", SD), ("PrintDone", SD)],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, None),
         (FAILED, "job1", JobOrigin.OCTOPRINT_UI, 0.0, GAP_REASON),
         (STARTED, "job2", JobOrigin.SD_CARD, 0.0, None),
         (FINISHED, "job2", JobOrigin.SD_CARD, 100.0, None)],
        id="end-unseen"),
    pytest.param(
        [("PrintFailed", {**LOCAL, "reason": "cancelled"}), ("ClientOpened", {}), ("PrintResumed", {})],
        [(STARTED, "job1", JobOrigin.OCTOPRINT_UI, None, ADOPTED_REASON),
         (RESUMED, "job1", JobOrigin.OCTOPRINT_UI, None, None)],
        id="stray-events"),
])
def test_events_from_octoprint(events, expected):
    assert feed(tracker(), events) == expected


def test_a_start_printfleet_announced_carries_its_origin_and_transaction():
    jobs = tracker()
    job_id = jobs.expect("local", "/part.gcode", "part (1).gcode", JobOrigin.PRINTFLEET, "tx-1", 0.0)
    jobs.handle_event("PrintStarted", {"origin": "local", "path": "part.gcode"}, 1.0)
    jobs.handle_event("PrintDone", {"origin": "local", "path": "part.gcode"}, 2.0)
    events = jobs.drain()
    assert [(e.event, e.job_id, e.file_name, e.origin, e.command_transaction) for e in events] == [
        (STARTED, job_id, "part (1).gcode", JobOrigin.PRINTFLEET, "tx-1"),
        (FINISHED, job_id, "part (1).gcode", JobOrigin.PRINTFLEET, "tx-1")]


def test_a_forgotten_or_stale_expectation_is_not_matched():
    jobs = tracker()
    failed = jobs.expect("local", "a.gcode", "a.gcode", JobOrigin.PRINTFLEET, "tx-1", 0.0)
    jobs.forget(failed)
    jobs.expect("local", "b.gcode", "b.gcode", JobOrigin.PRINTFLEET, "tx-2", 0.0)
    jobs.expect("local", "c.gcode", "c.gcode", JobOrigin.PRINTFLEET, "tx-3", 500.0)  # b is stale
    for path in ("a.gcode", "b.gcode"):
        jobs.handle_event("PrintStarted", {"origin": "local", "path": path}, 501.0)
    assert [(e.file_name, e.origin) for e in jobs.drain() if e.event is STARTED] == [
        ("a.gcode", JobOrigin.OCTOPRINT_UI), ("b.gcode", JobOrigin.OCTOPRINT_UI)]


def test_reconcile_adopts_a_running_print_once():
    jobs = tracker()
    jobs.reconcile(OctoPrintJobStatus(True, True, "local", "cube.gcode", 42.0), 5.0)
    # The socket may still deliver the PrintStarted reconcile already accounted for.
    jobs.handle_event("PrintStarted", LOCAL, 5.1)
    jobs.handle_event("PrintResumed", LOCAL, 6.0)
    events = jobs.drain()
    assert [(e.event, e.progress_pct, e.reason) for e in events] == [
        (STARTED, 42.0, ADOPTED_REASON), (PAUSED, 42.0, None), (RESUMED, 42.0, None)]
    assert jobs.active_job_id == "job1"


@pytest.mark.parametrize(("status", "expected"), [
    (OctoPrintJobStatus(False, False, "local", "cube.gcode", 100.0), [(FINISHED, None)]),
    (OctoPrintJobStatus(False, False, None, None, None), [(FAILED, GAP_REASON)]),
    (OctoPrintJobStatus(True, False, "local", "other.gcode", 3.0),
     [(FAILED, GAP_REASON), (STARTED, ADOPTED_REASON)]),
    (OctoPrintJobStatus(True, True, "local", "cube.gcode", 50.0), [(PAUSED, None)]),
    (OctoPrintJobStatus(True, False, "local", "cube.gcode", 50.0), []),
])
def test_reconcile_reports_what_a_gap_hid(status, expected):
    jobs = tracker()
    jobs.handle_event("PrintStarted", LOCAL, 0.0)
    jobs.drain()
    jobs.reconcile(status, 9.0)
    assert [(e.event, e.reason) for e in jobs.drain()] == expected
