"""How fast G-code streams to a printer: the measurement behind `printfleet-agent bench`."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from printfleet_protocol.payloads import JobEventKind, JobOrigin

from ..base import PrinterError
from .backend import SerialPrinter
from .gcode import commands_in
from .settings import SerialPrinterSettings

DEFAULT_BENCH_TIMEOUT_S = 3600.0


def stream_file(port_path: str, gcode_path: Path, window: int = 1,
                settings: SerialPrinterSettings | None = None,
                timeout_s: float = DEFAULT_BENCH_TIMEOUT_S) -> float:
    """Print `gcode_path` through the printer on `port_path`; return lines acknowledged per second."""
    base = settings or SerialPrinterSettings()
    printer = SerialPrinter(dataclasses.replace(base, port=port_path, inflight_lines=window))
    printer.connect()
    try:
        lines = len(commands_in(gcode_path))
        started = time.monotonic()
        printer.start_print(gcode_path.name, JobOrigin.PRINTFLEET, time.time(),
                            local_path=gcode_path)
        if not printer.wait_until(lambda: not printer.printing, timeout_s):
            raise PrinterError(f"{gcode_path.name} did not finish within {timeout_s:g} s")
        elapsed = time.monotonic() - started
        ending = printer.drain_events()[-1]
        if ending.event is not JobEventKind.FINISHED:
            raise PrinterError(f"{gcode_path.name} ended {ending.event}: {ending.reason}")
        return lines / elapsed if elapsed > 0 else float("inf")
    finally:
        printer.disconnect()
