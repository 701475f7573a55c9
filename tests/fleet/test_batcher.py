"""The batcher: flush by size or time, resolve waiters only after a commit, never drop."""

from __future__ import annotations

import asyncio
import time

import pytest

from fleet.batcher import Batcher
from storage import BatchResult, Rejected

pytestmark = pytest.mark.timeout(10)


def reject(n: int) -> Rejected:
    return Rejected(f"t/{n}", None, "malformed", "x", 1, "x", time.time())


class RecordingWriter:
    """A write target that commits in memory and can fail a number of times first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[int] = []

    async def __call__(self, accepted, rejected) -> BatchResult:
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
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
