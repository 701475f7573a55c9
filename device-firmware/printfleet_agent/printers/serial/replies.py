"""Each line a firmware sends, classified into a typed reply.

Covers Marlin 1.x/2.x, Prusa-Firmware, Repetier/Teacup resend forms and
OctoPrint's virtual printer; unknown lines become `Other`, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..base import HeaterReading
from .firmware import Capability, FirmwareInfo, parse_capability_line, parse_firmware_line
from .temperatures import is_temperature_report, parse_temperatures


@dataclass(frozen=True, slots=True)
class Ok:
    """The firmware took a line; some firmwares add the line number or temperatures."""

    line_number: int | None = None
    heaters: dict[str, HeaterReading] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resend:
    """The firmware wants every line again from `line_number` on."""

    line_number: int


@dataclass(frozen=True, slots=True)
class Busy:
    """The firmware is alive but still working on a long command."""

    reason: str


@dataclass(frozen=True, slots=True)
class Wait:
    """The firmware is idle and waiting for input (Marlin's "wait")."""


@dataclass(frozen=True, slots=True)
class FirmwareError:
    """An "Error:" or "!!" line; fatal ones mean the firmware stopped printing."""

    message: str
    fatal: bool


@dataclass(frozen=True, slots=True)
class FirmwareStart:
    """The firmware (re)started: line numbers and everything else are reset."""


@dataclass(frozen=True, slots=True)
class TemperatureReport:
    """A temperature report on its own line (auto-report, or while heating)."""

    heaters: dict[str, HeaterReading]


@dataclass(frozen=True, slots=True)
class SdProgress:
    """M27 while printing from the SD card: "SD printing byte 1234/56789"."""

    printed_bytes: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class SdNotPrinting:
    """M27 when no SD print is running."""


@dataclass(frozen=True, slots=True)
class SdDone:
    """An SD print reached the end of its file."""


@dataclass(frozen=True, slots=True)
class SdFileOpened:
    """A file on the SD card was opened for printing: "File opened: CUBE.GCO Size: 12345"."""

    name: str
    size: int | None


@dataclass(frozen=True, slots=True)
class HostAction:
    """A host action command, such as "//action:pause"."""

    action: str
    argument: str


@dataclass(frozen=True, slots=True)
class Other:
    """Any other line: echo messages, M114 positions, mesh reports."""

    text: str


Reply = (Ok | Resend | Busy | Wait | FirmwareError | FirmwareStart | TemperatureReport
         | FirmwareInfo | Capability | SdProgress | SdNotPrinting | SdDone | SdFileOpened
         | HostAction | Other)

# "ok", "ok N123", "ok N10 P15 B3" (Marlin's ADVANCED_OK), "ok 123" (Repetier).
_OK = re.compile(r"^ok(?:$|(?:\s+N?(?P<n>\d+)\b)?(?P<rest>(?:\s.*)?)$)")
# "Resend: 5", "Resend:5", "Resend: N:23", "rs N23 expected checksum 109".
_RESEND = re.compile(r"^(?:resend|rs)[:\s]\s*(?:N:?)?(?P<n>\d+)", re.IGNORECASE)
_BUSY = re.compile(r"^(?:echo:)?\s*busy:\s*(?P<reason>.*)$", re.IGNORECASE)
_SD_PROGRESS = re.compile(r"^SD printing byte (?P<done>\d+)\s*/\s*(?P<total>\d+)")
_SD_OPENED = re.compile(r"^File opened:\s*(?P<name>\S+)(?:\s+Size:\s*(?P<size>\d+))?")
_ACTION = re.compile(r"^//\s*action:(?P<action>\S+)\s*(?P<argument>.*)$")
# Errors the firmware follows with a resend request, or that only concern
# the SD card or one command: printing goes on (as OctoPrint judges them).
_RECOVERABLE_ERRORS = (
    "checksum", "line number", "expected line", "format error", "no line number",
    "unknown command", "volume.init", "openroot", "workdir", "error writing to file",
    "cannot open", "open failed", "cannot enter", "sd init fail", "no media", "sd card",
)


def parse_reply(line: str) -> Reply:
    """Classify one line received from the firmware."""
    text = line.strip()
    return (_parse_protocol(text) or _parse_status(text) or _parse_report(text)
            or Other(text))


def is_fatal_error(message: str) -> bool:
    """Tell whether an error message means the firmware stopped (halt, kill, thermal fault)."""
    lower = message.lower()
    return not any(phrase in lower for phrase in _RECOVERABLE_ERRORS)


def _parse_protocol(text: str) -> Reply | None:
    if text.startswith("ok") and (match := _OK.match(text)) is not None:
        rest = match["rest"] or ""
        heaters = parse_temperatures(rest) if is_temperature_report(rest) else {}
        return Ok(int(match["n"]) if match["n"] else None, heaters)
    if (match := _RESEND.match(text)) is not None:
        return Resend(int(match["n"]))
    if (match := _BUSY.match(text)) is not None:
        return Busy(match["reason"].strip())
    if text == "wait":
        return Wait()
    if text.lower().startswith("error:") or text.startswith("!!"):
        message = text[6:].strip() if text.lower().startswith("error:") else text[2:].strip()
        return FirmwareError(message, is_fatal_error(message))
    if text == "start":
        return FirmwareStart()
    return None


def _parse_status(text: str) -> Reply | None:
    if (match := _SD_PROGRESS.match(text)) is not None:
        return SdProgress(int(match["done"]), int(match["total"]))
    if text.startswith("Not SD printing"):
        return SdNotPrinting()
    if text.startswith("Done printing file"):
        return SdDone()
    if (match := _SD_OPENED.match(text)) is not None:
        return SdFileOpened(match["name"], int(match["size"]) if match["size"] else None)
    if (match := _ACTION.match(text)) is not None:
        return HostAction(match["action"], match["argument"].strip())
    return None


def _parse_report(text: str) -> Reply | None:
    if is_temperature_report(text):
        heaters = parse_temperatures(text)
        return TemperatureReport(heaters) if heaters else None
    return parse_firmware_line(text) or parse_capability_line(text)
