"""Keeps G-code flowing to the printer: sends, matches replies, reconnects after a drop.

Threads: a supervisor thread opens the port and reopens it with back-off;
the transport's reader thread delivers lines. Both, and callers of
`submit`, work under one lock shared with the backend, so the backend's
listener methods always run under it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Protocol

from .protocol import CommandSource, LineSender, Pending, ResendImpossible
from .replies import Busy, FirmwareStart, Ok, Reply, Resend, TemperatureReport, Wait, parse_reply
from .settings import SerialPrinterSettings
from .transport import LinkLost, LinkUnavailable, SerialTransport

logger = logging.getLogger(__name__)

_JOIN_S = 5.0
# Replies that belong to no command: they would clutter send_gcode's answer.
_UNATTACHED = (TemperatureReport, Busy, Wait)


class LinkListener(Protocol):
    """What the link tells its owner; called with the shared lock held."""

    def link_up(self) -> None: ...

    def link_down(self, reason: str) -> None: ...

    def link_failed(self, reason: str) -> None: ...

    def received(self, reply: Reply, line: str) -> None: ...


class PrinterLink:
    """The serial conversation with one printer, across reconnects."""

    def __init__(self, settings: SerialPrinterSettings, listener: LinkListener,
                 lock: threading.RLock) -> None:
        self._settings = settings
        self._listener = listener
        self._lock = lock
        self.sender = LineSender(settings.inflight_lines, settings.resend_history_lines)
        self._transport: SerialTransport | None = None
        self._retired: list[SerialTransport] = []
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_heard = time.monotonic()
        self.connected = False
        self.last_error: str | None = None
        self.failed_attempts = 0

    @property
    def baudrate(self) -> int | None:
        """The rate the open port runs at, if it is open."""
        return self._transport.baudrate if self._transport is not None else None

    def start(self) -> None:
        """Start connecting in the background; reconnect whenever the line drops."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, daemon=True,
                                        name=f"serial link {self._settings.port}")
        self._thread.start()

    def stop(self) -> None:
        """Close the line and stop reconnecting."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(_JOIN_S)
            self._thread = None
        with self._lock:
            self._drop("disconnected on request", expected=True)
            retired, self._retired = self._retired, []
        for transport in retired:
            transport.join(_JOIN_S)

    def submit(self, pending: Pending) -> None:
        """Queue a command ahead of any print job and send what the window allows."""
        with self._lock:
            if not self.connected:
                pending.finish(error="printer is not connected")
                return
            self.sender.submit(pending)
            self.pump()

    def submit_once(self, command: str) -> None:
        """Queue a periodic query unless the same one is still waiting for its answer."""
        with self._lock:
            if self.connected and not self.sender.is_waiting_for(command):
                self.submit(Pending(command, key=command))

    def set_source(self, source: CommandSource | None) -> None:
        """Feed commands from `source` (a print job) whenever nothing else is queued."""
        with self._lock:
            self.sender.source = source
            if source is not None:  # may be called from inside the source itself
                self.pump()

    def abandon(self, reason: str) -> None:
        """Give up on every unanswered command, keeping the line numbering (firmware halted)."""
        with self._lock:
            for pending in self.sender.reset(self.sender.next_line):
                pending.finish(error=reason)

    def pump(self) -> None:
        """Send as many lines as the window allows."""
        with self._lock:
            if self._transport is None:
                return
            if not self.sender.waiting:
                self._last_heard = time.monotonic()  # the reply clock starts now
            for line in self.sender.next_lines():
                if not self._write(line):
                    return

    def _write(self, line: str) -> bool:
        assert self._transport is not None
        try:
            self._transport.write_line(line)
        except LinkLost as error:
            self._drop(f"printer connection lost: {error}")
            return False
        return True

    def _supervise(self) -> None:
        delay = self._settings.reconnect_initial_s
        check_every = min(1.0, self._settings.response_timeout_s / 4)
        while not self._stopping.is_set():
            if not self.connected:
                try:
                    self._connect()
                except Exception as error:  # LinkUnavailable, or a surprise from pyserial
                    if not isinstance(error, LinkUnavailable):
                        logger.exception("opening %s failed", self._settings.port)
                    self._attempt_failed(str(error) or type(error).__name__, delay)
                    delay = min(delay * 2, self._settings.reconnect_max_s)
                    continue
                delay = self._settings.reconnect_initial_s
            self._wake.wait(self._settle_left_s() or check_every)
            self._wake.clear()
            self._check_line()
            self._check_settled()

    def _attempt_failed(self, reason: str, retry_in_s: float) -> None:
        with self._lock:
            self.last_error, self.failed_attempts = reason, self.failed_attempts + 1
            self._listener.link_failed(reason)
        logger.info("printer not reachable, retrying in %.1f s: %s", retry_in_s, reason)
        self._stopping.wait(retry_in_s)

    def _connect(self) -> None:
        transport = SerialTransport(self._settings, lambda line: self._on_line(transport, line),
                                    lambda detail: self._on_lost(transport, detail))
        transport.open()
        with self._lock:
            if self._stopping.is_set():
                transport.close()
                return
            self._transport, self.connected, self.last_error = transport, True, None
            self.sender.reset()
            self._last_heard = time.monotonic()
            transport.start_reading()
            self._listener.link_up()
            self.pump()

    def _on_line(self, transport: SerialTransport, line: str) -> None:
        reply = parse_reply(line)
        with self._lock:
            if transport is not self._transport:
                return
            self._last_heard = time.monotonic()
            answered = self._account(reply, line)
            if isinstance(reply, FirmwareStart):
                logger.warning("printer firmware restarted")
                for pending in self.sender.restart_numbering(1):
                    pending.finish(error="printer firmware restarted")
            self._listener.received(reply, line)
            if answered is not None:
                answered.finish()
            if self.sender.settling:
                self._wake.set()  # the supervisor times the quiet before the resend
            self.pump()

    def _account(self, reply: Reply, line: str) -> Pending | None:
        if not isinstance(reply, Ok | Resend):
            if not isinstance(reply, _UNATTACHED):
                self.sender.attach(line)
            return None
        try:
            return self.sender.handle(reply, line)
        except ResendImpossible as error:
            logger.error("%s; starting the line numbering afresh", error)
            for pending in self.sender.restart_numbering(0, error.line_number):
                pending.finish(error=str(error))
            # Numbered N0 and counted like any line, so its "ok" is not taken for another's.
            self.sender.submit(Pending("M110 N0"))
            return None

    def _on_lost(self, transport: SerialTransport, detail: str) -> None:
        with self._lock:
            if transport is self._transport:
                self._drop(f"printer connection lost: {detail}")

    def _settle_left_s(self) -> float | None:
        with self._lock:
            if not self.sender.settling:
                return None
            quiet_s = time.monotonic() - self._last_heard
            return max(0.001, self._settings.resend_settle_s - quiet_s)

    def _check_settled(self) -> None:
        with self._lock:
            quiet_s = time.monotonic() - self._last_heard
            if self.sender.settling and quiet_s >= self._settings.resend_settle_s:
                logger.info("firmware quiet after a resend request; resending")
                self.sender.settle()
                self.pump()

    def _check_line(self) -> None:
        """Notice a dead line that raised no error: a vanished port, or a silent printer."""
        timeout = self._settings.response_timeout_s
        with self._lock:
            if self._transport is not None and not os.path.exists(self._settings.port):
                self._drop(f"printer connection lost: {self._settings.port} disappeared")
            elif self.sender.waiting and time.monotonic() - self._last_heard > timeout:
                self._drop(f"printer connection lost: no reply for {timeout:g} s")

    def _drop(self, reason: str, expected: bool = False) -> None:
        transport, self._transport = self._transport, None
        if transport is None:
            return
        logger.log(logging.INFO if expected else logging.WARNING, "%s: %s",
                   self._settings.port, reason)
        self.connected, self.last_error = False, reason
        transport.close()
        self._retired = [t for t in self._retired if t.reading] + [transport]
        abandoned = self.sender.reset()
        self.sender.source = None
        self._listener.link_down(reason)
        for pending in abandoned:
            pending.finish(error=reason)
        self._wake.set()
