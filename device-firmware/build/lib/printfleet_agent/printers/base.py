"""The printer interface every backend (simulated, OctoPrint, serial) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from printfleet_protocol.payloads import BedMesh, JobEventKind, JobOrigin, PrinterState


@dataclass(frozen=True, slots=True)
class HeaterReading:
    actual: float
    target: float | None


@dataclass(frozen=True, slots=True)
class PrinterSnapshot:
    """The printer as the backend sees it at one instant."""

    state: PrinterState
    heaters: dict[str, HeaterReading] = field(default_factory=dict)
    fans_pct: dict[str, float] = field(default_factory=dict)
    z_mm: float | None = None
    progress_pct: float | None = None
    time_left_s: float | None = None
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class JobEventRecord:
    """Something that happened to a print job, in the order it happened."""

    ts: float
    job_id: str
    event: JobEventKind
    file_name: str
    origin: JobOrigin
    progress_pct: float | None = None
    time_left_s: float | None = None
    reason: str | None = None
    filament_used_mm: float | None = None
    command_transaction: str | None = None


@dataclass(frozen=True, slots=True)
class PrinterFacts:
    firmware_name: str
    firmware_version: str | None = None
    bed_mesh: BedMesh | None = None


class PrinterError(RuntimeError):
    """A request the printer cannot carry out now; the message says why."""


class PrinterBackend(Protocol):
    """What the agent needs from a printer, whatever is behind it."""

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def poll(self, now: float) -> PrinterSnapshot:
        """Advance to `now` and return the current state."""
        ...

    def drain_events(self) -> list[JobEventRecord]:
        """Return job events since the last call, oldest first."""
        ...

    def facts(self) -> PrinterFacts: ...

    def start_print(self, file_name: str, origin: JobOrigin, now: float,
                    command_transaction: str | None = None) -> str:
        """Start a print; return its job id."""
        ...

    def pause(self, now: float) -> None: ...

    def resume(self, now: float) -> None: ...

    def cancel(self, now: float) -> None: ...

    def send_gcode(self, lines: list[str]) -> list[str]:
        """Send G-code lines; return the printer's replies."""
        ...
