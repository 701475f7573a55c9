"""G-code as sent: comments stripped, lines numbered with XOR checksums."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.serial.gcode import (
    checksum,
    commands_in,
    line_number_reset,
    numbered,
    read_commands,
    strip_comment,
)

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(("line", "command"), [
    ("G1 X10 Y20 ; move", "G1 X10 Y20"),
    ("  M104 S210  ", "M104 S210"),
    ("; only a comment", None),
    (";LAYER:3", None),
    ("", None),
    ("   \t", None),
    ("M117 Hello;world", "M117 Hello"),
])
def test_strip_comment(line, command):
    assert strip_comment(line) == command


@pytest.mark.parametrize(("line_number", "command", "wire"), [
    (0, "M110 N0", "N0 M110 N0*125"),
    # Lines from OctoPrint's serial logs.
    (71667, "G1 X163.151 Y35.424 E0.02043", "N71667 G1 X163.151 Y35.424 E0.02043*83"),
    (85343, "G1 Z29.880 F10800.000", "N85343 G1 Z29.880 F10800.000*15"),
])
def test_numbered_lines_carry_the_xor_checksum(line_number, command, wire):
    assert numbered(line_number, command) == wire


def test_checksum_is_the_xor_of_the_bytes():
    assert checksum("") == 0
    assert checksum("N1 G28") == ord("N") ^ ord("1") ^ ord(" ") ^ ord("G") ^ ord("2") ^ ord("8")


def test_line_number_reset_makes_the_next_line_one_more():
    assert line_number_reset(0) == "N0 M110 N0*125"
    assert line_number_reset(41).startswith("N41 M110 N41*")


def test_read_commands_reports_byte_offsets(tmp_path):
    path = tmp_path / "part.gcode"
    path.write_bytes(b"; header\nG28\n\nG1 X1 ; first\r\nM84\n")
    assert list(read_commands(path)) == [("G28", 13), ("G1 X1", 29), ("M84", 33)]
    assert commands_in(path) == ["G28", "G1 X1", "M84"]
    assert path.stat().st_size == 33
