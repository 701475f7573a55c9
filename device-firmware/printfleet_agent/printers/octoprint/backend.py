"""The OctoPrint backend: a printer the agent reaches through OctoPrint's REST API and push socket.

Job events come from OctoPrint's push socket, not from polling. Polling
/api/printer at the telemetry rate only samples state: a pause shorter
than the interval, or a short print that starts and ends between two
polls, leaves no trace, and a cancel and a failure both end in
"Operational" with partial progress, told apart only by guesswork.
OctoPrint's own events (PrintStarted, PrintPaused, PrintResumed,
PrintDone, PrintCancelled, PrintFailed with its error text) name each
transition exactly, whoever caused it: Printfleet, OctoPrint's UI or API,
or the printer's SD card. The socket needs a WebSocket client; a small one
on the standard library (websocket.py) does, since the agent takes no new
dependencies. Gaps in the stream (agent start, socket reconnects) are
closed by reconciling with /api/printer and /api/job once the socket is
live again. `poll` stays on REST: it is cheap, and its answer is
authoritative even while the socket reconnects.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from printfleet_gcode import GcodeFacts
from printfleet_protocol.payloads import JobOrigin, OctoPrintFacts, OctoPrintPlugin, PrinterState

from ..base import JobEventRecord, PrinterError, PrinterFacts, PrinterSnapshot
from ..file_facts import file_facts, with_file_facts
from . import facts as octoprint_facts
from .analysis import facts_from_file_info
from .jobs import JobTracker
from .push import PushListener
from .rest import (
    OctoPrintAuthError,
    OctoPrintError,
    OctoPrintHttpError,
    OctoPrintRest,
    OctoPrintUnreachable,
    file_path,
)
from .state import job_status_from, link_is_closed, snapshot_from, state_from_connection

logger = logging.getLogger(__name__)

UNKNOWN_FIRMWARE = "unknown"
# File facts of this many recent jobs are kept, so each job's file is looked up once.
REMEMBERED_JOB_FILES = 32
# OctoPrint's states (PrinterStateChanged's state_id) on the way from one to another.
TRANSITIONAL_STATES = frozenset({"STARTING", "PAUSING", "RESUMING", "CANCELLING", "FINISHING",
                                 "OPEN_SERIAL", "DETECT_SERIAL", "CONNECTING"})


@dataclass(frozen=True)
class OctoPrintSettings:
    """Where OctoPrint is, the key to use, and how patient to be with it."""

    base_url: str = "http://127.0.0.1:5000"
    # An application key (OctoPrint: Settings, Application Keys); kept out of reprs and logs.
    api_key: str = field(default="", repr=False)
    # Every REST request but the three below; also the push socket's connect timeout.
    request_timeout_s: float = 5.0
    # poll()'s requests: it runs at the telemetry rate and must not hold the agent up.
    poll_timeout_s: float = 2.0
    # The plugin list: OctoPrint may first refresh plugin notices from the internet (3 s).
    slow_request_timeout_s: float = 20.0
    upload_timeout_s: float = 300.0
    # poll() reads OctoPrint at most this often; calls in between reuse the last answer.
    poll_interval_s: float = 1.0
    # connect() waits this long for the push socket before going on without it.
    link_timeout_s: float = 10.0
    # The push socket's first reconnect delay; it doubles up to 30 s while down.
    reconnect_delay_s: float = 1.0
    # A push socket quiet this long is pinged, and dropped if still quiet as long again.
    idle_timeout_s: float = 30.0
    # Ask OctoPrint to connect to the printer on connect() if it is not.
    connect_printer: bool = True
    # The serial port and baud rate for that; None lets OctoPrint use its own defaults.
    printer_port: str | None = None
    printer_baudrate: int | None = None


class OctoPrintPrinter:
    """Implements PrinterBackend on a running OctoPrint."""

    def __init__(self, settings: OctoPrintSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._rest = OctoPrintRest(settings.base_url, settings.api_key, settings.request_timeout_s)
        # Guards what the push thread updates: the tracker, OctoPrint's state, Z.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tracker = JobTracker()
        self._state_id: str | None = None
        self._z_mm: float | None = None
        self._listener: PushListener | None = None
        self._last_read: tuple[float, PrinterSnapshot] | None = None
        self._unreachable_logged = False
        # By job id: facts of the file (read here, or OctoPrint's analysis), or where it is.
        self._job_facts: dict[str, GcodeFacts] = {}
        self._job_files: dict[str, tuple[str, str]] = {}

    @property
    def link_live(self) -> bool:
        """Whether OctoPrint's push socket is up, so job events reach us as they happen."""
        return self._listener is not None and self._listener.linked

    # PrinterBackend

    def adopt_job(self, job_id: str, file_name: str, origin: JobOrigin) -> None:
        with self._lock:
            self._tracker.adopt(job_id, file_name, origin, self._clock())

    def connect(self) -> None:
        """Check OctoPrint and the key, have it connect its printer if asked, start listening."""
        version = self._version()
        logger.info("connected to %s at %s", version.get("text", "OctoPrint"), self.settings.base_url)
        if self.settings.connect_printer:
            self._connect_printer()
        if self._listener is None:
            self._listener = PushListener(
                self._rest, self._on_push, self._reconcile, self.settings.request_timeout_s,
                self.settings.reconnect_delay_s, self.settings.idle_timeout_s, self._clock)
            self._listener.start()
        if not self._listener.wait_linked(self.settings.link_timeout_s):
            logger.warning("OctoPrint's push socket is not live yet (%s); job events will follow "
                           "once it is", self._listener.last_error or "no answer")

    def disconnect(self) -> None:
        """Stop listening; OctoPrint stays connected to its printer (a print may be running)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        self._last_read = None

    def poll(self, now: float) -> PrinterSnapshot:
        if self._listener is None:
            return PrinterSnapshot(PrinterState.DISCONNECTED)
        if self._last_read is not None and 0 <= now - self._last_read[0] < self.settings.poll_interval_s:
            return self._last_read[1]
        snapshot = self._read_snapshot()
        self._last_read = (now, snapshot)
        return snapshot

    def drain_events(self) -> list[JobEventRecord]:
        with self._lock:
            events = self._tracker.drain()
        return [with_file_facts(event, self._facts_for(event)) for event in events]

    def wait_for_events(self, timeout_s: float) -> bool:
        """Block until job events are waiting to be drained; False on timeout."""
        with self._changed:
            return self._changed.wait_for(self._tracker.has_events, timeout_s)

    def facts(self) -> PrinterFacts:
        version = self._version()
        plugins = self._plugins()
        mesh = None
        if any(plugin.key == octoprint_facts.BED_VISUALIZER for plugin in plugins):
            mesh = self._optional("/api/settings", octoprint_facts.bed_mesh_from)
        firmware = self._optional("/api/system/info", octoprint_facts.firmware_from)
        return PrinterFacts(
            firmware_name=firmware or UNKNOWN_FIRMWARE, bed_mesh=mesh,
            octoprint=OctoPrintFacts(version=str(version.get("server", "unknown")), plugins=plugins))

    def start_print(self, file_name: str, origin: JobOrigin, now: float,
                    command_transaction: str | None = None,
                    local_path: Path | None = None) -> str:
        if self._listener is None:
            raise PrinterError("not connected to OctoPrint")
        facts = None
        if local_path is not None:
            facts = file_facts(local_path)  # OctoPrint's analysis names no slicer
            location, path = "local", self._upload(file_name, local_path)
        else:
            location, path = self._locate(file_name)
        # Announced before asking, as OctoPrint's PrintStarted may beat the answer.
        with self._lock:
            job_id = self._tracker.expect(location, path, file_name, origin, command_transaction, now)
        try:
            self._rest.post(file_path(location, path), {"command": "select", "print": True})
        except OctoPrintError:
            with self._lock:
                self._tracker.forget(job_id)
            raise
        self._remember_file(job_id, (location, path), facts)
        return job_id

    def pause(self, now: float) -> None:
        flags = self._settled_flags()
        if flags.get("paused") or flags.get("pausing"):
            raise PrinterError("the print is already paused")
        if not flags.get("printing"):
            raise PrinterError("OctoPrint is not printing")
        self._rest.post("/api/job", {"command": "pause", "action": "pause"})

    def resume(self, now: float) -> None:
        if not self._settled_flags().get("paused"):
            raise PrinterError("OctoPrint has no paused print to resume")
        self._rest.post("/api/job", {"command": "pause", "action": "resume"})

    def cancel(self, now: float) -> None:
        self._settled_flags()
        self._rest.post("/api/job", {"command": "cancel"})

    def send_gcode(self, lines: list[str]) -> list[str]:
        """Queue G-code on OctoPrint; it answers no replies (they show in its terminal)."""
        self._rest.post("/api/printer/command", {"commands": lines})
        return []

    # Job files

    def _remember_file(self, job_id: str, where: tuple[str, str],
                       facts: GcodeFacts | None) -> None:
        self._job_files[job_id] = where
        if facts is not None:
            self._job_facts[job_id] = facts
        for remembered in (self._job_files, self._job_facts):
            while len(remembered) > REMEMBERED_JOB_FILES:
                remembered.pop(next(iter(remembered)))

    def _facts_for(self, event: JobEventRecord) -> GcodeFacts | None:
        """The job's file facts; asks OctoPrint's analysis until it has an answer."""
        known = self._job_facts.get(event.job_id)
        if known is not None:
            return known
        location, path = self._job_files.get(event.job_id) or (
            "sdcard" if event.origin is JobOrigin.SD_CARD else "local", event.file_name)
        try:
            facts = facts_from_file_info(self._rest.get(file_path(location, path)))
        except OctoPrintError as error:
            logger.info("no analysis of %s/%s from OctoPrint: %s", location, path, error)
            return None
        if facts is not None:
            self._remember_file(event.job_id, (location, path), facts)
        return facts

    # Connecting

    def _version(self) -> dict[str, Any]:
        answer = self._rest.get("/api/version")
        if not isinstance(answer, dict) or "server" not in answer:
            raise OctoPrintError(f"{self.settings.base_url} does not answer like OctoPrint: {answer!r}")
        return answer

    def _connect_printer(self) -> None:
        current = (self._rest.get("/api/connection") or {}).get("current", {})
        if not link_is_closed(str(current.get("state", ""))):
            return
        request: dict[str, Any] = {"command": "connect"}
        if self.settings.printer_port:
            request["port"] = self.settings.printer_port
        if self.settings.printer_baudrate:
            request["baudrate"] = self.settings.printer_baudrate
        logger.info("asking OctoPrint to connect to its printer (was %s)", current.get("state"))
        self._rest.post("/api/connection", request)

    def _settled_flags(self) -> dict[str, Any]:
        """OctoPrint's state flags once it is between no two states.

        OctoPrint announces a pause before it is paused, and silently ignores
        a resume until it is: wait (bounded) for its state to settle first.
        """
        if self.link_live:
            with self._changed:
                self._changed.wait_for(lambda: self._state_id not in TRANSITIONAL_STATES,
                                       self.settings.request_timeout_s)
        printer = self._printer_or_none()
        if printer is None:
            raise PrinterError("OctoPrint's printer is not operational")
        flags = printer.get("state", {}).get("flags", {})
        return flags if isinstance(flags, dict) else {}

    # The push thread's side

    def _on_push(self, kind: str, body: Any, received_at: float) -> None:
        if not isinstance(body, dict):
            return
        with self._lock:
            if kind == "event":
                event, payload = str(body.get("type")), body.get("payload") or {}
                if event == "PrinterStateChanged":
                    self._state_id = payload.get("state_id")
                self._tracker.handle_event(event, payload, received_at)
                self._changed.notify_all()
            elif kind in ("current", "history"):
                z = body.get("currentZ")
                self._z_mm = float(z) if isinstance(z, int | float) else None

    def _reconcile(self) -> None:
        """Catch up on what happened while the push socket was down."""
        printer = self._printer_or_none()
        job = self._rest.get("/api/job") if printer is not None else None
        status = job_status_from(printer or {}, job)
        with self._lock:
            self._state_id = None  # unknown until OctoPrint next reports a change
            self._tracker.reconcile(status, self._clock())
            self._changed.notify_all()

    # Reading

    def _read_snapshot(self) -> PrinterSnapshot:
        timeout = self.settings.poll_timeout_s
        try:
            printer = self._printer_or_none(timeout)
            if printer is None:
                current = (self._rest.get("/api/connection", timeout) or {}).get("current", {})
                return PrinterSnapshot(state_from_connection(str(current.get("state", ""))))
            snapshot = snapshot_from(printer, None, None, None)
            job = None
            if snapshot.state in (PrinterState.PRINTING, PrinterState.PAUSED):
                job = self._rest.get("/api/job", timeout)
        except OctoPrintError as error:
            if not self._unreachable_logged:
                logger.warning("cannot read OctoPrint: %s", error)
                self._unreachable_logged = True
            return PrinterSnapshot(PrinterState.DISCONNECTED)
        self._unreachable_logged = False
        with self._lock:
            job_id, z_mm = self._tracker.active_job_id, self._z_mm
        return snapshot_from(printer, job, job_id, z_mm)

    def _printer_or_none(self, timeout_s: float | None = None) -> dict[str, Any] | None:
        """/api/printer, or None while OctoPrint has no operational printer (HTTP 409)."""
        try:
            return self._rest.get("/api/printer?exclude=sd", timeout_s)
        except OctoPrintHttpError as error:
            if error.status == 409:
                return None
            raise

    def _plugins(self) -> list[OctoPrintPlugin]:
        try:
            answer = self._rest.get("/plugin/pluginmanager/plugins",
                                    timeout_s=self.settings.slow_request_timeout_s)
            return octoprint_facts.plugins_from(answer)
        except (OctoPrintAuthError, OctoPrintHttpError) as error:
            # Needs the plugin manager's "manage" permission; a plain user's key may list only.
            logger.info("full plugin list unavailable (%s); asking for versions only", error)
        answer = self._optional("/plugin/pluginmanager/plugins/versions", lambda answer: answer)
        return octoprint_facts.plugins_from_versions(answer) if isinstance(answer, dict) else []

    def _optional(self, path: str, read: Callable[[Any], Any]) -> Any:
        """Read one optional fact; None (logged) when OctoPrint will not give it."""
        try:
            return read(self._rest.get(path))
        except (OctoPrintAuthError, OctoPrintHttpError, OctoPrintUnreachable) as error:
            logger.info("OctoPrint fact %s unavailable: %s", path, error)
            return None

    # Files

    def _upload(self, file_name: str, local_path: Path) -> str:
        """Upload to OctoPrint's local storage; return the path OctoPrint stored it under."""
        answer = self._rest.upload("/api/files/local", Path(file_name).name, local_path, {},
                                   timeout_s=self.settings.upload_timeout_s)
        stored = (answer or {}).get("files", {}).get("local", {})
        path = stored.get("path") or stored.get("name")
        if not path:
            raise OctoPrintError(f"OctoPrint's upload answer names no file: {answer!r}")
        return str(path)

    def _locate(self, file_name: str) -> tuple[str, str]:
        """Find a file OctoPrint already has: its local storage first, then the SD card."""
        for location in ("local", "sdcard"):
            try:
                answer = self._rest.get(file_path(location, file_name))
            except OctoPrintHttpError as error:
                if error.status == 404:
                    continue
                raise
            return location, str((answer or {}).get("path") or file_name)
        raise PrinterError(f"OctoPrint has no file {file_name!r} (looked in local storage and SD)")
