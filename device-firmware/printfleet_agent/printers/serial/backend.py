"""A printer on a bare serial line (Marlin, Prusa-Firmware and relatives) as a PrinterBackend."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from printfleet_protocol.payloads import JobEventKind, JobOrigin, PrinterState

from ..base import HeaterReading, JobEventRecord, PrinterError, PrinterFacts, PrinterSnapshot
from ..file_facts import file_facts
from .gcode import strip_comment
from .jobs import JobTracker
from .link import PrinterLink
from .protocol import Pending
from .replies import (
    FirmwareError,
    FirmwareStart,
    HostAction,
    Ok,
    Reply,
    SdDone,
    SdFileOpened,
    SdNotPrinting,
    SdProgress,
    TemperatureReport,
)
from .settings import SerialPrinterSettings
from .streamer import JobStreamer
from .survey import FirmwareSurvey

logger = logging.getLogger(__name__)


class SerialPrinter:
    """Implements PrinterBackend over pyserial, for prints streamed from here or the SD card.

    The link's threads and the agent's calls share one lock; `wait_until`
    lets a caller block until the printer's state satisfies a condition.
    """

    def __init__(self, settings: SerialPrinterSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._link = PrinterLink(settings, self, self._lock)
        self._jobs = JobTracker()
        self._survey = FirmwareSurvey(settings, self._link.submit, self._surveyed)
        self._heaters: dict[str, HeaterReading] = {}
        self._ready = False  # the link is up and the firmware has described itself
        self._halted: str | None = None

    @property
    def baudrate(self) -> int | None:
        """The rate the printer answered at, while connected."""
        return self._link.baudrate

    @property
    def printing(self) -> bool:
        """Tell whether a job is running (or paused)."""
        return self._jobs.job is not None

    def adopt_job(self, job_id: str, file_name: str, origin: JobOrigin) -> None:
        """A host-streamed print dies with the agent; it is reported as host lost."""

    def connect(self) -> None:
        """Start talking to the printer; keep trying in the background if it does not answer."""
        failed_before = self._link.failed_attempts
        self._link.start()
        rates = len(self.settings.baudrates())
        budget = (rates * (self.settings.boot_wait_s + self.settings.handshake_timeout_s)
                  + 3 * self.settings.command_timeout_s)
        self.wait_until(lambda: self._ready or self._link.failed_attempts > failed_before, budget)
        if not self._ready:
            raise PrinterError(f"printer on {self.settings.port} is not answering "
                               f"({self._link.last_error or 'no reply yet'}); still trying")

    def disconnect(self) -> None:
        """Close the line and stop reconnecting; a streamed job ends failed."""
        self._link.stop()
        with self._lock:
            self._ready = False
            self._changed.notify_all()

    def poll(self, now: float) -> PrinterSnapshot:
        """Return the state as last heard; queue the temperature and SD queries it needs."""
        with self._lock:
            if not self._link.connected:
                return PrinterSnapshot(PrinterState.DISCONNECTED)
            heaters = dict(self._heaters)
            if not self._ready:
                return PrinterSnapshot(PrinterState.CONNECTING, heaters)
            if self._halted is not None:
                return PrinterSnapshot(PrinterState.ERROR, heaters)
            job = self._jobs.job
            if not self._survey.autoreport:
                self._link.submit_once("M105")
            if (job is None or job.on_sd_card) and self._survey.capabilities.get("SDCARD", True):
                self._link.submit_once("M27")  # notices prints started on the printer
            if job is None:
                return PrinterSnapshot(PrinterState.IDLE, heaters)
            state = PrinterState.PAUSED if job.paused_at is not None else PrinterState.PRINTING
            return PrinterSnapshot(state, heaters, progress_pct=job.progress_pct,
                                   time_left_s=job.time_left_s(now), job_id=job.job_id)

    def drain_events(self) -> list[JobEventRecord]:
        """Return job events since the last call, oldest first."""
        with self._lock:
            return self._jobs.drain()

    def facts(self) -> PrinterFacts:
        """Return the firmware's name, version and capabilities (M115) and the bed mesh."""
        with self._lock:
            return self._survey.facts()

    def start_print(self, file_name: str, origin: JobOrigin, now: float,
                    command_transaction: str | None = None,
                    local_path: Path | None = None) -> str:
        """Stream `local_path` from here, or without one, print `file_name` from the SD card."""
        if command_transaction is not None:
            origin = JobOrigin.PRINTFLEET
        # Read before taking the lock: a file whose filament must be summed takes a while.
        facts = file_facts(local_path) if local_path is not None else None
        with self._lock:
            self._require_ready()
            if local_path is None:
                job = self._jobs.begin(now, file_name, origin, command_transaction)
                for command in (f"M23 {file_name}", "M24"):
                    self._link.submit(Pending(command))
            else:
                if not local_path.is_file():
                    raise PrinterError(f"no G-code file at {local_path}")
                streamer = JobStreamer(local_path, self._stream_finished, self._stream_failed)
                job = self._jobs.begin(now, file_name, origin, command_transaction, streamer,
                                       facts)
                self._link.set_source(streamer)
            self._changed.notify_all()
            return job.job_id

    def pause(self, now: float) -> None:
        """Stop feeding the file (or pause the SD print); lines already sent still run."""
        with self._lock:
            job = self._jobs.pause(now)
            if job.streamer is not None:
                job.streamer.paused = True
            else:
                self._link.submit(Pending("M25"))
            self._changed.notify_all()

    def resume(self, now: float) -> None:
        """Feed the file again (or resume the SD print)."""
        with self._lock:
            job = self._jobs.resume(now)
            if job.streamer is not None:
                job.streamer.paused = False
                self._link.pump()
            else:
                self._link.submit(Pending("M24"))
            self._changed.notify_all()

    def cancel(self, now: float) -> None:
        """Stop feeding the file (or abort the SD print) and send the cancel sequence."""
        with self._lock:
            job = self._jobs.require_job()
            if job.on_sd_card:
                self._link.submit(Pending("M524"))
            self._jobs.end(now, JobEventKind.CANCELLED, "cancelled by request")
            self._link.set_source(None)
            for command in self.settings.cancel_gcode:
                self._link.submit(Pending(command))
            self._changed.notify_all()

    def send_gcode(self, lines: list[str]) -> list[str]:
        """Send lines ahead of any print job and return the firmware's replies to them."""
        commands = [c for c in (strip_comment(line) for line in lines) if c is not None]
        answered = threading.Event()
        pendings = [Pending(command) for command in commands]
        remaining = [len(pendings)]

        def count(_: Pending) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                answered.set()

        with self._lock:
            if not self._link.connected:
                raise PrinterError("printer is not connected")
            for pending in pendings:
                pending.on_done = count
                self._link.submit(pending)
        if pendings and not answered.wait(self.settings.command_timeout_s):
            waiting = next(p.command for p in pendings if not p.done)
            raise PrinterError(f"no reply to {waiting!r} "
                               f"within {self.settings.command_timeout_s:g} s")
        failed = next((p.error for p in pendings if p.error is not None), None)
        if failed is not None:
            raise PrinterError(failed)
        return [reply for pending in pendings for reply in pending.replies]

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate` (checked under the lock at each change) holds, or time out."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # LinkListener: called by the link with the lock held.

    def link_up(self) -> None:
        logger.info("printer on %s connected at %s baud", self.settings.port, self.baudrate)
        self._halted = None
        self._survey.start()
        self._changed.notify_all()

    def link_down(self, reason: str) -> None:
        self._ready = False
        self._jobs.end(self._clock(), JobEventKind.FAILED, reason)
        self._changed.notify_all()

    def link_failed(self, reason: str) -> None:
        self._changed.notify_all()

    def received(self, reply: Reply, line: str) -> None:
        match reply:
            case Ok(heaters=heaters) | TemperatureReport(heaters=heaters) if heaters:
                self._update_heaters(heaters)
            case FirmwareError(fatal=True, message=message):
                self._firmware_halted(message)
            case FirmwareError(message=message):
                logger.warning("printer reports: %s", message)
            case FirmwareStart():
                self._jobs.end(self._clock(), JobEventKind.FAILED, "printer firmware restarted")
                self._halted, self._ready = None, False
                self._survey.start()
            case SdFileOpened() | SdProgress() | SdDone() | SdNotPrinting():
                self._jobs.observe_sd(reply, self._clock())
            case HostAction(action=action):
                self._host_action(action)
        self._survey.observe(reply)
        self._changed.notify_all()

    def _require_ready(self) -> None:
        if not self._ready:
            raise PrinterError("printer is not connected")
        if self._halted is not None:
            raise PrinterError(f"printer firmware halted: {self._halted}")

    def _update_heaters(self, heaters: dict[str, HeaterReading]) -> None:
        for name, reading in heaters.items():
            known = self._heaters.get(name)
            if reading.target is None and known is not None:
                reading = HeaterReading(reading.actual, known.target)
            self._heaters[name] = reading

    def _firmware_halted(self, message: str) -> None:
        logger.error("printer firmware halted: %s", message)
        self._halted = message
        self._jobs.end(self._clock(), JobEventKind.FAILED, message)
        self._link.set_source(None)
        self._link.abandon(f"printer firmware halted: {message}")

    def _stream_finished(self) -> None:
        self._jobs.end(self._clock(), JobEventKind.FINISHED)
        self._link.set_source(None)
        self._changed.notify_all()

    def _stream_failed(self, reason: str) -> None:
        self._jobs.end(self._clock(), JobEventKind.FAILED, reason)
        self._link.set_source(None)
        self._changed.notify_all()

    def _host_action(self, action: str) -> None:
        """Follow a pause, resume or cancel chosen on the printer during a streamed print."""
        job = self._jobs.job
        if job is None or job.streamer is None:
            return
        if action in ("pause", "paused") and job.paused_at is None:
            job.streamer.paused = True
            self._jobs.pause(self._clock())
        elif action in ("resume", "resumed") and job.paused_at is not None:
            job.streamer.paused = False
            self._jobs.resume(self._clock())
            self._link.pump()
        elif action == "cancel":
            self._jobs.end(self._clock(), JobEventKind.CANCELLED, "cancelled on the printer")
            self._link.set_source(None)

    def _surveyed(self) -> None:
        self._ready = True
        self._changed.notify_all()
