"""Firmware lines classified into typed replies, from real Marlin, Prusa and OctoPrint output."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.base import HeaterReading
from printfleet_agent.printers.serial.firmware import Capability, FirmwareInfo
from printfleet_agent.printers.serial.replies import (
    Busy,
    FirmwareError,
    FirmwareStart,
    HostAction,
    Ok,
    Other,
    Resend,
    SdDone,
    SdFileOpened,
    SdNotPrinting,
    SdProgress,
    TemperatureReport,
    Wait,
    parse_reply,
)

pytestmark = pytest.mark.timeout(10)


def heat(actual: float, target: float | None = None) -> HeaterReading:
    return HeaterReading(actual, target)


@pytest.mark.parametrize(("line", "expected"), [
    # Marlin
    ("ok", Ok()),
    ("ok N123", Ok(123)),
    ("ok N10 P15 B3", Ok(10)),  # ADVANCED_OK: planner and buffer space, not temperatures
    ("ok 123", Ok(123)),  # Repetier puts the bare line number after ok
    ("ok T:210.0 /210.0 B:60.0 /60.0 @:0 B@:0",
     Ok(None, {"tool0": heat(210.0, 210.0), "bed": heat(60.0, 60.0)})),
    ("ok X:62.417 Y:64.781 Z:0.2 E:2.72328 Count: A:6241 B:6478 C:20", Ok()),  # M114, not heat
    ("okay", Other("okay")),
    # Resend requests: Marlin, OctoPrint's virtual printer, Repetier, Teacup
    ("Resend: 5", Resend(5)),
    ("Resend:23", Resend(23)),
    ("Resend: N23", Resend(23)),
    ("Resend: N:23", Resend(23)),
    ("rs 23", Resend(23)),
    ("rs N23 expected checksum 109", Resend(23)),
    # Busy and wait
    ("echo:busy: processing", Busy("processing")),
    ("busy: processing", Busy("processing")),
    ("busy:processing", Busy("processing")),  # OctoPrint's virtual printer
    ("echo:busy: paused for user", Busy("paused for user")),
    ("wait", Wait()),
    ("start", FirmwareStart()),
])
def test_protocol_lines(line, expected):
    assert parse_reply(line) == expected


@pytest.mark.parametrize(("line", "fatal"), [
    # Followed by a resend request: the print goes on.
    ("Error:checksum mismatch, Last Line: 41", False),
    ("Error:Line Number is not Last Line Number+1, Last Line: 40", False),
    ("Error:No Checksum with line number, Last Line: 7", False),
    ("Error:No Line Number with checksum, Last Line: 0", False),
    ("Error: Checksum mismatch", False),  # OctoPrint's virtual printer
    ("Error: expected line 5 got 6", False),
    ("Error:volume.init failed", False),  # SD card trouble
    # The firmware stopped.
    ("Error:Printer halted. kill() called!", True),
    ("Error:MINTEMP triggered, system stopped! Heater_ID: 0", True),
    ("Error:MINTEMP triggered, system stopped! Heater_ID: bed", True),
    ("Error:Thermal Runaway, system stopped! Heater_ID: bed", True),
    ("Error:Heating failed, system stopped! Heater_ID: bed", True),
    ("Error: MAXTEMP triggered!", True),
    ("Error:Printer stopped due to errors. Fix the error and use M999 to restart. "
     "(Temperature is reset. Set it after restarting)", True),
    ("!! Lost communication with MCU 'mcu'", True),
])
def test_errors_are_fatal_unless_a_resend_or_the_sd_card_explains_them(line, fatal):
    reply = parse_reply(line)
    assert isinstance(reply, FirmwareError)
    assert reply.fatal is fatal
    assert not reply.message.startswith(("Error", "!!"))


@pytest.mark.parametrize(("line", "heaters"), [
    # Marlin auto-report (M155) starts with a space
    (" T:21.56 /0.00 B:21.84 /0.00 @:0 B@:0", {"tool0": heat(21.56, 0), "bed": heat(21.84, 0)}),
    ("T:210.04 /210.00 B:52.00 /52.00 @:85 B@:31", {"tool0": heat(210.04, 210),
                                                     "bed": heat(52, 52)}),
    # Marlin, two extruders: numbered entries win over the active tool's T
    ("T:200.00 /200.00 B:60.00 /60.00 T0:200.00 /200.00 T1:25.00 /0.00 @:127 B@:0 @0:127 @1:0",
     {"tool0": heat(200, 200), "tool1": heat(25, 0), "bed": heat(60, 60)}),
    # Marlin with a chamber
    ("T:201 /202 B:117 /120 C:49.3 /50", {"tool0": heat(201, 202), "bed": heat(117, 120),
                                          "chamber": heat(49.3, 50)}),
    # Prusa-Firmware: PINDA probe and ambient sensors
    ("T:22.8 /0.0 B:23.5 /0.0 T0:22.8 /0.0 @:0 B@:0 P:22.9 A:31.0",
     {"tool0": heat(22.8, 0), "bed": heat(23.5, 0), "probe": heat(22.9), "ambient": heat(31.0)}),
    # Marlin 1.x and Prusa while M109 waits: E is the extruder, W the seconds left
    ("T:176.1 E:0 W:?", {"tool0": heat(176.1)}),
    ("T:100.0 E:1 W:0", {"tool1": heat(100.0)}),
    ("T:24.5 E:0 B:23.8", {"tool0": heat(24.5), "bed": heat(23.8)}),
    # OctoPrint's virtual printer: "{heater}:{actual:.2f}/ {target:.2f}"
    ("T:21.30/ 0.00 B:21.30/ 0.00 @:64", {"tool0": heat(21.3, 0), "bed": heat(21.3, 0)}),
    ("T0:21.30/ 0.00 T1:21.30/ 0.00 B:21.30/ 0.00 C:21.30/ 0.00 @:64",
     {"tool0": heat(21.3, 0), "tool1": heat(21.3, 0), "bed": heat(21.3, 0),
      "chamber": heat(21.3, 0)}),
    # Heater powers are not temperatures
    ("T:210.04 /210.00 @B:52.00 /52.00", {"tool0": heat(210.04, 210)}),
])
def test_temperature_reports_in_several_dialects(line, heaters):
    assert parse_reply(line) == TemperatureReport(heaters)


@pytest.mark.parametrize(("line", "heaters"), [
    ("ok T:20.2 /0.0 B:19.1 /0.0 T0:20.2 /0.0 @:0 B@:0 P:19.8 A:26.4",  # Prusa MK3S
     {"tool0": heat(20.2, 0), "bed": heat(19.1, 0), "probe": heat(19.8), "ambient": heat(26.4)}),
    ("ok T:23.0/220.0 T0:23.0/220.0 T1:50.2/210.0 T2:39.4/220.0 B:60.0",  # Smoothieware
     {"tool0": heat(23, 220), "tool1": heat(50.2, 210), "tool2": heat(39.4, 220),
      "bed": heat(60.0)}),
    ("ok T:21.30/ 0.00 B:21.30/ 0.00 @:64", {"tool0": heat(21.3, 0), "bed": heat(21.3, 0)}),
])
def test_ok_carrying_temperatures(line, heaters):
    assert parse_reply(line) == Ok(None, heaters)


@pytest.mark.parametrize(("line", "expected"), [
    ("FIRMWARE_NAME:Marlin 2.1.2 (Sep  1 2023 12:00:00) SOURCE_CODE_URL:github.com/MarlinFirmware"
     "/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 V2 EXTRUDER_COUNT:1 "
     "UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff", ("Marlin", "2.1.2", "Ender-3 V2")),
    ("FIRMWARE_NAME:Marlin 1.1.4 (Github) SOURCE_CODE_URL:https://github.com/MarlinFirmware/"
     "Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:LMYSTAR-V1 EXTRUDER_COUNT:1 "
     "UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff", ("Marlin", "1.1.4", "LMYSTAR-V1")),
    ("FIRMWARE_NAME:Marlin V1.0.4 (Mar  3 2021 10:00:00) SOURCE_CODE_URL:github.com/"
     "MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 V2 EXTRUDER_COUNT:1",
     ("Marlin", "V1.0.4", "Ender-3 V2")),
    ("FIRMWARE_NAME:Marlin Creality 3D SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin "
     "PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 Pro EXTRUDER_COUNT:1", ("Marlin Creality 3D",
                                                                        None, "Ender-3 Pro")),
    ("FIRMWARE_NAME:Prusa-Firmware 3.13.2 based on Marlin FIRMWARE_URL:https://github.com/"
     "prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:1 "
     "UUID:00000000-0000-0000-0000-000000000000", ("Prusa-Firmware", "3.13.2", "Prusa i3 MK3S")),
    ("FIRMWARE_NAME:Prusa-Firmware 3.14.1+8237_abcdef0 based on Marlin FIRMWARE_URL:https://"
     "github.com/prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa i3 MK3S "
     "EXTRUDER_COUNT:1", ("Prusa-Firmware", "3.14.1+8237_abcdef0", "Prusa i3 MK3S")),
    ("FIRMWARE_NAME:Virtual Marlin 1.0 PROTOCOL_VERSION:1.0",  # OctoPrint's virtual printer
     ("Virtual Marlin", "1.0", None)),
])
def test_m115_firmware_lines(line, expected):
    reply = parse_reply(line)
    assert isinstance(reply, FirmwareInfo)
    assert (reply.name, reply.version, reply.fields.get("MACHINE_TYPE")) == expected
    assert reply.fields["PROTOCOL_VERSION"] == "1.0"


@pytest.mark.parametrize(("line", "expected"), [
    ("Cap:AUTOREPORT_TEMP:1", Capability("AUTOREPORT_TEMP", True)),
    ("Cap:EEPROM:0", Capability("EEPROM", False)),
    ("Cap:", Other("Cap:")),
    ("Cap:TOO:MANY:FIELDS", Other("Cap:TOO:MANY:FIELDS")),
])
def test_m115_capability_lines(line, expected):
    assert parse_reply(line) == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("SD printing byte 1234/56789", SdProgress(1234, 56789)),
    ("Not SD printing", SdNotPrinting()),
    ("Done printing file", SdDone()),
    ("File opened: CUBE.GCO Size: 12345", SdFileOpened("CUBE.GCO", 12345)),
    ("File opened: cube.gcode  Size: 12345", SdFileOpened("cube.gcode", 12345)),  # virtual
    ("File opened", Other("File opened")),
    ("File selected", Other("File selected")),
    ("//action:pause", HostAction("pause", "")),
    ("// action:notification Time Left 01h23m45s", HostAction("notification",
                                                              "Time Left 01h23m45s")),
    ("echo:SD card ok", Other("echo:SD card ok")),
    ("C: X:10.00 Y:3.20 Z:5.20 E:1.24", Other("C: X:10.00 Y:3.20 Z:5.20 E:1.24")),  # virtual M114
    ("X:10.00 Y:3.20 Z:5.20 E:1.24 Count X:800 Y:256 Z:2080",
     Other("X:10.00 Y:3.20 Z:5.20 E:1.24 Count X:800 Y:256 Z:2080")),
])
def test_sd_card_and_other_lines(line, expected):
    assert parse_reply(line) == expected
