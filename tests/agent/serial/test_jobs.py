"""Job bookkeeping: events, time left from progress, SD card prints noticed from M27."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.serial.jobs import UNNAMED_SD_FILE, JobTracker
from printfleet_agent.printers.serial.replies import (
    SdDone,
    SdFileOpened,
    SdNotPrinting,
    SdProgress,
)
from printfleet_protocol.payloads import JobEventKind, JobOrigin

pytestmark = pytest.mark.timeout(10)


def test_time_left_comes_from_printing_time_and_progress_without_pauses():
    tracker = JobTracker()
    tracker.observe_sd(SdProgress(0, 1000), now=0.0)
    tracker.pause(now=40.0)
    tracker.resume(now=90.0)  # 50 s paused do not count
    tracker.observe_sd(SdProgress(250, 1000), now=100.0)
    job = tracker.job
    assert job is not None and job.progress_pct == 25
    assert job.time_left_s(100.0) == 150.0  # 50 s printing for 25 %: 150 s for the rest
    assert job.time_left_s(0.0) is None


def test_an_sd_print_from_the_panel_is_named_from_file_opened_and_finishes():
    tracker = JobTracker()
    tracker.observe_sd(SdNotPrinting(), now=0.0)
    tracker.observe_sd(SdFileOpened("BENCHY.GCO", 1000), now=1.0)
    tracker.observe_sd(SdProgress(10, 1000), now=2.0)
    tracker.observe_sd(SdProgress(500, 1000), now=3.0)
    tracker.observe_sd(SdDone(), now=4.0)
    events = tracker.drain()
    assert [e.event for e in events] == [JobEventKind.STARTED, JobEventKind.FINISHED]
    assert {e.file_name for e in events} == {"BENCHY.GCO"}
    assert {e.origin for e in events} == {JobOrigin.SD_CARD}
    assert events[-1].progress_pct == 100


def test_an_sd_print_that_stops_without_finishing_is_reported_cancelled():
    tracker = JobTracker()
    tracker.observe_sd(SdProgress(10, 1000), now=0.0)
    tracker.observe_sd(SdNotPrinting(), now=5.0)
    events = tracker.drain()
    assert [e.event for e in events] == [JobEventKind.STARTED, JobEventKind.CANCELLED]
    assert events[0].file_name == UNNAMED_SD_FILE
    assert events[-1].reason == "the printer stopped printing from its SD card"


def test_a_paused_sd_print_is_not_taken_for_a_stopped_one():
    tracker = JobTracker()
    tracker.observe_sd(SdProgress(10, 1000), now=0.0)
    tracker.pause(now=1.0)
    tracker.observe_sd(SdNotPrinting(), now=2.0)
    assert tracker.job is not None
    assert [e.event for e in tracker.drain()] == [JobEventKind.STARTED, JobEventKind.PAUSED]


def test_a_long_reason_is_cut_to_the_schema_limit():
    tracker = JobTracker()
    tracker.observe_sd(SdProgress(10, 1000), now=0.0)
    tracker.end(1.0, JobEventKind.FAILED, "x" * 1000)
    assert len(tracker.drain()[-1].reason or "") == 256
