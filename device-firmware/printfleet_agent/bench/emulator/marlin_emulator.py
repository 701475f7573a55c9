"""A Marlin-like printer behind a real pseudo-terminal, reachable through a stable symlink.

"Unplugging" closes the pty's master side and removes the symlink, as a pulled
USB cable removes /dev/ttyUSB0; "plugging in" makes a new pty and points the
symlink at it. Like a board that resets when its port opens, the emulator
prints "start" each time the host opens the line and forgets line numbers.

A pty carries bytes at any speed, but the host's baud setting is kept in
the pty's termios, which the master side can read: with `baudrate` set, the
emulator answers only at that rate and sends framing garbage otherwise.
"""

from __future__ import annotations

import os
import queue
import re
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

from printfleet_agent.printers.serial.gcode import checksum

from .emulated_firmware import EmulatedFirmware, EmulatorOptions, SdCard, dwell_s
from .pseudo_terminal import line_speed, open_pty_at

_GARBAGE = b"\xfc\x8f\x00\xe3\x1c\x80\xfe\xf0"  # what a wrong baud rate looks like
_DETACHED_WAIT_S = 0.005  # the master side gets no event when the slave side opens
# Bounds how late a host's open (no event either) and an auto-report are noticed.
_POLL_TIMEOUT_MS = 20
_WRITE_WAIT_S = 1.0
_M110_NUMBER = re.compile(r"M110\s*N(\d+)")


class MarlinEmulator:
    """Runs the emulated board on a thread and records every command it accepted."""

    def __init__(self, link_path: Path, options: EmulatorOptions | None = None) -> None:
        self.link_path = link_path
        self.options = options or EmulatorOptions()
        self.firmware = EmulatedFirmware(self.options)
        self.accepted: list[str] = []  # commands taken, in order, numbers and checksums removed
        self.errors_sent: list[str] = []
        self.refused_rates: list[int] = []
        self.opened = 0
        self.holding = False
        self._release = threading.Event()
        self._changed = threading.Condition()
        self._write_lock = threading.Lock()
        self._master: int | None = None
        self._attached = False
        self._halted = False
        self._last_line = 0
        self._rejected_once: set[int] = set()
        self._buffer = b""
        self._requests: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marlin emulator", daemon=True)
        self._next_report = 0.0

    def start(self) -> MarlinEmulator:
        self._plug()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self._unplug()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def release(self) -> None:
        """Let a held line through."""
        self._release.set()
        os.write(self._wake_w, b"x")

    def unplug(self) -> None:
        """Pull the cable: the host's port fails and its path disappears."""
        self._on_thread(self._unplug)

    def plug(self) -> None:
        """Put the cable back: a fresh pty behind the same path."""
        self._on_thread(self._plug)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate` holds, checked at each accepted command."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def press_reset(self) -> None:
        """Reset the board as its reset button does: "start" again, line numbers from zero."""
        def reset() -> None:
            self._attached = False
            self._attach()
        self._on_thread(reset)

    def say(self, *lines: str) -> None:
        """Send lines of the test's choosing, as the firmware would on its own."""
        self._send(*lines)

    def start_sd_print(self, name: str, size: int) -> None:
        """Start printing from the SD card, as from the printer's panel."""
        self.firmware.sd = SdCard(name, size, 0, True)
        self._send(f"File opened: {name} Size: {size}", "File selected")

    def advance_sd_print(self, position: int) -> None:
        self.firmware.sd.position = position

    def finish_sd_print(self) -> None:
        self.firmware.sd = SdCard()
        self._send("Done printing file")

    def _on_thread(self, action: Callable[[], None]) -> None:
        done = threading.Event()
        self._requests.put((action, done))
        os.write(self._wake_w, b"x")
        if not done.wait(5):
            raise TimeoutError("the emulator thread did not respond")

    def _plug(self) -> None:
        self._master, self._attached = open_pty_at(self.link_path), False

    def _unplug(self) -> None:
        self.link_path.unlink(missing_ok=True)
        if self._master is not None:
            with self._write_lock:
                os.close(self._master)
                self._master = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._serve_requests()
            master = self._master
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            if master is not None:
                poller.register(master, select.POLLIN)
            events = dict(poller.poll(_POLL_TIMEOUT_MS))
            if self._wake_r in events:
                os.read(self._wake_r, 1024)
            if master is not None:
                self._serve(master, events.get(master, 0))

    def _serve_requests(self) -> None:
        while not self._requests.empty():
            action, done = self._requests.get()
            action()
            done.set()

    def _serve(self, master: int, event: int) -> None:
        if event & select.POLLIN:
            self._attach()
            try:
                self._buffer += os.read(master, 4096)
            except (BlockingIOError, OSError):
                return
            self._process_buffer()
        elif event & select.POLLHUP:
            self._attached = False
            self._stopping.wait(_DETACHED_WAIT_S)
        else:
            self._attach()
        self._autoreport()

    def _attach(self) -> None:
        if self._attached:
            return
        self._attached = True
        self.firmware = EmulatedFirmware(self.options, sd=self.firmware.sd)  # a reset board
        self._last_line, self._halted, self._buffer = 0, False, b""
        with self._changed:
            self.opened += 1
            self._changed.notify_all()
        # The host may not have set its speed yet: judge it, but only by its lines.
        if self.options.send_start and self._rate_matches(record=False):
            self._send(*self.firmware.boot_lines())

    def _rate_matches(self, record: bool = True) -> bool:
        wanted = self.options.baudrate
        if wanted is None or self._master is None:
            return True
        speed = line_speed(self._master)
        if speed != wanted:
            if record:
                self.refused_rates.append(speed)
            self._write(_GARBAGE)
            return False
        return True

    def _process_buffer(self) -> None:
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            text = raw.decode("ascii", errors="replace").strip()
            if text and not self._halted and self._rate_matches():
                self._receive(text)

    def _receive(self, text: str) -> None:
        command = self._check_numbered(text) if text.startswith("N") else text
        if command is None:
            return
        if text.startswith(f"N{self.options.hold_at_line} "):
            self._hold()
            if self._master is None:
                return  # unplugged while holding: the line never arrived
        if (reset_to := _M110_NUMBER.match(command)) is not None:
            self._last_line = int(reset_to[1])  # as Marlin's M110, numbered or not
        with self._changed:
            self.accepted.append(command)
            self._changed.notify_all()
        dwell = dwell_s(command)
        if dwell:
            self._busy_for(dwell)
        self._send(*self.firmware.respond(command))

    def _check_numbered(self, text: str) -> str | None:
        """Check the line like Marlin's queue does; return its command, or None if refused."""
        if "*" not in text:
            self._refuse("No Checksum with line number")
            return None
        body, _, sent_checksum = text.rpartition("*")
        number, _, command = body[1:].partition(" ")
        is_m110 = command.startswith("M110")
        if not is_m110 and int(number) != self._last_line + 1:
            self._refuse("Line Number is not Last Line Number+1")
            return None
        if str(checksum(body)) != sent_checksum.strip() or self._corrupted(int(number)):
            self._refuse("checksum mismatch")
            return None
        if int(number) == self.options.fatal_at_line:
            self._halted = True
            self._send(*self.options.fatal_messages)
            return None
        self._last_line = int(number)  # an M110 sets it again when it runs
        return command

    def _hold(self) -> None:
        """Sit on a line, still serving plug requests, until released or unplugged."""
        with self._changed:
            self.holding = True
            self._changed.notify_all()
        while not (self._release.is_set() or self._stopping.is_set() or self._master is None):
            select.select([self._wake_r], [], [])
            os.read(self._wake_r, 1024)
            self._serve_requests()
        self.holding = False

    def _corrupted(self, number: int) -> bool:
        every = self.options.resend_every
        wanted = number in self.options.corrupt_lines or (every and number % every == 0)
        if wanted and number not in self._rejected_once:
            self._rejected_once.add(number)
            return True
        return False

    def _refuse(self, error: str) -> None:
        """Answer like Marlin's gcode_line_error: error, flush what is buffered, resend, ok."""
        self.errors_sent.append(error)
        self._send(f"Error:{error}, Last Line: {self._last_line}")
        self._buffer = b""
        if self._master is not None:
            try:
                while os.read(self._master, 4096):
                    pass
            except OSError:  # BlockingIOError: nothing more buffered
                pass
        self._send(f"Resend: {self._last_line + 1}", "ok")
        return None

    def _busy_for(self, seconds: float) -> None:
        """Work on a long command, telling the host every so often that it is still busy."""
        interval = self.options.busy_interval_s
        remaining = seconds
        while remaining > 0 and not self._stopping.is_set():
            self._stopping.wait(min(interval, remaining))
            remaining -= interval
            self._send("echo:busy: processing")

    def _autoreport(self) -> None:
        interval = self.firmware.autoreport_s
        now = time.monotonic()
        if interval and self._attached and not self._halted and now >= self._next_report:
            self._next_report = now + interval
            self._send(self.firmware.temperature_report())

    def _send(self, *lines: str) -> None:
        self._write("".join(f"{line}\n" for line in lines).encode())

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            view = memoryview(data)
            while view and self._master is not None:
                try:
                    view = view[os.write(self._master, view):]
                except BlockingIOError:  # the host is behind: wait for room, not forever
                    if not select.select([], [self._master], [], _WRITE_WAIT_S)[1]:
                        return
                except OSError:
                    return  # nobody on the other end
