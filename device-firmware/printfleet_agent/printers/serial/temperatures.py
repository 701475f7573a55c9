"""Temperature reports in the dialects of Marlin, Prusa, Smoothie and OctoPrint's virtual printer."""

from __future__ import annotations

import re

from ..base import HeaterReading

# "T:210.0 /210.0", "T0:23.0/220.0", "B:21.30/ 0.00"; "@B:" and "B@:" are
# heater powers, not temperatures, hence the look-behind.
_READING = re.compile(
    r"(?<![\w@])(?P<key>T\d*|B|C|P|A):\s*(?P<actual>-?\d+(?:\.\d+)?)"
    r"(?:\s*/\s*(?P<target>-?\d+(?:\.\d+)?))?")
# The first reading tells a temperature report from other key:value lines
# such as M114's "X:10.00 Y:3.20 ... Count: A:6241 B:6478 C:20".
_STARTS_WITH_READING = re.compile(r"^(?:T\d*|B|C):\s*-?\d")
# Marlin 1.x and Prusa while waiting in M109: "T:176.1 E:0 W:?".
_WAITING_EXTRUDER = re.compile(r"\bE:(\d+)\b")
_NAMES = {"B": "bed", "C": "chamber", "P": "probe", "A": "ambient"}


def is_temperature_report(text: str) -> bool:
    """Tell whether `text` (an ok's remainder or a whole line) starts like a temperature report."""
    return _STARTS_WITH_READING.match(text.strip()) is not None


def parse_temperatures(text: str) -> dict[str, HeaterReading]:
    """Return the heaters in a report, named tool0, tool1, bed, chamber, probe, ambient."""
    readings: dict[str, HeaterReading] = {}
    current_tool: HeaterReading | None = None
    for match in _READING.finditer(text):
        key = match["key"]
        target = float(match["target"]) if match["target"] is not None else None
        reading = HeaterReading(float(match["actual"]), target)
        if key == "T":
            # Plain T is the active tool; numbered entries, when present, win.
            current_tool = current_tool or reading
            continue
        name = f"tool{key[1:]}" if key.startswith("T") else _NAMES[key]
        readings.setdefault(name, reading)
    if current_tool is not None and not any(name.startswith("tool") for name in readings):
        waiting = _WAITING_EXTRUDER.search(text)
        readings[f"tool{waiting[1] if waiting else 0}"] = current_tool
    return readings
