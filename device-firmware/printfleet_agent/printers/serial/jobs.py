"""The current print job, whoever started it, and the events it produced."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from printfleet_gcode import GcodeFacts
from printfleet_protocol.payloads import JobEventKind, JobOrigin

from ..base import JobEventRecord, PrinterError
from ..file_facts import with_file_facts
from .replies import Reply, SdDone, SdFileOpened, SdNotPrinting, SdProgress
from .streamer import JobStreamer

logger = logging.getLogger(__name__)

UNNAMED_SD_FILE = "SD card print"
MAX_REASON_CHARS = 256  # the job event schema's limit


@dataclass
class Job:
    """One print, streamed by this host or run by the printer from its SD card."""

    job_id: str
    file_name: str
    origin: JobOrigin
    command_transaction: str | None
    started_at: float
    streamer: JobStreamer | None = None  # None: the printer reads the file itself
    sd_progress_pct: float = 0.0
    paused_at: float | None = None
    paused_s: float = 0.0
    file_facts: GcodeFacts | None = None  # None: the file is not here (an SD card print)

    @property
    def on_sd_card(self) -> bool:
        return self.streamer is None

    @property
    def progress_pct(self) -> float:
        return self.streamer.progress_pct if self.streamer is not None else self.sd_progress_pct

    def time_left_s(self, now: float) -> float | None:
        """Estimate from the time spent printing so far and the share done."""
        progress = self.progress_pct
        pause_now = now - self.paused_at if self.paused_at is not None else 0.0
        printing_s = now - self.started_at - self.paused_s - pause_now
        if progress <= 0 or printing_s <= 0:
            return None
        return round(max(0.0, printing_s * (100.0 - progress) / progress), 1)


class JobTracker:
    """Starts, pauses and ends jobs, and records an event for each change."""

    def __init__(self) -> None:
        self.job: Job | None = None
        self._events: list[JobEventRecord] = []
        self._sd_file_name: str | None = None

    def begin(self, now: float, file_name: str, origin: JobOrigin,
              command_transaction: str | None, streamer: JobStreamer | None = None,
              file_facts: GcodeFacts | None = None) -> Job:
        """Start tracking a job and record that it started."""
        if self.job is not None:
            raise PrinterError(f"printer is busy with {self.job.file_name}")
        self.job = Job(uuid.uuid4().hex[:12], file_name, origin, command_transaction, now,
                       streamer, file_facts=file_facts)
        self._emit(now, JobEventKind.STARTED)
        return self.job

    def pause(self, now: float) -> Job:
        """Record a pause of the running job."""
        job = self.require_job()
        if job.paused_at is not None:
            raise PrinterError("job is already paused")
        job.paused_at = now
        self._emit(now, JobEventKind.PAUSED)
        return job

    def resume(self, now: float) -> Job:
        """Record that the paused job goes on."""
        job = self.require_job()
        if job.paused_at is None:
            raise PrinterError("job is not paused")
        job.paused_s += max(0.0, now - job.paused_at)
        job.paused_at = None
        self._emit(now, JobEventKind.RESUMED)
        return job

    def end(self, now: float, kind: JobEventKind, reason: str | None = None) -> None:
        """Record the end of the job, if one is running."""
        if self.job is None:
            return
        if self.job.streamer is not None:
            self.job.streamer.stop()
        self._emit(now, kind, reason)
        logger.info("job %s %s%s", self.job.job_id, kind, f": {reason}" if reason else "")
        self.job = None

    def require_job(self) -> Job:
        """Return the running job or refuse."""
        if self.job is None:
            raise PrinterError("no job is running")
        return self.job

    def observe_sd(self, reply: Reply, now: float) -> None:
        """Follow SD card prints, including those started from the printer's panel."""
        job = self.job
        if isinstance(reply, SdFileOpened):
            self._sd_file_name = reply.name
        elif isinstance(reply, SdProgress):
            if job is None:
                job = self.begin(now, self._sd_file_name or UNNAMED_SD_FILE, JobOrigin.SD_CARD,
                                 None)
            if job.on_sd_card and reply.total_bytes > 0:
                job.sd_progress_pct = round(100.0 * reply.printed_bytes / reply.total_bytes, 2)
        elif job is not None and job.on_sd_card and isinstance(reply, SdDone):
            job.sd_progress_pct = 100.0
            self.end(now, JobEventKind.FINISHED)
        elif (job is not None and job.on_sd_card and job.paused_at is None
              and isinstance(reply, SdNotPrinting)):
            self.end(now, JobEventKind.CANCELLED, "the printer stopped printing from its SD card")

    def drain(self) -> list[JobEventRecord]:
        """Return the events since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _emit(self, now: float, kind: JobEventKind, reason: str | None = None) -> None:
        job = self.require_job()
        # A streamed print counts the filament in the lines the printer took.
        streamed = job.streamer.extruded_mm if job.streamer is not None else None
        self._events.append(with_file_facts(JobEventRecord(
            ts=now, job_id=job.job_id, event=kind, file_name=job.file_name, origin=job.origin,
            progress_pct=job.progress_pct, time_left_s=job.time_left_s(now),
            reason=reason[:MAX_REASON_CHARS] if reason else None,
            command_transaction=job.command_transaction, filament_used_mm=streamed),
            job.file_facts))
