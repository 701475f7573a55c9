"""What the firmware says about itself in reply to M115."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Keys are upper case and start a word: "FIRMWARE_NAME:Marlin 2.1.2 (...) SOURCE_CODE_URL:..."
_KEY = re.compile(r"(?:^|\s+)([A-Z][A-Z0-9_]*):")
_BUILD_NOTE = re.compile(r"\s*\(.*?\)\s*")
# "2.1.2", "V1.0.4", "bugfix-2.1.x", "3.14.1+8237_abcdef0"
_VERSION = re.compile(r"^(?:bugfix-)?[vV]?\d+(?:\.[0-9x]+)+\S*$")
_CAPABILITY = re.compile(r"^Cap:([A-Z0-9_]+):([01])$")


@dataclass(frozen=True, slots=True)
class FirmwareInfo:
    """The fields of an M115 report, with the firmware's name and version split apart."""

    name: str
    version: str | None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Capability:
    """One "Cap:NAME:0|1" line of an M115 report."""

    name: str
    enabled: bool


def parse_firmware_line(line: str) -> FirmwareInfo | None:
    """Parse an M115 "FIRMWARE_NAME:..." line, or return None if `line` is not one."""
    text = line.strip()
    if not text.startswith("FIRMWARE_NAME:"):
        return None
    parts = _KEY.split(text)[1:]
    fields = {key: value.strip() for key, value in zip(parts[::2], parts[1::2], strict=True)}
    name, version = split_name_and_version(fields.get("FIRMWARE_NAME", ""))
    return FirmwareInfo(name, version, fields)


def split_name_and_version(firmware_name: str) -> tuple[str, str | None]:
    """Split "Marlin 2.1.2 (Sep 1 2023)" or "Prusa-Firmware 3.13.2 based on Marlin" in two."""
    words = _BUILD_NOTE.sub(" ", firmware_name).split()
    for index, word in enumerate(words):
        if index > 0 and _VERSION.match(word):
            return " ".join(words[:index]), word
    return " ".join(words) or "unknown", None


def parse_capability_line(line: str) -> Capability | None:
    """Parse "Cap:AUTOREPORT_TEMP:1", or return None if `line` is not a capability line."""
    match = _CAPABILITY.match(line.strip())
    if match is None:
        return None
    return Capability(match[1], match[2] == "1")
