"""What an emulated Marlin (or Prusa-Firmware) answers to each command; no I/O here."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

AMBIENT_C = 22.0
HEATING_TIME_CONSTANT_S = 0.3  # fast, so tests see temperatures move
MESH_SIZE = 4

MARLIN_M115 = ("FIRMWARE_NAME:Marlin 2.1.2.1 (Jul 20 2023 12:00:00) "
               "SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 "
               "MACHINE_TYPE:Ender-3 V2 EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff")
PRUSA_M115 = ("FIRMWARE_NAME:Prusa-Firmware 3.13.2 based on Marlin "
              "FIRMWARE_URL:https://github.com/prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 "
              "MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000")


def mesh_value(x: int, y: int) -> float:
    """The emulated bed's height at grid point (x, y): tilted towards the back right."""
    return round(0.02 * x + 0.03 * y - 0.05, 3)


def dwell_s(command: str) -> float:
    """Return how long a G4 dwell lasts, the emulator's stand-in for a slow move."""
    parts = command.split()
    if not parts or parts[0] != "G4":
        return 0.0
    for part in parts[1:]:
        if part.startswith("P"):
            return float(part[1:]) / 1000
        if part.startswith("S"):
            return float(part[1:])
    return 0.0


@dataclass
class EmulatorOptions:
    """How the emulated printer behaves; the defaults are a well-behaved Marlin."""

    dialect: str = "marlin"  # or "prusa"
    autoreport_temp: bool = True
    # Answer only when the line runs at this rate (read from the pty's termios).
    baudrate: int | None = None
    send_start: bool = True
    # Reject every K-th numbered line once with "checksum mismatch" (0: never).
    resend_every: int = 0
    # Reject these line numbers once, as if they arrived corrupted.
    corrupt_lines: frozenset[int] = frozenset()
    # Halt like a killed Marlin on receiving this line number.
    fatal_at_line: int | None = None
    fatal_messages: tuple[str, ...] = ("Error:MINTEMP triggered, system stopped! Heater_ID: 0",
                                       "Error:Printer halted. kill() called!")
    busy_interval_s: float = 0.05
    # Stop before acknowledging this line number until release() is called.
    hold_at_line: int | None = None


@dataclass
class SdCard:
    file_name: str | None = None
    size: int = 0
    position: int = 0
    printing: bool = False


@dataclass
class EmulatedFirmware:
    """Temperatures, SD card and replies of one emulated board since its last reset."""

    options: EmulatorOptions
    autoreport_s: int = 0
    sd: SdCard = field(default_factory=SdCard)
    _temps: dict[str, float] = field(default_factory=lambda: {"T": AMBIENT_C, "B": AMBIENT_C})
    _targets: dict[str, float] = field(default_factory=lambda: {"T": 0.0, "B": 0.0})
    _heated_at: float = field(default_factory=time.monotonic)

    @property
    def prusa(self) -> bool:
        return self.options.dialect == "prusa"

    def boot_lines(self) -> list[str]:
        """What the board prints after a reset."""
        name = "Prusa-Firmware 3.13.2" if self.prusa else "Marlin 2.1.2.1"
        return ["start", f"echo:{name}", "echo: Last Updated: 2023-07-20 | Author: (none)",
                "echo:SD card ok"]

    def respond(self, command: str) -> list[str]:
        """Return the lines the firmware sends for one accepted command, "ok" last."""
        word = command.split()[0].upper() if command.split() else ""
        handler = getattr(self, f"_{word.lower()}", None)
        lines = handler(command) if handler is not None else []
        return lines if lines and lines[-1].startswith("ok") else [*lines, "ok"]

    def temperature_report(self) -> str:
        """Return an auto-report line (Marlin starts it with a space)."""
        return self._temperatures() if self.prusa else f" {self._temperatures()}"

    def _temperatures(self) -> str:
        self._heat()
        t, b = self._temps["T"], self._temps["B"]
        tt, bt = self._targets["T"], self._targets["B"]
        if self.prusa:
            return (f"T:{t:.1f} /{tt:.1f} B:{b:.1f} /{bt:.1f} T0:{t:.1f} /{tt:.1f} @:0 B@:0 "
                    f"P:{AMBIENT_C:.1f} A:{AMBIENT_C + 4:.1f}")
        return f"T:{t:.2f} /{tt:.2f} B:{b:.2f} /{bt:.2f} @:0 B@:0"

    def _heat(self) -> None:
        now = time.monotonic()
        decay = math.exp(-(now - self._heated_at) / HEATING_TIME_CONSTANT_S)
        self._heated_at = now
        for heater, target in self._targets.items():
            goal = target or AMBIENT_C
            self._temps[heater] = goal + (self._temps[heater] - goal) * decay

    def _set_target(self, heater: str, command: str) -> list[str]:
        match = re.search(r"S(\d+(?:\.\d+)?)", command)
        if match:
            self._heat()
            self._targets[heater] = float(match[1])
        return []

    def _m104(self, command: str) -> list[str]:
        return self._set_target("T", command)

    _m109 = _m104

    def _m140(self, command: str) -> list[str]:
        return self._set_target("B", command)

    _m190 = _m140

    def _m105(self, command: str) -> list[str]:
        return [f"ok {self._temperatures()}"]

    def _m115(self, command: str) -> list[str]:
        capability = "1" if self.options.autoreport_temp else "0"
        return [PRUSA_M115 if self.prusa else MARLIN_M115, "Cap:EEPROM:1",
                f"Cap:AUTOREPORT_TEMP:{capability}", "Cap:AUTOLEVEL:1", "Cap:LEVELING_DATA:1",
                "Cap:SDCARD:1"]

    def _m155(self, command: str) -> list[str]:
        match = re.search(r"S(\d+)", command)
        if self.options.autoreport_temp and match:
            self.autoreport_s = int(match[1])
        return []

    def _m27(self, command: str) -> list[str]:
        if self.sd.printing or (self.sd.file_name and self.sd.position):
            return [f"SD printing byte {self.sd.position}/{self.sd.size}"]
        return ["Not SD printing"]

    def _m23(self, command: str) -> list[str]:
        self.sd = SdCard(command.split(None, 1)[1].strip(), 4096)
        return [f"File opened: {self.sd.file_name} Size: {self.sd.size}", "File selected"]

    def _m24(self, command: str) -> list[str]:
        self.sd.printing = self.sd.file_name is not None
        return []

    def _m25(self, command: str) -> list[str]:
        self.sd.printing = False
        return []

    def _m524(self, command: str) -> list[str]:
        self.sd = SdCard()
        return []

    def _m420(self, command: str) -> list[str]:
        if self.prusa or "V" not in command.upper().split()[1:]:
            return []
        header = "".join(f"{x:>7}" for x in range(MESH_SIZE))
        rows = [f"{y:>2} " + " ".join(f"{mesh_value(x, y):+.3f}" for x in range(MESH_SIZE))
                for y in range(MESH_SIZE)]
        return ["Bilinear Leveling Grid:", header, *rows, "", "echo:Bed Leveling ON",
                "echo:Fade Height OFF"]

    def _g81(self, command: str) -> list[str]:
        if not self.prusa:
            return []
        rows = ["".join(f"  {mesh_value(x, y):.5f}" for x in range(MESH_SIZE))
                for y in reversed(range(MESH_SIZE))]  # Prusa prints the back row first
        return [f"Num X,Y: {MESH_SIZE},{MESH_SIZE}", "Z search height: 5.00",
                "Measured points:", *rows]
