"""A simulated printer: heats up, prints a job over a few minutes, pauses, finishes or fails.

Time only moves when `poll(now)` is called, so tests drive it with any clock.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from printfleet_protocol.payloads import BedMesh, JobEventKind, JobOrigin, PrinterState

from .base import HeaterReading, JobEventRecord, PrinterError, PrinterFacts, PrinterSnapshot
from .file_facts import GcodeFacts, file_facts, with_file_facts

AMBIENT_C = 22.0
# First-order approach to the target: about 95 % of the way in 3 time
# constants. The bed, a large slab, is slower than the hot end.
BED_SLOWNESS = 2.5
HEATERS = ("tool0", "bed")
PRINT_TARGETS_C = {"tool0": 215.0, "bed": 60.0}
AT_TEMPERATURE_MARGIN_C = 3.0
FILAMENT_MM_PER_S = 0.9
LAYER_HEIGHT_MM = 0.2


@dataclass(frozen=True)
class SimulatedPrinterSettings:
    job_duration_s: float = 180.0
    fail_probability: float = 0.1
    # Start a new job this long after the last one ended; 0 never starts one.
    auto_start_after_s: float = 20.0
    # The hot end's heating time constant; the bed's is 2.5 times longer.
    heater_time_constant_s: float = 12.0
    seed: int | None = None


@dataclass
class _Job:
    job_id: str
    file_name: str
    origin: JobOrigin
    command_transaction: str | None
    printed_s: float = 0.0
    paused: bool = False
    fails_at_pct: float | None = None
    file_facts: GcodeFacts | None = None  # of a downloaded file: slicer, filament


class SimulatedPrinter:
    """Implements PrinterBackend with a little physics and a random fate per job."""

    def __init__(self, settings: SimulatedPrinterSettings | None = None) -> None:
        self.settings = settings or SimulatedPrinterSettings()
        self._random = random.Random(self.settings.seed)
        self._connected = False
        self._now: float | None = None
        self._temps = {name: AMBIENT_C for name in HEATERS}
        self._targets: dict[str, float] = {name: 0.0 for name in HEATERS}
        tool_constant = self.settings.heater_time_constant_s
        self._time_constants = {"tool0": tool_constant, "bed": tool_constant * BED_SLOWNESS}
        self._job: _Job | None = None
        self._events: list[JobEventRecord] = []
        self._idle_since: float | None = None
        self._job_counter = 0
        self.firmware_version = "1.0"

    def adopt_job(self, job_id: str, file_name: str, origin: JobOrigin) -> None:
        """A simulated print does not survive the agent: nothing to adopt."""

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def facts(self) -> PrinterFacts:
        mesh = BedMesh(rows=[[round(0.02 * (x - y) + 0.01 * x * y, 3) for x in range(4)]
                             for y in range(4)], min_x=10, max_x=200, min_y=10, max_y=200)
        return PrinterFacts("Printfleet Simulator", self.firmware_version, mesh)

    def poll(self, now: float) -> PrinterSnapshot:
        if not self._connected:
            return PrinterSnapshot(PrinterState.DISCONNECTED)
        elapsed = 0.0 if self._now is None else max(0.0, now - self._now)
        self._now = now
        self._heat(elapsed)
        self._advance_job(elapsed, now)
        self._maybe_auto_start(now)
        return self._snapshot()

    def drain_events(self) -> list[JobEventRecord]:
        events, self._events = self._events, []
        return events

    def start_print(self, file_name: str, origin: JobOrigin, now: float,
                    command_transaction: str | None = None,
                    local_path: Path | None = None) -> str:
        if not self._connected:
            raise PrinterError("printer is not connected")
        if self._job is not None:
            raise PrinterError(f"printer is busy with {self._job.file_name}")
        self._job_counter += 1
        fails = self._random.random() < self.settings.fail_probability
        self._job = _Job(uuid.uuid4().hex[:12], file_name, origin, command_transaction,
                         fails_at_pct=self._random.uniform(5, 95) if fails else None,
                         file_facts=file_facts(local_path) if local_path is not None else None)
        self._targets = dict(PRINT_TARGETS_C)
        self._emit(now, JobEventKind.STARTED)
        return self._job.job_id

    def pause(self, now: float) -> None:
        job = self._require_job()
        if job.paused:
            raise PrinterError("job is already paused")
        job.paused = True
        self._emit(now, JobEventKind.PAUSED)

    def resume(self, now: float) -> None:
        job = self._require_job()
        if not job.paused:
            raise PrinterError("job is not paused")
        job.paused = False
        self._emit(now, JobEventKind.RESUMED)

    def cancel(self, now: float) -> None:
        self._require_job()
        self._end(now, JobEventKind.CANCELLED, "cancelled by request")

    def send_gcode(self, lines: list[str]) -> list[str]:
        if not self._connected:
            raise PrinterError("printer is not connected")
        return ["ok" for _ in lines]

    def _require_job(self) -> _Job:
        if self._job is None:
            raise PrinterError("no job is running")
        return self._job

    def _heat(self, elapsed: float) -> None:
        for name, constant in self._time_constants.items():
            goal = self._targets[name] or AMBIENT_C
            self._temps[name] = goal + (self._temps[name] - goal) * math.exp(-elapsed / constant)

    def _at_temperature(self) -> bool:
        return all(abs(self._temps[n] - t) <= AT_TEMPERATURE_MARGIN_C
                   for n, t in self._targets.items())

    def _advance_job(self, elapsed: float, now: float) -> None:
        job = self._job
        if job is None or job.paused or not self._at_temperature():
            return
        job.printed_s = min(self.settings.job_duration_s, job.printed_s + elapsed)
        progress = self._progress()
        if job.fails_at_pct is not None and progress >= job.fails_at_pct:
            self._end(now, JobEventKind.FAILED, "thermal runaway on tool0 (simulated)")
        elif job.printed_s >= self.settings.job_duration_s:
            self._end(now, JobEventKind.FINISHED, None)

    def _maybe_auto_start(self, now: float) -> None:
        wait = self.settings.auto_start_after_s
        if self._job is not None or wait <= 0:
            return
        if self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since >= wait:
            self.start_print(f"benchy_{self._job_counter + 1:03d}.gcode", JobOrigin.SIMULATOR, now)

    def _end(self, now: float, kind: JobEventKind, reason: str | None) -> None:
        self._emit(now, kind, reason)
        self._job = None
        self._targets = {name: 0.0 for name in self._targets}
        self._idle_since = now

    def _progress(self) -> float:
        job = self._require_job()
        return round(100.0 * job.printed_s / self.settings.job_duration_s, 2)

    def _emit(self, now: float, kind: JobEventKind, reason: str | None = None) -> None:
        job = self._require_job()
        # A real file's slicer and filament (its figure times the progress) win
        # over the simulation's own steady feed.
        simulated_mm = None if job.file_facts else round(job.printed_s * FILAMENT_MM_PER_S, 1)
        self._events.append(with_file_facts(JobEventRecord(
            ts=now, job_id=job.job_id, event=kind, file_name=job.file_name, origin=job.origin,
            progress_pct=self._progress(), time_left_s=self._time_left(), reason=reason,
            filament_used_mm=simulated_mm, command_transaction=job.command_transaction),
            job.file_facts))

    def _time_left(self) -> float:
        job = self._require_job()
        return round(self.settings.job_duration_s - job.printed_s, 1)

    def _snapshot(self) -> PrinterSnapshot:
        heaters = {name: HeaterReading(round(self._temps[name], 1), self._targets[name])
                   for name in self._temps}
        job = self._job
        if job is None:
            return PrinterSnapshot(PrinterState.IDLE, heaters, {"part": 0.0})
        state = PrinterState.PAUSED if job.paused else PrinterState.PRINTING
        layers = job.printed_s / self.settings.job_duration_s * 100
        return PrinterSnapshot(
            state, heaters, {"part": 0.0 if job.paused else 100.0},
            z_mm=round(0.2 + LAYER_HEIGHT_MM * int(layers), 2),
            progress_pct=self._progress(), time_left_s=self._time_left(), job_id=job.job_id)
