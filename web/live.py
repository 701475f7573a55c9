"""Server-sent events that carry the printers list to an open page."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

from storage import PrinterRow

from .presenters import printers_to_dicts

logger = logging.getLogger(__name__)

EVENT_NAME = "printers"
# The views that stream (web/printers.py): not page views, and a signed-out
# request gets 401, not a redirect to a form EventSource cannot show.
STREAM_ENDPOINTS = frozenset({"printers.live", "printers.printer_live"})
KEEPALIVE = b": keepalive\n\n"
# How long the browser waits before reconnecting after the stream ends.
RETRY_MS = 3000
# Each open stream holds one server thread. Ending streams now and then (the
# browser reconnects by itself) frees threads held by clients that vanished
# without closing the connection, which TCP may not notice for many minutes.
STREAM_MAX_S = 300.0
# How often a waiting stream checks for a disconnected client or a shutdown.
_POLL_S = 0.25
# no-cache keeps caches from storing the stream; X-Accel-Buffering stops
# nginx (a common reverse proxy in front of waitress) from buffering it.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class LiveStreams:
    """Count open streams, so tests and operators can see them end."""

    def __init__(self) -> None:
        self._open = 0
        self._changed = threading.Condition()

    @property
    def open_count(self) -> int:
        return self._open

    def enter(self) -> None:
        with self._changed:
            self._open += 1
            self._changed.notify_all()

    def leave(self) -> None:
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def wait_for_count(self, count: int, timeout_s: float) -> bool:
        """Wait until exactly count streams are open; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._open == count, timeout_s)


def event_chunk(rows: list[PrinterRow], now: float, retry_ms: int | None = None) -> bytes:
    """Encode the printers list as one SSE event."""
    data = json.dumps(printers_to_dicts(rows, now), separators=(",", ":"))
    head = f"retry: {retry_ms}\n" if retry_ms is not None else ""
    return f"{head}event: {EVENT_NAME}\ndata: {data}\n\n".encode()


def printer_events(
    fetch: Callable[[], list[PrinterRow]],
    interval_s: float,
    disconnected: Callable[[], bool],
    stopping: threading.Event,
    max_duration_s: float = STREAM_MAX_S,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], float] = time.time,
) -> Iterator[bytes]:
    """Yield the printers at once, then each interval the list if it changed or a keepalive."""
    rows = fetch()
    yield event_chunk(rows, now(), RETRY_MS)
    end_at = clock() + max_duration_s
    while _wait(interval_s, end_at, disconnected, stopping, clock):
        latest = fetch()
        if latest == rows:
            yield KEEPALIVE
        else:
            rows = latest
            yield event_chunk(rows, now())


def _wait(interval_s: float, end_at: float, disconnected: Callable[[], bool],
          stopping: threading.Event, clock: Callable[[], float]) -> bool:
    """Sleep one interval in short slices; False if the stream should end."""
    wake_at = clock() + interval_s
    while True:
        if disconnected() or stopping.is_set():
            return False
        remaining = wake_at - clock()
        if remaining <= 0:
            return clock() < end_at
        stopping.wait(min(remaining, _POLL_S))


def counted(stream: Iterator[bytes], streams: LiveStreams) -> Iterator[bytes]:
    """Wrap a stream so it is counted from first to last byte."""
    streams.enter()
    logger.debug("live stream opened (%d open)", streams.open_count)
    try:
        yield from stream
    finally:
        # Reached on the last event, on an error (waitress logs it) and when
        # waitress closes the stream because the client went away.
        streams.leave()
        logger.debug("live stream closed (%d open)", streams.open_count)
