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


class GatedWriter:
    """Writes that finish only when the test lets them; the first may fail a number of times."""

    def __init__(self, first_failures: int = 0) -> None:
        self.first_failures = first_failures
        self.started: list[list[str]] = []
        self.committed: list[list[str]] = []
        self.gates: list[asyncio.Event] = []
        self.concurrent = 0
        self.most_concurrent = 0

    async def __call__(self, accepted, rejected) -> BatchResult:
        topics = [r.topic for r in rejected]
        first = not self.started
        self.started.append(topics)
        gate = asyncio.Event()
        self.gates.append(gate)
        self.concurrent += 1
        self.most_concurrent = max(self.most_concurrent, self.concurrent)
        try:
            await gate.wait()
            if first and self.first_failures:
                self.first_failures -= 1
                raise OSError("connection lost")
        finally:
            self.concurrent -= 1
        self.committed.append(topics)
        return BatchResult(rejected=len(rejected))


async def wait_until(predicate, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_batches_are_written_concurrently_up_to_the_limit():
    writer = GatedWriter()
    batcher = Batcher(writer, max_rows=2, max_delay_s=30, max_in_flight=2)
    await batcher.start()
    waiters = [batcher.submit(reject(n)) for n in range(6)]
    await wait_until(lambda: len(writer.started) == 2)
    await asyncio.sleep(0.05)
    assert len(writer.started) == 2, "a third batch started with two in flight"
    for gate_index in range(3):
        await wait_until(lambda: len(writer.gates) > gate_index)  # noqa: B023
        writer.gates[gate_index].set()
    await asyncio.wait_for(asyncio.gather(*waiters), 2)
    assert writer.most_concurrent == 2
    await batcher.stop()


async def test_a_failing_batch_is_retried_while_a_later_one_commits_and_acks_stay_in_order():
    writer = GatedWriter(first_failures=1)
    acknowledged: list[list[int]] = []
    batcher = Batcher(writer, max_rows=2, max_delay_s=30,
                      after_commit=lambda accepted, tokens: acknowledged.append(list(tokens)),
                      max_in_flight=2)
    await batcher.start()
    for n in range(4):
        batcher.add(reject(n), n)
    await wait_until(lambda: len(writer.gates) == 2)
    writer.gates[0].set()  # the first write fails, and is retried after a delay
    writer.gates[1].set()  # the second commits meanwhile
    await wait_until(lambda: writer.committed == [["t/2", "t/3"]])
    await asyncio.sleep(0.05)
    assert acknowledged == [], "a batch was acknowledged before an earlier one committed"
    await wait_until(lambda: len(writer.gates) == 3)  # the retry of the first batch
    writer.gates[2].set()
    await wait_until(lambda: len(acknowledged) == 2)
    assert acknowledged == [[0, 1], [2, 3]]
    assert writer.committed == [["t/2", "t/3"], ["t/0", "t/1"]]
    await batcher.stop()


async def test_an_idle_batcher_writes_a_partial_batch_without_waiting_for_the_delay():
    writer = RecordingWriter()
    batcher = Batcher(writer, max_rows=1000, max_delay_s=30, max_in_flight=2)
    await batcher.start()
    started = time.monotonic()
    await asyncio.wait_for(batcher.submit(reject(1)), 2)
    assert time.monotonic() - started < 1.0
    await batcher.stop()


async def test_stop_waits_for_every_batch_in_flight():
    writer = GatedWriter()
    batcher = Batcher(writer, max_rows=1, max_delay_s=30, max_in_flight=3)
    await batcher.start()
    waiters = [batcher.submit(reject(n)) for n in range(3)]
    await wait_until(lambda: len(writer.gates) == 3)
    stopping = asyncio.create_task(batcher.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()
    for gate in writer.gates:
        gate.set()
    await asyncio.wait_for(stopping, 2)
    assert all(w.done() for w in waiters)
