"""What the agent adds to job events from a job's file: slicer, filament used, grams."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.base import JobEventRecord
from printfleet_agent.printers.file_facts import file_facts, with_file_facts
from printfleet_agent.printers.octoprint.analysis import facts_from_file_info
from printfleet_gcode import GcodeFacts
from printfleet_protocol.payloads import JobEventKind, JobOrigin

PRUSA = GcodeFacts("PrusaSlicer", "2.7.1", 1000.0, 3.0, "slicer")


def event(kind: JobEventKind, progress: float | None, measured: float | None = None):
    return JobEventRecord(ts=1.0, job_id="j", event=kind, file_name="a.gcode",
                          origin=JobOrigin.PRINTFLEET, progress_pct=progress,
                          filament_used_mm=measured)


@pytest.mark.parametrize(("record", "facts", "streamed", "expected"), [
    # The file's figure times the progress; all of it once finished.
    (event(JobEventKind.PAUSED, 40.0), PRUSA, None, (400.0, 1.2, "PrusaSlicer")),
    (event(JobEventKind.FINISHED, 99.0), PRUSA, None, (1000.0, 3.0, "PrusaSlicer")),
    (event(JobEventKind.STARTED, None), PRUSA, None, (0.0, 0.0, "PrusaSlicer")),
    # What was streamed beats the estimate; what the printer measured beats both.
    (event(JobEventKind.FAILED, 40.0), PRUSA, 455.5, (455.5, 1.37, "PrusaSlicer")),
    (event(JobEventKind.FAILED, 40.0, measured=10.0), PRUSA, 455.5, (10.0, 0.03, "PrusaSlicer")),
    # A file that states no weight gives no grams; no facts change nothing.
    (event(JobEventKind.PAUSED, 50.0), GcodeFacts(None, None, 80.0, None, "extrusion"), None,
     (40.0, None, None)),
    (event(JobEventKind.PAUSED, 50.0, measured=7.0), None, None, (7.0, None, None)),
])
def test_events_get_the_filament_used_so_far(record, facts, streamed, expected):
    enriched = with_file_facts(record, facts, streamed)
    assert (enriched.filament_used_mm, enriched.filament_used_g, enriched.slicer) == expected
    assert (enriched.event, enriched.progress_pct) == (record.event, record.progress_pct)


def test_an_unreadable_file_gives_no_facts(tmp_path):
    assert file_facts(tmp_path / "missing.gcode") is None


@pytest.mark.parametrize(("info", "mm"), [
    ({"gcodeAnalysis": {"filament": {"tool0": {"length": 1234.5, "volume": 2.9}}}}, 1234.5),
    ({"gcodeAnalysis": {"filament": {"tool0": {"length": 100.0}, "tool1": {"length": 20.25}}}},
     120.25),
    ({"gcodeAnalysis": {"filament": {"tool0": {"length": 0.0}}}}, None),
    ({"gcodeAnalysis": {"filament": {"tool0": {"length": "12"}}}}, None),
    ({"gcodeAnalysis": {}}, None),  # analysis still running
    ({"name": "a.gcode"}, None),  # an SD card file: never analysed
    (None, None),
])
def test_octoprints_analysis_gives_the_files_length(info, mm):
    facts = facts_from_file_info(info)
    assert (facts.filament_mm if facts else None) == mm
    assert facts is None or (facts.slicer, facts.filament_g) == (None, None)
