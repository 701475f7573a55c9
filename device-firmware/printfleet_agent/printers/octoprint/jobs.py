"""Turn OctoPrint's print events into Printfleet job events; pure bookkeeping, no I/O.

OctoPrint announces every print on its push socket, whoever started it:
PrintStarted, PrintPaused, PrintResumed, PrintDone, PrintCancelling,
PrintCancelled and PrintFailed, each with the file's storage (`local` or
`sdcard`) and path. A start Printfleet asked for is announced here first
(`expect`), so its events carry origin `printfleet` and the command's
transaction. After a gap in the event stream (agent start, socket
reconnect) `reconcile` compares OctoPrint's current state with what was
tracked and reports what the gap hid.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from printfleet_protocol.payloads import JobEventKind, JobOrigin

from ..base import JobEventRecord

logger = logging.getLogger(__name__)

SD_CARD = "sdcard"
# Printfleet's start request is matched to OctoPrint's PrintStarted within this time.
EXPECTATION_TTL_S = 120.0
ADOPTED_REASON = "already printing when the agent linked to OctoPrint"
GAP_REASON = "ended while the agent's link to OctoPrint was down; outcome unknown"


@dataclass(frozen=True, slots=True)
class OctoPrintJobStatus:
    """OctoPrint's job as its REST API shows it at one instant."""

    printing: bool
    paused: bool
    location: str | None = None
    path: str | None = None
    completion_pct: float | None = None


@dataclass
class _Job:
    job_id: str
    location: str
    path: str
    file_name: str
    origin: JobOrigin
    transaction: str | None
    progress_pct: float | None = 0.0
    paused: bool = False
    adopted: bool = False
    firmware_error: str | None = None


@dataclass
class _Expected:
    job_id: str
    file_name: str
    origin: JobOrigin
    transaction: str | None
    since: float


class JobTracker:
    """Keeps the current job and the events not yet drained; not thread-safe on its own."""

    def __init__(self, new_job_id: Callable[[], str] | None = None) -> None:
        self._new_job_id = new_job_id or (lambda: uuid.uuid4().hex[:12])
        self._job: _Job | None = None
        self._expected: dict[tuple[str, str], _Expected] = {}
        self._events: list[JobEventRecord] = []
        self._last_error: str | None = None
        self._known: _Expected | None = None

    @property
    def active_job_id(self) -> str | None:
        return self._job.job_id if self._job else None

    def expect(self, location: str, path: str, file_name: str, origin: JobOrigin,
               transaction: str | None, now: float) -> str:
        """Announce a start Printfleet is about to request; return the job id it will get."""
        self._expected = {key: value for key, value in self._expected.items()
                          if now - value.since < EXPECTATION_TTL_S}
        expected = _Expected(self._new_job_id(), file_name, origin, transaction, now)
        self._expected[(location, path.lstrip("/"))] = expected
        return expected.job_id

    def adopt(self, job_id: str, file_name: str, origin: JobOrigin, now: float) -> None:
        """Remember a job reported before the agent restarted, to keep its id if still running."""
        self._known = _Expected(job_id, file_name, origin, None, now)

    def forget(self, job_id: str) -> None:
        """Drop an expectation whose start request failed."""
        self._expected = {key: value for key, value in self._expected.items()
                          if value.job_id != job_id}

    def has_events(self) -> bool:
        return bool(self._events)

    def drain(self) -> list[JobEventRecord]:
        events, self._events = self._events, []
        return events

    def handle_event(self, kind: str, payload: dict[str, Any] | None, ts: float) -> None:
        """Take one event from OctoPrint's push socket."""
        payload = payload or {}
        handler = self._handlers().get(kind)
        if handler is not None:
            handler(payload, ts)

    def reconcile(self, status: OctoPrintJobStatus, ts: float) -> None:
        """Bring the tracked job in line with OctoPrint's state after a gap in events."""
        job = self._job
        same = job is not None and (job.location, job.path) == (status.location, _path(status.path))
        if job is not None and not (status.printing and same):
            finished = same and (status.completion_pct or 0) >= 100
            if finished:
                self._end(JobEventKind.FINISHED, ts, progress=100.0, time_left=0.0)
            else:
                self._end(JobEventKind.FAILED, ts, reason=GAP_REASON)
        if not status.printing or status.location is None or status.path is None:
            return
        if self._job is None:
            self._start(status.location, status.path, ts, adopted=True,
                        progress=status.completion_pct)
        job = self._job
        if job is not None and job.paused != status.paused:
            job.paused = status.paused
            self._emit(JobEventKind.PAUSED if status.paused else JobEventKind.RESUMED, ts)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any], float], None]]:
        return {
            "PrintStarted": self._on_started,
            "PrintPaused": self._on_paused,
            "PrintResumed": self._on_resumed,
            "PrintDone": self._on_done,
            "PrintCancelling": self._on_cancelling,
            "PrintCancelled": self._on_cancelled,
            "PrintFailed": self._on_failed,
            "Error": self._on_error,
        }

    def _on_started(self, payload: dict[str, Any], ts: float) -> None:
        location, path = _where(payload)
        job = self._job
        if job is not None and job.adopted and (job.location, job.path) == (location, path):
            job.adopted = False  # the socket's own report of the print reconcile adopted
            return
        if job is not None:
            self._end(JobEventKind.FAILED, ts, reason=GAP_REASON)
        self._last_error = None
        self._start(location, path, ts, adopted=False, progress=0.0)

    def _on_paused(self, payload: dict[str, Any], ts: float) -> None:
        job = self._job_for(payload, ts)
        job.paused = True
        self._emit(JobEventKind.PAUSED, ts, progress=_progress(payload, job))

    def _on_resumed(self, payload: dict[str, Any], ts: float) -> None:
        job = self._job_for(payload, ts)
        job.paused = False
        self._emit(JobEventKind.RESUMED, ts, progress=_progress(payload, job))

    def _on_done(self, payload: dict[str, Any], ts: float) -> None:
        self._job_for(payload, ts)
        self._end(JobEventKind.FINISHED, ts, progress=100.0, time_left=0.0)

    def _on_cancelling(self, payload: dict[str, Any], ts: float) -> None:
        job = self._job_for(payload, ts)
        if isinstance(payload.get("firmwareError"), str):
            job.firmware_error = payload["firmwareError"]

    def _on_cancelled(self, payload: dict[str, Any], ts: float) -> None:
        job = self._job_for(payload, ts)
        progress = _progress(payload, job)
        if job.firmware_error:
            # OctoPrint cancels a print itself on some firmware errors: a failure, not a cancel.
            self._end(JobEventKind.FAILED, ts, progress=progress,
                      reason=f"firmware error: {job.firmware_error}")
        else:
            self._end(JobEventKind.CANCELLED, ts, progress=progress)

    def _on_failed(self, payload: dict[str, Any], ts: float) -> None:
        cancelled = payload.get("reason") == "cancelled"
        if cancelled and self._job is None:
            return  # OctoPrint follows PrintCancelled with PrintFailed(reason=cancelled)
        job = self._job_for(payload, ts)
        if cancelled:
            self._end(JobEventKind.CANCELLED, ts, progress=_progress(payload, job))
            return
        # On an error OctoPrint (1.11) puts the raw fraction in "progress",
        # unlike the whole percent its other print events carry.
        progress = _progress(payload, job, scale=100.0)
        error = payload.get("error") or self._last_error or "OctoPrint reported the print failed"
        self._end(JobEventKind.FAILED, ts, progress=progress, reason=str(error))

    def _on_error(self, payload: dict[str, Any], ts: float) -> None:
        if isinstance(payload.get("error"), str) and payload["error"]:
            self._last_error = payload["error"]

    def _job_for(self, payload: dict[str, Any], ts: float) -> _Job:
        """The tracked job, adopting the one the event names if its start went unseen."""
        if self._job is None:
            location, path = _where(payload)
            self._start(location, path, ts, adopted=True, progress=_progress(payload, None))
        assert self._job is not None
        return self._job

    def _start(self, location: str, path: str, ts: float, adopted: bool,
               progress: float | None) -> None:
        path = _path(path) or "unknown"
        expected = self._expected.pop((location, path), None)
        known, self._known = self._known, None
        if expected is None and adopted and known is not None and known.file_name in (
                path, path.rsplit("/", 1)[-1]):
            # The print the agent reported before it restarted: same job, no new start.
            self._job = _Job(known.job_id, location, path, known.file_name, known.origin, None,
                             progress, adopted=True)
            return
        if expected is not None:
            job = _Job(expected.job_id, location, path, expected.file_name, expected.origin,
                       expected.transaction, progress, adopted=adopted)
        else:
            origin = JobOrigin.SD_CARD if location == SD_CARD else JobOrigin.OCTOPRINT_UI
            job = _Job(self._new_job_id(), location, path, path, origin, None, progress,
                       adopted=adopted)
        self._job = job
        unannounced = adopted and expected is None
        self._emit(JobEventKind.STARTED, ts, reason=ADOPTED_REASON if unannounced else None)

    def _end(self, kind: JobEventKind, ts: float, progress: float | None = None,
             time_left: float | None = None, reason: str | None = None) -> None:
        self._emit(kind, ts, progress=progress, time_left=time_left, reason=reason)
        self._job = None

    def _emit(self, kind: JobEventKind, ts: float, progress: float | None = None,
              time_left: float | None = None, reason: str | None = None) -> None:
        job = self._job
        assert job is not None
        if progress is not None:
            job.progress_pct = progress
        self._events.append(JobEventRecord(
            ts=ts, job_id=job.job_id, event=kind, file_name=job.file_name, origin=job.origin,
            progress_pct=job.progress_pct, time_left_s=time_left, reason=reason,
            command_transaction=job.transaction))
        logger.info("job %s (%s) %s", job.job_id, job.file_name, kind)


def _where(payload: dict[str, Any]) -> tuple[str, str]:
    location = payload.get("origin") or "local"
    path = payload.get("path") or payload.get("name") or "unknown"
    return str(location), _path(str(path)) or "unknown"


def _path(path: str | None) -> str | None:
    return path.lstrip("/") if path else path


def _progress(payload: dict[str, Any], job: _Job | None, scale: float = 1.0) -> float | None:
    value = payload.get("progress")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(max(0.0, min(100.0, float(value) * scale)), 2)
    return job.progress_pct if job else None
