"""One open serial line to a printer: baud rate found by trial, lines read on a thread."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import serial

from .replies import FirmwareStart, Ok, parse_reply
from .settings import SerialPrinterSettings

logger = logging.getLogger(__name__)

# How long one read waits during the handshake, before the reader thread runs.
_HANDSHAKE_READ_S = 0.05
_ENCODING = "ascii"


class LinkUnavailable(RuntimeError):
    """No printer answered on the port at any baud rate."""


class LinkLost(RuntimeError):
    """The line failed while in use: the cable was pulled or the port vanished."""


class SerialTransport:
    """An open port: `open` finds the baud rate, `start_reading` hands lines to a callback."""

    def __init__(self, settings: SerialPrinterSettings, on_line: Callable[[str], None],
                 on_lost: Callable[[str], None]) -> None:
        self._settings = settings
        self._on_line = on_line
        self._on_lost = on_lost
        self._port: serial.Serial | None = None
        self._reader: threading.Thread | None = None
        self._buffer = bytearray()
        self._closing = False
        self._write_lock = threading.Lock()
        # Held while closing, so close() never wakes a reader whose port is already shut.
        self._close_lock = threading.Lock()
        self.baudrate: int | None = None

    def open(self) -> None:
        """Open the port at the first rate at which the firmware answers; raise LinkUnavailable."""
        path = self._settings.port
        rates = self._settings.baudrates()
        for rate in rates:
            if not os.path.exists(path):
                raise LinkUnavailable(f"{path} does not exist")
            port = self._open_port(path, rate)
            try:
                answered = self._handshake(port)
            except (serial.SerialException, OSError) as error:
                port.close()
                raise LinkUnavailable(f"{path} failed during the handshake: {error}") from error
            if answered:
                logger.info("printer on %s answers at %d baud", path, rate)
                self._port, self.baudrate = port, rate
                return
            logger.info("no valid reply on %s at %d baud", path, rate)
            port.close()
        raise LinkUnavailable(f"no valid reply on {path} at {', '.join(map(str, rates))} baud")

    def start_reading(self) -> None:
        """Start the thread that turns incoming bytes into lines for `on_line`."""
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name=f"serial reader {self._settings.port}")
        self._reader.start()

    def write_line(self, line: str) -> None:
        """Send one line; raise LinkLost if the port fails."""
        if self._port is None or self._closing:
            raise LinkLost("the port is closed")
        try:
            with self._write_lock:
                self._port.write(line.encode(_ENCODING, errors="replace") + b"\n")
        except (serial.SerialException, OSError) as error:
            raise LinkLost(_describe(error)) from error

    def close(self) -> None:
        """Stop reading and close the port; the reader thread closes it on its way out."""
        with self._close_lock:
            self._closing = True
            port = self._port
            if port is None or not port.is_open:
                return
            if self._reader is None or threading.current_thread() is self._reader:
                port.close()
            else:
                port.cancel_read()  # wakes the reader's select; the wake-up cannot be missed

    @property
    def reading(self) -> bool:
        """Tell whether the reader thread is still running."""
        return self._reader is not None and self._reader.is_alive()

    def join(self, timeout: float) -> None:
        """Wait for the reader thread to finish after `close`."""
        if self._reader is not None and threading.current_thread() is not self._reader:
            self._reader.join(timeout)

    def _open_port(self, path: str, rate: int) -> serial.Serial:
        try:
            return serial.Serial(path, rate, timeout=_HANDSHAKE_READ_S,
                                 write_timeout=self._settings.response_timeout_s)
        except (serial.SerialException, OSError, ValueError) as error:
            raise LinkUnavailable(f"cannot open {path} at {rate} baud: {error}") from error

    def _handshake(self, port: serial.Serial) -> bool:
        """Give a resetting board time to print "start", then expect an "ok" to M110."""
        self._buffer.clear()
        self._read_until(port, FirmwareStart, self._settings.boot_wait_s)
        port.write(b"M110 N0\n")
        return self._read_until(port, Ok, self._settings.handshake_timeout_s)

    def _read_until(self, port: serial.Serial, kind: type, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._buffer += port.read(port.in_waiting or 1)
            for line in self._take_lines():
                if isinstance(parse_reply(line), kind):
                    return True
        return False

    def _take_lines(self) -> list[str]:
        *complete, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        return [raw.rstrip(b"\r").decode(_ENCODING, errors="replace") for raw in complete]

    def _read_loop(self) -> None:
        port = self._port
        assert port is not None
        port.timeout = None  # block until data; close() cancels the read
        try:
            while not self._closing:
                self._buffer += port.read(port.in_waiting or 1)
                for line in self._take_lines():
                    self._deliver(line)
        except (serial.SerialException, OSError, TypeError) as error:
            # TypeError: pyserial reading a port closed under it.
            if not self._closing:
                self._on_lost(_describe(error))
        finally:
            with self._close_lock:
                port.close()

    def _deliver(self, line: str) -> None:
        try:
            self._on_line(line)
        except Exception:  # a bug in handling one line must not stop the reader
            logger.exception("handling the printer's line %r failed", line)


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
