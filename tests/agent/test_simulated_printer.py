"""The simulated printer, driven by an explicit clock."""

from __future__ import annotations

import pytest

from printfleet_agent.printers import PrinterError, SimulatedPrinter, SimulatedPrinterSettings
from printfleet_protocol.payloads import JobEventKind, JobOrigin, PrinterState


def printer(fail_probability: float = 0.0, seed: int = 1) -> SimulatedPrinter:
    simulated = SimulatedPrinter(SimulatedPrinterSettings(
        job_duration_s=60, fail_probability=fail_probability, auto_start_after_s=0, seed=seed))
    simulated.connect()
    return simulated


def run(simulated: SimulatedPrinter, start: float, seconds: int, step: float = 1.0) -> float:
    now = start
    for _ in range(int(seconds / step)):
        now += step
        simulated.poll(now)
    return now


def test_heats_up_prints_and_finishes():
    simulated = printer()
    simulated.poll(0)
    simulated.start_print("cube.gcode", JobOrigin.PRINTFLEET, 0)
    heating = simulated.poll(5)
    assert heating.state is PrinterState.PRINTING
    assert heating.progress_pct == 0  # not at temperature yet
    assert 22 < heating.heaters["tool0"].actual < 215
    now = run(simulated, 5, 300)
    done = simulated.poll(now)
    assert done.state is PrinterState.IDLE
    events = simulated.drain_events()
    assert [e.event for e in events] == [JobEventKind.STARTED, JobEventKind.FINISHED]
    assert events[-1].progress_pct == 100.0
    assert events[-1].filament_used_mm and events[-1].filament_used_mm > 0
    assert simulated.drain_events() == []


def test_a_downloaded_files_slicer_and_filament_are_reported(tmp_path):
    import gzip
    from pathlib import Path

    from printfleet_gcode import read_facts

    files = Path(__file__).parents[1] / "gcode" / "files"
    path = tmp_path / "cube.gcode"
    path.write_bytes(gzip.decompress((files / "prusaslicer-2.5.0-cube.gcode.gz").read_bytes()))
    whole = read_facts(path).filament_mm
    simulated = printer()
    simulated.poll(0)
    simulated.start_print("cube.gcode", JobOrigin.PRINTFLEET, 0, local_path=path)
    run(simulated, 0, 300)
    started, finished = simulated.drain_events()
    assert (finished.slicer, finished.slicer_version) == ("PrusaSlicer", "2.5.0")
    assert started.slicer == "PrusaSlicer" and started.filament_used_mm == 0
    assert whole and finished.filament_used_mm == pytest.approx(whole, abs=0.01)


def test_pause_stops_progress_and_resume_continues():
    simulated = printer()
    simulated.poll(0)
    simulated.start_print("cube.gcode", JobOrigin.PRINTFLEET, 0)
    now = run(simulated, 0, 120)  # heated, and part-way
    before = simulated.poll(now).progress_pct
    simulated.pause(now)
    now = run(simulated, now, 20)
    paused = simulated.poll(now)
    assert paused.state is PrinterState.PAUSED
    assert paused.progress_pct == before
    with pytest.raises(PrinterError):
        simulated.pause(now)
    simulated.resume(now)
    now = run(simulated, now, 5)
    assert simulated.poll(now).progress_pct > before


def test_a_doomed_job_fails_with_a_reason():
    simulated = printer(fail_probability=1.0)
    simulated.poll(0)
    simulated.start_print("cube.gcode", JobOrigin.SD_CARD, 0)
    run(simulated, 0, 400)
    events = simulated.drain_events()
    assert events[-1].event is JobEventKind.FAILED
    assert "thermal runaway" in events[-1].reason
    assert 5 <= events[-1].progress_pct <= 95


def test_busy_and_disconnected_printers_refuse_requests():
    simulated = printer()
    simulated.poll(0)
    simulated.start_print("a.gcode", JobOrigin.PRINTFLEET, 0)
    with pytest.raises(PrinterError, match="busy"):
        simulated.start_print("b.gcode", JobOrigin.PRINTFLEET, 1)
    simulated.disconnect()
    assert simulated.poll(2).state is PrinterState.DISCONNECTED
    with pytest.raises(PrinterError, match="not connected"):
        simulated.send_gcode(["M105"])


def test_auto_start_begins_a_new_job_after_idle_time():
    simulated = SimulatedPrinter(SimulatedPrinterSettings(job_duration_s=30, auto_start_after_s=10,
                                                          fail_probability=0, seed=3))
    simulated.connect()
    simulated.poll(0)
    run(simulated, 0, 12)
    events = simulated.drain_events()
    assert [e.event for e in events] == [JobEventKind.STARTED]
    assert events[0].origin is JobOrigin.SIMULATOR
