"""A Marlin emulator on a pseudo-terminal per test, and printers that talk to it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from printfleet_agent.bench.emulator import EmulatorOptions, MarlinEmulator
from printfleet_agent.printers.base import JobEventRecord
from printfleet_agent.printers.serial import SerialPrinter, SerialPrinterSettings
from printfleet_agent.printers.serial.gcode import commands_in
from printfleet_protocol.payloads import JobEventKind

WAIT_S = 10.0
# Commands the backend sends by itself: everything else came from a job or a test.
BACKEND_QUERIES = ("M110", "M115", "M155", "M420", "G81", "M105", "M27")

# Short waits so that a whole reconnect cycle fits in well under a second.
FAST = SerialPrinterSettings(
    boot_wait_s=0.5, handshake_timeout_s=0.3, response_timeout_s=3.0, command_timeout_s=3.0,
    reconnect_initial_s=0.05, reconnect_max_s=0.2)


@pytest.fixture
def port_path(tmp_path: Path) -> Path:
    return tmp_path / "ttyPrinter"


@pytest.fixture
def make_emulator(port_path: Path) -> Iterator[Callable[..., MarlinEmulator]]:
    started: list[MarlinEmulator] = []

    def make(**options: object) -> MarlinEmulator:
        emulator = MarlinEmulator(port_path, EmulatorOptions(**options)).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def make_printer(port_path: Path) -> Iterator[Callable[..., SerialPrinter]]:
    made: list[SerialPrinter] = []

    def make(connect: bool = True, **overrides: object) -> SerialPrinter:
        settings = dataclasses.replace(FAST, port=str(port_path), **overrides)
        printer = SerialPrinter(settings)
        made.append(printer)
        if connect:
            printer.connect()
        return printer

    yield make
    for printer in made:
        printer.disconnect()


def job_commands(emulator: MarlinEmulator) -> list[str]:
    """The commands the emulator accepted, without the backend's own queries."""
    return [c for c in emulator.accepted if not c.startswith(BACKEND_QUERIES)]


def write_gcode(path: Path, moves: int, extra: Callable[[int], str] | None = None) -> list[str]:
    """Write a G-code file with comments and blank lines; return its commands."""
    lines = ["; generated for a test", "G28 ; home", "", "M104 S210", "G90"]
    for i in range(moves):
        lines.append(f"G1 X{i % 200}.{i % 7} Y{(i * 3) % 200} E{i * 0.01:.2f} F3000 ; move {i}")
        if extra is not None and (text := extra(i)):
            lines.append(text)
    lines.append("M104 S0")
    path.write_text("\n".join(lines) + "\n")
    return commands_in(path)


class EventLog:
    """Collects a printer's job events while waiting for them."""

    def __init__(self, printer: SerialPrinter) -> None:
        self.printer = printer
        self.events: list[JobEventRecord] = []

    def kinds(self) -> list[JobEventKind]:
        return [event.event for event in self.events]

    def wait_for(self, kind: JobEventKind, timeout: float = WAIT_S) -> JobEventRecord:
        """Poll the printer at each change until an event of `kind` arrives."""
        def arrived() -> bool:
            self.printer.poll(time.time())
            self.events += self.printer.drain_events()
            return any(event.event is kind for event in self.events)

        assert self.printer.wait_until(arrived, timeout), f"no {kind} event; got {self.kinds()}"
        return next(event for event in self.events if event.event is kind)
