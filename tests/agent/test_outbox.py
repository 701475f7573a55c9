"""The outbox on its own: sequence numbers, release, thinning, resends, restarts."""

from __future__ import annotations

import pytest

from printfleet_agent.outbox import Outbox, OutboxPolicy
from printfleet_protocol import Family, decode
from printfleet_protocol.payloads import SCHEMA_VERSION, Heartbeat, JobEvent, Telemetry

pytestmark = pytest.mark.timeout(30)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def telemetry(ts: float):
    return lambda seq: Telemetry(v=SCHEMA_VERSION, ts=ts, seq=seq, state="printing")


def job(ts: float, event: str = "started"):
    return lambda seq: JobEvent(v=SCHEMA_VERSION, ts=ts, seq=seq, job_id="j", event=event,
                                file_name="a.gcode", origin="sd_card")


def heartbeat(ts: float):
    return lambda seq: Heartbeat(v=SCHEMA_VERSION, ts=ts, seq=seq, interval_s=30, uptime_s=1)


@pytest.fixture
async def outbox(tmp_path):
    clock = Clock()
    box = Outbox(tmp_path / "outbox.sqlite3", OutboxPolicy(telemetry_backlog=20,
                                                           thinned_interval_s=60,
                                                           resend_after_s=10), clock)
    await box.open()
    box.clock = clock  # for the tests
    yield box
    await box.close()


async def test_sequence_numbers_are_unique_and_survive_a_reopen(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path)
    await first.open()
    seqs = [await first.append(Family.JOB, job(1.0)) for _ in range(3)]
    seqs.append(await first.allocate_seq())
    await first.close()
    again = Outbox(path)
    await again.open()
    later = await again.append(Family.JOB, job(2.0))
    pending = await again.due(10)
    await again.close()
    assert seqs == [0, 1, 2, 3] and later == 4
    assert [m.seq for m in pending] == [0, 1, 2, 4]
    assert decode(Family.JOB, pending[-1].payload).seq == 4


async def test_sent_messages_wait_for_the_stored_ack_and_are_resent_with_back_off(outbox):
    for ts in (1.0, 2.0, 3.0):
        await outbox.append(Family.JOB, job(ts))
    due = await outbox.due(10)
    await outbox.mark_sent([m.seq for m in due])
    assert await outbox.due(10) == []  # in flight, not due again yet
    assert await outbox.release([(0, 1)]) == 2
    outbox.clock.now += 11
    assert [m.seq for m in await outbox.due(10)] == [2]  # unconfirmed for 10 s: resend
    await outbox.mark_sent([2])
    outbox.clock.now += 11
    assert [m.seq for m in await outbox.due(10)] == []  # the next resend waits 2 x 10 s
    outbox.clock.now += 10
    assert [m.seq for m in await outbox.due(10)] == [2]
    assert await outbox.depth() == 1


async def test_after_a_reconnect_everything_unconfirmed_is_replayed_in_order(outbox):
    for ts in range(5):
        await outbox.append(Family.JOB, job(float(ts)))
    await outbox.mark_sent([m.seq for m in await outbox.due(10)])
    await outbox.mark_unsent()
    assert [m.seq for m in await outbox.due(10)] == [0, 1, 2, 3, 4]


async def test_offline_telemetry_is_thinned_and_counted_but_must_deliver_is_kept(outbox):
    start = outbox.clock.now
    for second in range(300):  # five minutes at 1 Hz with no broker
        await outbox.append(Family.TELEMETRY, telemetry(start + second))
        if second % 60 == 30:
            await outbox.append(Family.JOB, job(start + second, "paused"))
    pending = await outbox.pending_by_family()
    thinned = await outbox.counter("telemetry_thinned_total")
    assert pending["job"] == 5
    assert pending["telemetry"] + thinned == 300
    assert pending["telemetry"] <= 20 + 6  # the recent backlog plus one a minute
    kept = [decode(Family.TELEMETRY, m.payload).ts for m in await outbox.due(1000)
            if m.family is Family.TELEMETRY]
    minutes = {int(ts // 60) for ts in kept}
    assert len(minutes) >= 5, "at least one sample of every minute survives"


async def test_only_the_newest_unsent_heartbeat_is_kept(outbox):
    for n in range(5):
        await outbox.append(Family.HEARTBEAT, heartbeat(float(n)))
    pending = await outbox.due(10)
    assert len(pending) == 1
    assert decode(Family.HEARTBEAT, pending[0].payload).ts == 4.0


async def test_may_drop_messages_are_given_up_after_many_sends_must_deliver_never(tmp_path):
    box = Outbox(tmp_path / "o.sqlite3", OutboxPolicy(max_attempts=3, resend_after_s=0))
    await box.open()
    await box.append(Family.TELEMETRY, telemetry(1.0))
    await box.append(Family.JOB, job(1.0))
    for _ in range(5):
        await box.mark_sent([m.seq for m in await box.due(10)])
    pending = await box.pending_by_family()
    undeliverable = await box.counter("undeliverable_total")
    await box.close()
    assert pending == {"job": 1}
    assert undeliverable == 1


async def test_superseded_heartbeats_are_counted(outbox):
    for n in range(4):
        await outbox.append(Family.HEARTBEAT, heartbeat(float(n)))
    assert await outbox.counter("heartbeats_superseded_total") == 3
