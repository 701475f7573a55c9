"""Connecting: what the firmware says about itself, baud rates, pulled cables, reconnects."""

from __future__ import annotations

import time

import pytest

from printfleet_agent.bench.emulator.emulated_firmware import MESH_SIZE, mesh_value
from printfleet_agent.printers import PrinterError
from printfleet_protocol.payloads import JobEventKind, JobOrigin, PrinterState

from .conftest import WAIT_S, EventLog, write_gcode

pytestmark = pytest.mark.timeout(30)

EMULATED_MESH = [[mesh_value(x, y) for x in range(MESH_SIZE)] for y in range(MESH_SIZE)]


def state_of(printer) -> PrinterState:
    return printer.poll(time.time()).state


@pytest.mark.parametrize(("dialect", "name", "version", "mesh_command"), [
    ("marlin", "Marlin", "2.1.2.1", "M420 V"),
    ("prusa", "Prusa-Firmware", "3.13.2", "G81"),
])
def test_facts_name_the_firmware_and_carry_the_bed_mesh(make_emulator, make_printer, dialect,
                                                        name, version, mesh_command):
    emulator = make_emulator(dialect=dialect)
    printer = make_printer(bed_size_mm=(250.0, 210.0))

    facts = printer.facts()

    assert (facts.firmware_name, facts.firmware_version) == (name, version)
    assert facts.capabilities["AUTOREPORT_TEMP"] is True
    assert facts.bed_mesh is not None
    assert facts.bed_mesh.rows == EMULATED_MESH  # front row first
    assert (facts.bed_mesh.max_x, facts.bed_mesh.max_y) == (250, 210)  # no extent reported
    assert mesh_command in emulator.accepted
    assert state_of(printer) is PrinterState.IDLE


@pytest.mark.parametrize("autoreport", [True, False])
def test_temperatures_are_auto_reported_when_advertised_and_polled_otherwise(
        make_emulator, make_printer, autoreport):
    emulator = make_emulator(autoreport_temp=autoreport)
    printer = make_printer()

    printer.send_gcode(["M104 S200", "M140 S60"])

    def heated() -> bool:
        heaters = printer.poll(time.time()).heaters
        return "tool0" in heaters and heaters["tool0"].target == 200 and (
            heaters["tool0"].actual > 150 and heaters["bed"].target == 60)

    assert printer.wait_until(heated, WAIT_S)
    assert ("M155 S1" in emulator.accepted) is autoreport
    assert ("M105" in emulator.accepted) is not autoreport


def test_prusa_reports_its_probe_and_ambient_sensors(make_emulator, make_printer):
    make_emulator(dialect="prusa", autoreport_temp=False)
    printer = make_printer()
    assert printer.wait_until(lambda: "ambient" in printer.poll(time.time()).heaters, WAIT_S)
    assert {"tool0", "bed", "probe", "ambient"} <= set(printer.poll(time.time()).heaters)


def test_send_gcode_returns_the_replies_to_those_lines(make_emulator, make_printer):
    make_emulator()
    printer = make_printer()

    replies = printer.send_gcode(["M115 ; who are you", "", "M105"])

    assert replies[0].startswith("FIRMWARE_NAME:Marlin 2.1.2.1")
    assert "Cap:AUTOREPORT_TEMP:1" in replies
    assert replies[-2] == "ok"  # M115's
    assert replies[-1].startswith("ok T:")


def test_the_baud_rate_falls_back_to_the_one_the_printer_answers_at(make_emulator, make_printer):
    # A pty carries bytes at any speed, but the host's setting sits in its
    # termios; the emulator reads it and answers only at 250000 baud.
    emulator = make_emulator(baudrate=250000)
    printer = make_printer(baudrate=115200)

    assert printer.baudrate == 250000
    assert 115200 in emulator.refused_rates
    assert printer.facts().firmware_name == "Marlin"


def test_the_configured_baud_rate_comes_first(make_emulator, make_printer):
    emulator = make_emulator(baudrate=57600)
    printer = make_printer(baudrate=57600)
    assert printer.baudrate == 57600
    assert emulator.refused_rates == []


def test_a_pulled_cable_fails_the_job_and_the_printer_reconnects_by_itself(
        make_emulator, make_printer, tmp_path):
    emulator = make_emulator(hold_at_line=40)
    printer = make_printer()
    write_gcode(tmp_path / "cube.gcode", 200)
    log = EventLog(printer)
    printer.start_print("cube.gcode", JobOrigin.PRINTFLEET, time.time(),
                        local_path=tmp_path / "cube.gcode")
    assert emulator.wait_until(lambda: emulator.holding)

    emulator.unplug()

    failed = log.wait_for(JobEventKind.FAILED)
    assert failed.reason is not None and failed.reason.startswith("printer connection lost: ")
    assert state_of(printer) is PrinterState.DISCONNECTED
    with pytest.raises(PrinterError, match="not connected"):
        printer.send_gcode(["M105"])

    emulator.plug()

    assert printer.wait_until(lambda: state_of(printer) is PrinterState.IDLE, WAIT_S)
    assert emulator.opened >= 2
    assert printer.send_gcode(["M400"]) == ["ok"]


def test_a_printer_switched_on_later_is_found_without_a_new_connect(port_path, make_emulator,
                                                                    make_printer):
    printer = make_printer(connect=False)
    with pytest.raises(PrinterError, match="does not exist"):
        printer.connect()
    assert state_of(printer) is PrinterState.DISCONNECTED

    make_emulator()

    assert printer.wait_until(lambda: state_of(printer) is PrinterState.IDLE, WAIT_S)
    assert printer.facts().firmware_name == "Marlin"
