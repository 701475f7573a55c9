"""A G-code file fed to the printer line by line, with progress by bytes acknowledged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from pathlib import Path

from printfleet_gcode import ExtrusionCounter

from .gcode import read_commands
from .protocol import Pending

logger = logging.getLogger(__name__)


class JobStreamer:
    """Hands out a file's commands while running; knows how much the printer has taken.

    Implements CommandSource. Called with the link's lock held.
    """

    def __init__(self, path: Path, on_finished: Callable[[], None],
                 on_failed: Callable[[str], None]) -> None:
        self.path = path
        self.total_bytes = max(1, path.stat().st_size)
        self.acknowledged_bytes = 0
        self.sent_lines = 0
        self.acknowledged_lines = 0
        self.paused = False
        self.stopped = False
        self.extrusion = ExtrusionCounter()  # filament in the lines the printer took
        self._on_finished = on_finished
        self._on_failed = on_failed
        self._commands: Generator[tuple[str, int], None, None] | None = read_commands(path)

    @property
    def progress_pct(self) -> float:
        """Share of the file the printer has acknowledged, in percent."""
        return round(100.0 * self.acknowledged_bytes / self.total_bytes, 2)

    @property
    def extruded_mm(self) -> float:
        """Filament pushed by the lines acknowledged so far, in mm."""
        return round(max(0.0, self.extrusion.used_mm), 2)

    def next_command(self) -> Pending | None:
        """Return the next command, or None while paused, stopped or at the end."""
        if self.paused or self.stopped or self._commands is None:
            return None
        try:
            command, end_offset = next(self._commands)
        except StopIteration:
            self._close()
            self._maybe_finished()
            return None
        self.sent_lines += 1
        return Pending(command, on_done=lambda pending: self._acknowledged(pending, end_offset))

    def stop(self) -> None:
        """Feed nothing more; lines already sent still get their answers."""
        self.stopped = True
        self._close()

    def _close(self) -> None:
        if self._commands is not None:
            self._commands.close()  # closes the file now, not whenever it is collected
            self._commands = None

    def _acknowledged(self, pending: Pending, end_offset: int) -> None:
        if self.stopped:
            return
        if pending.error is not None:  # a line given up on: the print has a gap
            self.stop()
            self._on_failed(pending.error)
            return
        self.acknowledged_lines += 1
        self.extrusion.feed(pending.command)
        self.acknowledged_bytes = max(self.acknowledged_bytes, end_offset)
        self._maybe_finished()

    def _maybe_finished(self) -> None:
        if self._commands is None and self.acknowledged_lines == self.sent_lines:
            self.stopped = True
            self.acknowledged_bytes = self.total_bytes
            logger.info("%s: all %d lines acknowledged", self.path.name, self.sent_lines)
            self._on_finished()
