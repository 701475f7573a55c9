"""The batcher: flush by size or time, resolve waiters only after a commit, never drop."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from fleet.batcher import Batcher
from storage import BackendUnavailable, BatchResult, Rejected

pytestmark = pytest.mark.timeout(10)


def reject(n: int) -> Rejected:
    return Rejected(f"t/{n}", None, "malformed", "x", 1, "x", time.time())


class RecordingWriter:
    """A write target that commits in memory and can fail a number of times first."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or OSError("database is locked")
        self.batches: list[int] = []

    async def __call__(self, accepted, rejected) -> BatchResult:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.batches.append(len(accepted) + len(rejected))
        return BatchResult(rejected=len(rejected))


async def test_full_batches_flush_without_waiting_for_the_timer():
    writer = RecordingWriter()
    batcher = Batcher(writer, max_rows=10, max_delay_s=30)
    await batcher.start()
    waiters = [batcher.submit(reject(n)) for n in range(25)]
    await asyncio.wait_for(asyncio.gather(*waiters[:20]), 2)
    assert writer.batches[:2] == [10, 10]
    await batcher.stop()  # flushes the remaining five
    assert sum(writer.batches) == 25
    assert all(w.done() for w in waiters)


async def test_a_partial_batch_flushes_after_the_delay():
    writer = RecordingWriter()
    batcher = Batcher(writer, max_rows=1000, max_delay_s=0.05)
    await batcher.start()
    await asyncio.wait_for(batcher.submit(reject(1)), 2)
    assert writer.batches == [1]
    await batcher.stop()


async def test_failed_writes_are_retried_and_waiters_wait_for_the_commit():
    writer = RecordingWriter(failures=2)
    batcher = Batcher(writer, max_rows=5, max_delay_s=0.01)
    await batcher.start()
    waiter = batcher.submit(reject(1))
    await asyncio.sleep(0.05)
    assert not waiter.done(), "nothing may be acknowledged before it is committed"
    await asyncio.wait_for(waiter, 5)
    assert writer.batches == [1]
    await batcher.stop()


async def test_an_unreachable_database_is_reported_in_plain_lines_and_its_return_too(caplog):
    writer = RecordingWriter(failures=3, error=BackendUnavailable("cannot connect: refused"))
    errors: list[Exception] = []
    batcher = Batcher(writer, max_rows=5, max_delay_s=0.01, on_write_error=errors.append)
    await batcher.start()
    with caplog.at_level(logging.WARNING, logger="fleet.batcher"):
        await asyncio.wait_for(batcher.submit(reject(1)), 5)
    await batcher.stop()
    assert len(errors) == 3
    # Three failures within REPORT_EVERY_S: one line for them, one for the return.
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "database unavailable (cannot connect: refused)" in messages[0]
    assert "writing works again" in messages[1]
    assert all(r.exc_info is None for r in caplog.records), "no traceback for an outage"


async def test_an_unexpected_write_error_keeps_its_traceback(caplog):
    writer = RecordingWriter(failures=1, error=ValueError("a bug"))
    batcher = Batcher(writer, max_rows=5, max_delay_s=0.01)
    await batcher.start()
    with caplog.at_level(logging.WARNING, logger="fleet.batcher"):
        await asyncio.wait_for(batcher.submit(reject(1)), 5)
    await batcher.stop()
    assert caplog.records[0].exc_info is not None
