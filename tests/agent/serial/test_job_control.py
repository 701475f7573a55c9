"""Pausing, resuming and cancelling prints; firmware halts; prints from the SD card."""

from __future__ import annotations

import time

import pytest

from printfleet_agent.printers import PrinterError
from printfleet_protocol.payloads import JobEventKind, JobOrigin, PrinterState

from .conftest import EventLog, job_commands, write_gcode

pytestmark = pytest.mark.timeout(30)

# M115, M155 S1 and M420 V take lines 1 to 3; a job's first command is line 4.
FIRST_JOB_LINE = 4
HELD_LINE = 30


def test_pause_stops_feeding_and_resume_finishes_the_job(make_emulator, make_printer, tmp_path):
    emulator = make_emulator(hold_at_line=HELD_LINE)
    printer = make_printer()
    commands = write_gcode(tmp_path / "cube.gcode", 100)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")
    assert emulator.wait_until(lambda: emulator.holding)

    printer.pause(time.time())
    emulator.release()
    assert printer.send_gcode(["M400"]) == ["ok"]  # answered once the held line is
    fed = len(job_commands(emulator))
    assert printer.send_gcode(["M400"]) == ["ok"]
    assert job_commands(emulator)[fed:] == ["M400"]  # no line of the file in between
    paused = printer.poll(time.time())
    assert paused.state is PrinterState.PAUSED
    assert paused.progress_pct is not None and 0 < paused.progress_pct < 100

    printer.resume(time.time())

    log.wait_for(JobEventKind.FINISHED)
    assert log.kinds() == [JobEventKind.STARTED, JobEventKind.PAUSED, JobEventKind.RESUMED,
                           JobEventKind.FINISHED]
    assert [command for command in job_commands(emulator) if command != "M400"] == commands


def test_cancel_stops_feeding_and_sends_the_cancel_sequence(make_emulator, make_printer,
                                                            tmp_path):
    emulator = make_emulator(hold_at_line=HELD_LINE)
    printer = make_printer()
    commands = write_gcode(tmp_path / "cube.gcode", 100)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")
    assert emulator.wait_until(lambda: emulator.holding)

    printer.cancel(time.time())
    emulator.release()
    assert printer.send_gcode(["M400"]) == ["ok"]

    cancelled = log.wait_for(JobEventKind.CANCELLED)
    assert cancelled.reason == "cancelled by request"
    assert log.kinds() == [JobEventKind.STARTED, JobEventKind.CANCELLED]
    printed = HELD_LINE - FIRST_JOB_LINE + 1
    assert job_commands(emulator) == [*commands[:printed], "M108", "M104 S0", "M140 S0", "M400"]
    assert printer.poll(time.time()).state is PrinterState.IDLE


def test_pause_resume_and_cancel_chosen_on_the_printer_are_followed(make_emulator, make_printer,
                                                                    tmp_path):
    emulator = make_emulator(hold_at_line=HELD_LINE)
    printer = make_printer()
    write_gcode(tmp_path / "cube.gcode", 100)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")
    assert emulator.wait_until(lambda: emulator.holding)

    emulator.say("//action:paused")  # Marlin with HOST_ACTION_COMMANDS, paused from its menu
    log.wait_for(JobEventKind.PAUSED)
    emulator.release()
    assert printer.send_gcode(["M400"]) == ["ok"]
    fed = len(job_commands(emulator))
    emulator.say("//action:resume")
    log.wait_for(JobEventKind.RESUMED)
    emulator.say("//action:cancel")
    cancelled = log.wait_for(JobEventKind.CANCELLED)

    assert cancelled.reason == "cancelled on the printer"
    assert fed == HELD_LINE - FIRST_JOB_LINE + 2  # the held line, then only M400 while paused
    assert printer.poll(time.time()).state is PrinterState.IDLE


def test_a_firmware_halt_fails_the_job_with_its_reason(make_emulator, make_printer, tmp_path):
    make_emulator(fatal_at_line=25)
    printer = make_printer()
    write_gcode(tmp_path / "cube.gcode", 100)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")

    failed = log.wait_for(JobEventKind.FAILED)

    assert failed.reason == "MINTEMP triggered, system stopped! Heater_ID: 0"
    assert 0 < (failed.progress_pct or 0) < 100
    assert printer.poll(time.time()).state is PrinterState.ERROR
    with pytest.raises(PrinterError, match="halted"):
        printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                            local_path=tmp_path / "cube.gcode")


def test_a_firmware_restart_fails_the_job_and_the_printer_comes_back(make_emulator, make_printer,
                                                                     tmp_path):
    emulator = make_emulator(hold_at_line=HELD_LINE)
    printer = make_printer()
    write_gcode(tmp_path / "cube.gcode", 100)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")
    assert emulator.wait_until(lambda: emulator.holding)

    emulator.release()
    emulator.press_reset()

    assert log.wait_for(JobEventKind.FAILED).reason == "printer firmware restarted"
    assert printer.wait_until(lambda: printer.poll(time.time()).state is PrinterState.IDLE, 10)
    assert printer.send_gcode(["M400"]) == ["ok"]  # line numbers start afresh on both sides


def test_a_print_started_on_the_printers_panel_is_followed_through_m27(make_emulator,
                                                                      make_printer):
    emulator = make_emulator()
    printer = make_printer()
    log = EventLog(printer)

    emulator.start_sd_print("BENCHY.GCO", 1000)
    started = log.wait_for(JobEventKind.STARTED)
    emulator.advance_sd_print(500)
    assert printer.wait_until(lambda: printer.poll(time.time()).progress_pct == 50, 10)
    emulator.finish_sd_print()
    finished = log.wait_for(JobEventKind.FINISHED)

    assert (started.origin, started.file_name) == (JobOrigin.SD_CARD, "BENCHY.GCO")
    assert finished.job_id == started.job_id and finished.progress_pct == 100
    assert "M27" in emulator.accepted
    assert printer.poll(time.time()).state is PrinterState.IDLE


def test_an_sd_card_print_started_by_printfleet(make_emulator, make_printer):
    emulator = make_emulator()
    printer = make_printer()
    log = EventLog(printer)

    job_id = printer.start_print("CUBE.GCO", JobOrigin.PRINTFLEET, time.time(), "tx-7")
    assert emulator.wait_until(lambda: "M24" in emulator.accepted)
    emulator.advance_sd_print(1024)
    assert printer.wait_until(lambda: printer.poll(time.time()).progress_pct == 25, 10)
    printer.pause(time.time())
    printer.resume(time.time())
    assert emulator.wait_until(lambda: emulator.accepted.count("M24") == 2)
    emulator.finish_sd_print()
    finished = log.wait_for(JobEventKind.FINISHED)

    assert log.kinds() == [JobEventKind.STARTED, JobEventKind.PAUSED, JobEventKind.RESUMED,
                           JobEventKind.FINISHED]
    assert (finished.job_id, finished.command_transaction) == (job_id, "tx-7")
    assert finished.origin is JobOrigin.PRINTFLEET
    assert [c for c in emulator.accepted if c.startswith(("M23", "M24", "M25"))] == [
        "M23 CUBE.GCO", "M24", "M25", "M24"]
