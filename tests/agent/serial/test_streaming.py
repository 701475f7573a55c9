"""Prints streamed through a pseudo-terminal to the Marlin emulator, line for line."""

from __future__ import annotations

import time

import pytest

from printfleet_agent.printers.serial import stream_file
from printfleet_protocol.payloads import JobEventKind, JobOrigin

from .conftest import FAST, EventLog, job_commands, write_gcode

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("window", [1, 4])
def test_every_line_is_acknowledged_once_and_in_order(make_emulator, make_printer, tmp_path,
                                                      window):
    emulator = make_emulator()
    printer = make_printer(inflight_lines=window)
    commands = write_gcode(tmp_path / "cube.gcode", 400)
    log = EventLog(printer)

    job_id = printer.start_print("cube.gcode", JobOrigin.SIMULATOR, time.time(),
                                 command_transaction="tx-1", local_path=tmp_path / "cube.gcode")

    finished = log.wait_for(JobEventKind.FINISHED)
    assert log.kinds() == [JobEventKind.STARTED, JobEventKind.FINISHED]
    assert finished.job_id == job_id and finished.progress_pct == 100
    assert finished.origin is JobOrigin.PRINTFLEET  # started by the agent with a transaction
    assert finished.command_transaction == "tx-1"
    assert job_commands(emulator) == commands
    assert emulator.errors_sent == []


def test_a_job_without_transaction_keeps_the_origin_given(make_emulator, make_printer, tmp_path):
    make_emulator()
    printer = make_printer()
    write_gcode(tmp_path / "cube.gcode", 3)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.OCTOPRINT_UI, time.time(),
                        local_path=tmp_path / "cube.gcode")
    assert log.wait_for(JobEventKind.FINISHED).origin is JobOrigin.OCTOPRINT_UI


@pytest.mark.parametrize("window", [1, 4])
def test_resend_requests_and_checksum_errors_lose_and_repeat_nothing(make_emulator, make_printer,
                                                                     tmp_path, window):
    # The emulator rejects every 13th line and three more as corrupted, answering
    # "Error:checksum mismatch, Last Line: N", "Resend: N+1", "ok" as Marlin does;
    # with lines in flight behind a rejected one, those draw "Line Number is not
    # Last Line Number+1" too. Temperatures are polled with M105 all along.
    emulator = make_emulator(resend_every=13, corrupt_lines=frozenset({8, 9, 40}),
                             autoreport_temp=False)
    printer = make_printer(inflight_lines=window)
    commands = write_gcode(tmp_path / "vase.gcode", 300)
    log = EventLog(printer)

    printer.start_print("vase.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "vase.gcode")

    log.wait_for(JobEventKind.FINISHED)
    assert job_commands(emulator) == commands
    assert emulator.errors_sent.count("checksum mismatch") >= 300 // 13
    assert "M105" in emulator.accepted


def test_busy_keeps_a_long_command_alive_past_the_reply_timeout(make_emulator, make_printer,
                                                                tmp_path):
    emulator = make_emulator(busy_interval_s=0.05)
    printer = make_printer(response_timeout_s=0.3)
    commands = write_gcode(tmp_path / "dwell.gcode", 6, extra=lambda i: "G4 P700" if i == 2 else "")
    log = EventLog(printer)

    printer.start_print("dwell.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "dwell.gcode")

    assert log.wait_for(JobEventKind.FINISHED).reason is None
    assert job_commands(emulator) == commands


def test_silence_while_a_line_waits_ends_the_job_and_reconnects(make_emulator, make_printer,
                                                                tmp_path):
    emulator = make_emulator(hold_at_line=20)  # swallows line 20 without a word
    printer = make_printer(response_timeout_s=0.4)
    write_gcode(tmp_path / "cube.gcode", 100)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")

    failed = log.wait_for(JobEventKind.FAILED)
    assert failed.reason == "printer connection lost: no reply for 0.4 s"
    emulator.release()
    assert printer.wait_until(lambda: printer.poll(time.time()).state == "idle", 10)


@pytest.mark.parametrize("window", [1, 4])
def test_stream_file_measures_lines_per_second(make_emulator, port_path, tmp_path, window):
    emulator = make_emulator()
    commands = write_gcode(tmp_path / "bench.gcode", 500)
    rate = stream_file(str(port_path), tmp_path / "bench.gcode", window, settings=FAST)
    assert rate > 0
    assert job_commands(emulator) == commands
