"""Collect messages into batches, commit several at once, acknowledge in order after commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from storage import Accepted, BackendUnavailable, BatchResult, Rejected

logger = logging.getLogger(__name__)

WriteBatch = Callable[[Sequence[Accepted], Sequence[Rejected]], Awaitable[BatchResult]]
OnResult = Callable[[BatchResult, int, float], None]
# The batch's accepted messages, and the token of every message in it, in arrival order.
AfterCommit = Callable[[Sequence[Accepted], Sequence[Any]], None]
OnWriteError = Callable[[Exception], None]

RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)
# While a batch keeps failing, say so again this often (not at every retry).
REPORT_EVERY_S = 30.0
# With nothing being written, a partial batch waits only this long for
# company: an idle database commits it at once, so light load sees low
# latency, and under heavy load batches grow while earlier ones commit.
IDLE_LINGER_S = 0.02


class _Entry:
    __slots__ = ("item", "token", "waiter", "arrived")

    def __init__(self, item: Accepted | Rejected, token: Any,
                 waiter: asyncio.Future[None] | None, arrived: float) -> None:
        self.item = item
        self.token = token
        self.waiter = waiter
        self.arrived = arrived


class _Batch:
    __slots__ = ("number", "entries", "accepted", "result", "seconds")

    def __init__(self, number: int, entries: list[_Entry]) -> None:
        self.number = number
        self.entries = entries
        self.accepted: list[Accepted] = []
        self.result: BatchResult | None = None
        self.seconds = 0.0


class Batcher:
    """Hands each caller a future that resolves once its message is committed.

    Up to ``max_in_flight`` batches are written at once (the next one is
    staged while earlier ones commit), but they are acknowledged strictly in
    the order they were taken: a batch's waiters, ``on_result`` and
    ``after_commit`` run only once it and every earlier batch committed. A
    failed write is retried, never dropped; later batches may commit
    meanwhile, and wait for it before they are acknowledged.

    Memory stays bounded because the broker never has more than the worker's
    MQTT receive-maximum messages in flight to it: until a batch commits,
    its messages are unacknowledged and the broker holds back the rest
    (Mosquitto 2.0.13 and later; see docs/scaling.md for older versions).
    """

    def __init__(self, write: WriteBatch, max_rows: int, max_delay_s: float,
                 on_result: OnResult | None = None,
                 after_commit: AfterCommit | None = None,
                 on_write_error: OnWriteError | None = None, max_in_flight: int = 1) -> None:
        self._write = write
        self._after_commit = after_commit
        self._on_write_error = on_write_error
        self._max_rows = max_rows
        self._max_delay_s = max_delay_s
        self._linger_s = min(IDLE_LINGER_S, max_delay_s)
        self._max_in_flight = max(1, max_in_flight)
        self._on_result = on_result
        self._pending: deque[_Entry] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self._numbers = 0
        self._committed: dict[int, _Batch] = {}  # committed, waiting for earlier batches
        self._next_release = 0
        self._stopping = False

    @property
    def in_flight(self) -> int:
        """Batches taken and not yet acknowledged."""
        return self._numbers - self._next_release

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        """Flush what is pending, wait for every batch to commit, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def submit(self, item: Accepted | Rejected) -> asyncio.Future[None]:
        """Queue a message; the future resolves once it (or its reject record) is committed."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue(_Entry(item, None, waiter, waiter.get_loop().time()))
        return waiter

    def add(self, item: Accepted | Rejected, token: Any) -> None:
        """Queue a message; ``after_commit`` gets its token (e.g. the MQTT packet id)."""
        self._queue(_Entry(item, token, None, asyncio.get_running_loop().time()))

    def _queue(self, entry: _Entry) -> None:
        self._pending.append(entry)
        if len(self._pending) == 1 or len(self._pending) == self._max_rows:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._pending and self._stopping:
                break
            delay = self._flush_delay()
            if delay is None or delay > 0:
                self._wake.clear()
                if delay is None:
                    await self._wake.wait()
                else:
                    await _wait_event(self._wake, delay)
                continue
            self._start_write(self._take_batch())
        while self._writes:
            await asyncio.wait(set(self._writes))

    def _flush_delay(self) -> float | None:
        """Seconds until the next batch should go; 0 now, None when only an event can tell."""
        if not self._pending or self.in_flight >= self._max_in_flight:
            return None
        if self._stopping or len(self._pending) >= self._max_rows:
            return 0.0
        wait = self._linger_s if self.in_flight == 0 else self._max_delay_s
        return max(0.0, self._pending[0].arrived + wait - asyncio.get_running_loop().time())

    def _take_batch(self) -> _Batch:
        """Take at most max_rows pending messages, oldest first."""
        count = min(self._max_rows, len(self._pending))
        batch = _Batch(self._numbers, [self._pending.popleft() for _ in range(count)])
        self._numbers += 1
        return batch

    def _start_write(self, batch: _Batch) -> None:
        task = asyncio.create_task(self._commit(batch), name=f"batch-{batch.number}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _commit(self, batch: _Batch) -> None:
        accepted = batch.accepted
        rejected: list[Rejected] = []
        for entry in batch.entries:
            if isinstance(entry.item, Accepted):
                accepted.append(entry.item)
            else:
                rejected.append(entry.item)
        attempt = 0
        started = time.perf_counter()
        reported_at = 0.0
        while True:
            try:
                batch.result = await self._write(accepted, rejected)
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
                    _report_failure(error, len(batch.entries) + len(self._pending), attempt,
                                    failing_s, delay)
                    reported_at = failing_s
                await asyncio.sleep(delay)
        if attempt:
            logger.warning("writing works again: a batch of %d held for %.1fs is committed "
                           "(%d failed attempts)", len(batch.entries),
                           time.perf_counter() - started, attempt)
        batch.seconds = time.perf_counter() - started
        self._committed[batch.number] = batch
        self._release_in_order()

    def _release_in_order(self) -> None:
        """Acknowledge every committed batch whose predecessors are all acknowledged."""
        while (batch := self._committed.pop(self._next_release, None)) is not None:
            self._next_release += 1
            self._acknowledge(batch)
        self._wake.set()  # a slot is free

    def _acknowledge(self, batch: _Batch) -> None:
        assert batch.result is not None
        try:
            if self._on_result is not None:
                self._on_result(batch.result, len(batch.entries), batch.seconds)
            if self._after_commit is not None:
                self._after_commit(batch.accepted, [entry.token for entry in batch.entries])
        except Exception:  # a callback's bug must not stall this batch or later ones
            logger.exception("acknowledging batch %d failed", batch.number)
        for entry in batch.entries:
            if entry.waiter is not None and not entry.waiter.done():
                entry.waiter.set_result(None)


async def _wait_event(event: asyncio.Event, timeout_s: float) -> None:
    """Wait for the event or the timeout, whichever comes first."""
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        pass


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
