"""The host side of the Marlin line protocol, without I/O.

Every line goes out numbered and checksummed. At most `window` lines wait
for their "ok" at once. A "Resend: N" rewinds to line N from a bounded
history. Marlin answers a rejected line with "Error:...", "Resend: N" and
"ok", and throws away whatever else sat in its serial buffer, so after a
resend request the lines sent behind line N may each bring one more
request for N (ignored) or nothing at all. Each of those requests flushes
the buffer again and would swallow lines resent too early, so the resend
waits ("settles") until all of them came or the firmware has gone quiet.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .gcode import numbered
from .replies import Ok, Resend

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Pending:
    """One command on its way to the printer, and what came back for it."""

    command: str
    on_done: Callable[[Pending], None] | None = None
    # Periodic queries carry a key so that only one of a kind waits at a time.
    key: str | None = None
    replies: list[str] = field(default_factory=list)
    error: str | None = None
    done: bool = False

    def finish(self, error: str | None = None) -> None:
        """Mark the command answered (or failed) and tell whoever waits, once."""
        if self.done:
            return
        self.done, self.error = True, error
        if self.on_done is not None:
            self.on_done(self)


class CommandSource(Protocol):
    """Something that feeds commands when the line has room, such as a print job."""

    def next_command(self) -> Pending | None: ...


class ResendImpossible(RuntimeError):
    """The printer asked for a line that is no longer in the history."""

    def __init__(self, line_number: int, oldest: int) -> None:
        super().__init__(f"the printer asked for line {line_number}, "
                         f"but the oldest line kept is {oldest}")
        self.line_number = line_number


@dataclass(frozen=True, slots=True)
class _Sent:
    line_number: int
    pending: Pending


class LineSender:
    """Numbers lines, keeps the window, and rewinds on resend requests."""

    def __init__(self, window: int, history_size: int) -> None:
        self.window = window
        self.source: CommandSource | None = None
        self._history: deque[_Sent] = deque(maxlen=history_size)
        self._queue: deque[Pending] = deque()
        self._resends: deque[_Sent] = deque()
        self._in_flight: deque[_Sent] = deque()
        self._next_line = 1
        self._stray_requests = 0
        self._last_resend: int | None = None
        self._swallow_ok = False
        self._settling = False

    @property
    def settling(self) -> bool:
        """Tell whether a resend waits for the firmware's stray resend requests to stop."""
        return self._settling

    def settle(self) -> None:
        """Resend now: the firmware has been quiet, so no stray request is still coming."""
        self._settling, self._stray_requests = False, 0

    @property
    def next_line(self) -> int:
        """The number the next new line will carry."""
        return self._next_line

    @property
    def waiting(self) -> bool:
        """Tell whether any line is waiting for its "ok"."""
        return bool(self._in_flight)

    def reset(self, next_line: int = 1) -> list[Pending]:
        """Forget everything after a reconnect or firmware restart; return what was abandoned."""
        abandoned = [sent.pending for sent in self._in_flight] + list(self._queue)
        abandoned += [sent.pending for sent in self._resends]
        self._history.clear()
        self._queue.clear()
        self._resends.clear()
        self._in_flight.clear()
        self._next_line = next_line
        self._stray_requests, self._last_resend, self._swallow_ok = 0, None, False
        self._settling = False
        return [pending for pending in dict.fromkeys(abandoned) if not pending.done]

    def restart_numbering(self, next_line: int, requested: int | None = None) -> list[Pending]:
        """Number afresh on a firmware that may still answer lines sent before.

        Each line still in flight can come back as a request for `requested`
        (by default `next_line`), which is ignored; sending waits until they
        came or the firmware is quiet. With `requested` given, one of them
        already came and its "ok" is still to follow.
        """
        strays = len(self._in_flight)
        abandoned = self.reset(next_line)
        if requested is not None and strays:
            strays, self._swallow_ok = strays - 1, True
        self._stray_requests = strays
        self._last_resend = next_line if requested is None else requested
        self._settling = strays > 0
        return abandoned

    def submit(self, pending: Pending) -> None:
        """Queue a command ahead of the source's."""
        self._queue.append(pending)

    def is_waiting_for(self, key: str) -> bool:
        """Tell whether a command with this key is queued or unanswered."""
        return any(p.key == key for p in self._queue) or any(
            sent.pending.key == key for sent in self._in_flight)

    def next_lines(self) -> list[str]:
        """Take as many lines as the window allows and return them ready for the wire."""
        lines: list[str] = []
        while len(self._in_flight) < self.window and not self._settling:
            sent = self._next_to_send()
            if sent is None:
                break
            self._in_flight.append(sent)
            lines.append(numbered(sent.line_number, sent.pending.command))
        return lines

    def attach(self, line: str) -> None:
        """Keep a reply line with the oldest unanswered command."""
        if self._in_flight:
            self._in_flight[0].pending.replies.append(line)

    def handle(self, reply: Ok | Resend, line: str) -> Pending | None:
        """Account for an ok or a resend request; return the command an ok answered."""
        if isinstance(reply, Resend):
            self._rewind(reply.line_number)
            return None
        if self._swallow_ok:  # the ok that follows a resend request answers the rejected line
            self._swallow_ok = False
            return None
        if not self._in_flight:
            logger.debug("ok with nothing waiting: %s", line)
            return None
        pending = self._in_flight.popleft().pending
        pending.replies.append(line)
        return pending

    def _next_to_send(self) -> _Sent | None:
        if self._resends:
            return self._resends.popleft()
        pending = self._queue.popleft() if self._queue else None
        if pending is None and self.source is not None:
            pending = self.source.next_command()
        if pending is None:
            return None
        sent = _Sent(self._next_line, pending)
        self._next_line += 1
        self._history.append(sent)
        return sent

    def _rewind(self, line_number: int) -> None:
        if line_number == self._last_resend and self._stray_requests > 0:
            self._stray_requests -= 1
            self._settling = self._stray_requests > 0
            self._swallow_ok = True
            return
        if line_number >= self._next_line:
            logger.info("ignoring a resend request for line %d, not sent yet", line_number)
            return
        oldest = self._history[0].line_number if self._history else self._next_line
        if line_number < oldest:
            raise ResendImpossible(line_number, oldest)
        rejected = [sent for sent in self._in_flight if sent.line_number >= line_number]
        self._in_flight = deque(s for s in self._in_flight if s.line_number < line_number)
        self._resends = deque(s for s in self._history if s.line_number >= line_number)
        self._stray_requests = max(0, len(rejected) - 1)
        self._settling = self._stray_requests > 0
        self._last_resend = line_number
        self._swallow_ok = bool(rejected)
        logger.info("printer asked to resend from line %d (%d lines)", line_number,
                    len(self._resends))
