"""Collect messages into batches, flushed by size or time, acknowledged after commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from storage import Accepted, BackendUnavailable, BatchResult, Rejected

logger = logging.getLogger(__name__)

WriteBatch = Callable[[Sequence[Accepted], Sequence[Rejected]], Awaitable[BatchResult]]
OnResult = Callable[[BatchResult, int, float], None]
AfterCommit = Callable[[Sequence[Accepted]], None]
OnWriteError = Callable[[Exception], None]

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)
# While a batch keeps failing, say so again this often (not at every retry).
REPORT_EVERY_S = 30.0

_Entry = tuple[Accepted | Rejected, asyncio.Future[None]]


class Batcher:
    """Hands each caller a future that resolves once its message is committed.

    Memory stays bounded because the broker never has more than the worker's
    MQTT receive-maximum messages in flight to it: until a batch commits,
    its messages are unacknowledged and the broker holds back the rest
    (Mosquitto 2.0.13 and later; see docs/scaling.md for older versions).
    """

    def __init__(self, write: WriteBatch, max_rows: int, max_delay_s: float,
                 on_result: OnResult | None = None,
                 after_commit: AfterCommit | None = None,
                 on_write_error: OnWriteError | None = None) -> None:
        self._write = write
        self._after_commit = after_commit
        self._on_write_error = on_write_error
        self._max_rows = max_rows
        self._max_delay_s = max_delay_s
        self._on_result = on_result
        self._pending: deque[_Entry] = deque()
        self._has_items = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        """Flush what is pending, then stop."""
        self._stopping = True
        self._has_items.set()
        self._full.set()
        if self._task is not None:
            await self._task
            self._task = None

    def submit(self, item: Accepted | Rejected) -> asyncio.Future[None]:
        """Queue a message; the future resolves once it (or its reject record) is committed."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, waiter))
        self._has_items.set()
        if len(self._pending) >= self._max_rows:
            self._full.set()
        return waiter

    async def _run(self) -> None:
        while True:
            await self._has_items.wait()
            if not self._stopping and len(self._pending) < self._max_rows:
                try:
                    await asyncio.wait_for(self._full.wait(), self._max_delay_s)
                except TimeoutError:
                    pass
            batch = self._take_batch()
            if batch:
                await self._commit(batch)
            if self._stopping and not self._pending:
                return

    def _take_batch(self) -> list[_Entry]:
        """Take at most max_rows pending messages, oldest first."""
        count = min(self._max_rows, len(self._pending))
        batch = [self._pending.popleft() for _ in range(count)]
        if len(self._pending) < self._max_rows:
            self._full.clear()
        if not self._pending:
            self._has_items.clear()
        return batch

    async def _commit(self, batch: list[_Entry]) -> None:
        accepted = [item for item, _ in batch if isinstance(item, Accepted)]
        rejected = [item for item, _ in batch if isinstance(item, Rejected)]
        attempt = 0
        started = time.perf_counter()
        reported_at = 0.0
        while True:
            try:
                result = await self._write(accepted, rejected)
                break
            except Exception as error:
                # Never drop a batch: nothing in it is acknowledged to the
                # broker, so retrying (or crashing) loses nothing.
                attempt += 1
                if self._on_write_error is not None:
                    self._on_write_error(error)
                delay = RETRY_DELAYS_S[min(attempt - 1, len(RETRY_DELAYS_S) - 1)]
                failing_s = time.perf_counter() - started
                if attempt == 1 or failing_s - reported_at >= REPORT_EVERY_S:
                    _report_failure(error, len(batch) + len(self._pending), attempt,
                                    failing_s, delay)
                    reported_at = failing_s
                await asyncio.sleep(delay)
        if attempt:
            logger.warning("writing works again: a batch of %d held for %.1fs is committed "
                           "(%d failed attempts)", len(batch), time.perf_counter() - started,
                           attempt)
        if self._on_result is not None:
            self._on_result(result, len(batch), time.perf_counter() - started)
        if self._after_commit is not None and accepted:
            self._after_commit(accepted)
        for _, waiter in batch:
            if not waiter.done():
                waiter.set_result(None)


def _report_failure(error: Exception, waiting: int, attempt: int, failing_s: float,
                    delay_s: float) -> None:
    """Log a failed write in one line; a traceback only for the first failure of a bug."""
    if isinstance(error, BackendUnavailable):
        # Expected while the database restarts: say so plainly, no traceback.
        if attempt == 1:
            logger.warning("database unavailable (%s); %d messages wait unacknowledged (the "
                           "broker holds the rest); retrying", error, waiting)
        else:
            logger.warning("database still unavailable after %.0fs and %d attempts (%s); "
                           "retrying", failing_s, attempt, error)
    elif attempt == 1:
        logger.exception("writing a batch failed (%d messages wait); retrying in %.1fs",
                         waiting, delay_s)
    else:
        logger.error("writing a batch still fails after %.0fs and %d attempts (%s: %s); "
                     "retrying", failing_s, attempt, type(error).__name__, error)
