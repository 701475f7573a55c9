"""Read OctoPrint's REST answers (/api/printer, /api/job, /api/connection) into Printfleet's terms."""

from __future__ import annotations

import re
from typing import Any

from printfleet_protocol.payloads import PrinterState

from ..base import HeaterReading, PrinterSnapshot
from .jobs import OctoPrintJobStatus

# OctoPrint's heaters: tool0..toolN, bed, chamber; anything else is a plugin's extra.
_HEATER = re.compile(r"^(tool\d+|bed|chamber)$")
_CONNECTING_WORDS = ("opening", "connecting", "detecting", "initializing")


def state_from_flags(flags: dict[str, Any]) -> PrinterState:
    """Map /api/printer's state flags to a PrinterState."""
    if flags.get("error"):
        return PrinterState.ERROR
    if flags.get("closedOrError") and not flags.get("operational"):
        return PrinterState.DISCONNECTED
    if flags.get("paused") or flags.get("pausing"):
        return PrinterState.PAUSED
    if flags.get("printing") or flags.get("resuming") or flags.get("cancelling") \
            or flags.get("finishing"):
        return PrinterState.PRINTING
    if flags.get("operational"):
        return PrinterState.IDLE
    return PrinterState.DISCONNECTED


def state_from_connection(text: str) -> PrinterState:
    """Map /api/connection's state text (printer not operational) to a PrinterState."""
    lowered = text.lower()
    if "error" in lowered:
        return PrinterState.ERROR
    if any(word in lowered for word in _CONNECTING_WORDS):
        return PrinterState.CONNECTING
    return PrinterState.DISCONNECTED


def link_is_closed(text: str) -> bool:
    """Whether /api/connection's state text says OctoPrint is not connected to the printer."""
    lowered = text.lower()
    return lowered.startswith(("closed", "offline")) or "error" in lowered


def heaters_from(temperature: dict[str, Any] | None) -> dict[str, HeaterReading]:
    """Map /api/printer's temperature block (tool0..n, bed, chamber) to heater readings."""
    readings: dict[str, HeaterReading] = {}
    for name, reading in (temperature or {}).items():
        if not _HEATER.match(name) or not isinstance(reading, dict):
            continue
        actual = _number(reading.get("actual"))
        if actual is not None:
            readings[name] = HeaterReading(actual, _number(reading.get("target")))
    return readings


def job_status_from(printer: dict[str, Any], job: dict[str, Any] | None) -> OctoPrintJobStatus:
    """Summarise /api/printer and /api/job as the job OctoPrint is running, if any."""
    flags = printer.get("state", {}).get("flags", {})
    state = state_from_flags(flags)
    file = (job or {}).get("job", {}).get("file", {}) or {}
    return OctoPrintJobStatus(
        printing=state in (PrinterState.PRINTING, PrinterState.PAUSED),
        paused=state is PrinterState.PAUSED,
        location=file.get("origin"), path=file.get("path") or file.get("name"),
        completion_pct=_number((job or {}).get("progress", {}).get("completion")))


def snapshot_from(printer: dict[str, Any], job: dict[str, Any] | None, job_id: str | None,
                  z_mm: float | None) -> PrinterSnapshot:
    """Build the snapshot from /api/printer and (while a job runs) /api/job."""
    state = state_from_flags(printer.get("state", {}).get("flags", {}))
    heaters = heaters_from(printer.get("temperature"))
    if state not in (PrinterState.PRINTING, PrinterState.PAUSED) or job is None:
        return PrinterSnapshot(state, heaters)
    progress = job.get("progress", {}) or {}
    completion = _number(progress.get("completion"))
    time_left = _number(progress.get("printTimeLeft"))
    return PrinterSnapshot(
        state, heaters, z_mm=z_mm,
        progress_pct=None if completion is None else round(max(0.0, min(100.0, completion)), 2),
        time_left_s=None if time_left is None else max(0.0, time_left), job_id=job_id)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
