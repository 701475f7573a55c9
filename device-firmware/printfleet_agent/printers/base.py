"""The printer interface every backend (simulated, OctoPrint, serial) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from printfleet_protocol.payloads import (
    BedMesh,
    JobEventKind,
    JobOrigin,
    OctoPrintFacts,
    PrinterState,
)


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
    filament_used_mm: float | None = None  # used so far
    command_transaction: str | None = None
    filament_used_g: float | None = None
    slicer: str | None = None
    slicer_version: str | None = None


@dataclass(frozen=True, slots=True)
class PrinterFacts:
    """What the printer (and OctoPrint, where present) says about itself."""

    firmware_name: str
    firmware_version: str | None = None
    bed_mesh: BedMesh | None = None
    octoprint: OctoPrintFacts | None = None
    capabilities: dict[str, bool] = field(default_factory=dict)


class PrinterError(RuntimeError):
    """A request the printer cannot carry out now; the message says why."""


class PrinterBackend(Protocol):
    """What the agent needs from a printer, whatever is behind it.

    Methods are called from one thread at a time (the agent serialises
    them); a backend that must read a port continuously runs its own reader
    thread and hands results over under its own lock. `poll` must be cheap
    and must not block for long: it is called at the telemetry interval.
    Job events must be reported for every print, whoever started it
    (Printfleet, OctoPrint's UI, the printer's SD card or panel).
    """

    def adopt_job(self, job_id: str, file_name: str, origin: JobOrigin) -> None:
        """Before connect: the job that was running when the agent last stopped.

        A backend that finds the printer still printing that file keeps the job
        id (and reports no second start); one that cannot tell does nothing.
        """
        ...

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
                    command_transaction: str | None = None,
                    local_path: Path | None = None) -> str:
        """Start a print of a local G-code file (or, without one, a file the printer has).

        Return the job id the backend will use in its job events.
        """
        ...

    def pause(self, now: float) -> None: ...

    def resume(self, now: float) -> None: ...

    def cancel(self, now: float) -> None: ...

    def send_gcode(self, lines: list[str]) -> list[str]:
        """Send G-code lines; return the printer's replies."""
        ...
