"""The downtime logging switch on every backend: no history while off, presence kept anyway.

The privacy policy: "If enabled by the user, the printer's downtime (lost
internet connection) is logged with start and end date of downtime". The
switch is device_settings.downtime_logging; a printer without a row has it
off. Ingest and the watchdog read it in the transaction that would insert.
"""

from __future__ import annotations

import time

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, Downtime, Heartbeat, JobEvent, Presence
from storage import Accepted

pytestmark = pytest.mark.timeout(30)

LOG_TABLES = ("presence_events", "downtime_reports")


class Device:
    """One printer's messages, numbered as its agent numbers them."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.seq = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def presence(self, status: str, at: float) -> Accepted:
        message = Presence(v=SCHEMA_VERSION, ts=at, seq=self._next(), status=status)
        return Accepted(self.device_id, Family.PRESENCE, message, at)

    def report(self, at: float) -> Accepted:
        message = Downtime(v=SCHEMA_VERSION, ts=at, seq=self._next(), started_at=at - 50,
                           ended_at=at - 10, cause="network")
        return Accepted(self.device_id, Family.DOWNTIME, message, at)

    def heartbeat(self, at: float) -> Accepted:
        message = Heartbeat(v=SCHEMA_VERSION, ts=at, seq=self._next(), interval_s=10,
                            uptime_s=5)
        return Accepted(self.device_id, Family.HEARTBEAT, message, at)

    def job(self, event: str, at: float) -> Accepted:
        message = JobEvent(v=SCHEMA_VERSION, ts=at, seq=self._next(), job_id="j-1", event=event,
                           file_name="gear.gcode", origin="sd_card")
        return Accepted(self.device_id, Family.JOB, message, at)


def counts(sync, device_id: str) -> dict[str, int]:
    return {table: len(sync.table_rows(table, device_id)) for table in LOG_TABLES}


def presence_of(sync, owner: int) -> str:
    return sync.printers_for_user(owner)[0].presence


@pytest.fixture
def owner(stores) -> int:
    user = stores.sync.create_user("o@example.com", "h")
    stores.sync.add_device("p-1", "Printer", user, "$7$h")
    return user


@pytest.mark.parametrize("switch", ["never_set", "turned_off"])
async def test_presence_and_reports_are_not_kept_while_the_switch_is_off_but_presence_is(
        stores, owner, switch):
    if switch == "turned_off":
        stores.sync.set_downtime_logging("p-1", False, owner, 1.0)
    device, now = Device("p-1"), time.time()
    online, report, beat = device.presence("online", now), device.report(now), device.heartbeat(now)
    result = await stores.ingest.write_batch([online, report, beat, beat], [])
    # The replayed heartbeat is a duplicate; the presence and the report are not kept.
    assert (result.stored, result.duplicates, result.not_kept) == (1, 1, 2)
    assert result.by_family == {"heartbeats": 1}
    assert presence_of(stores.sync, owner) == "online"
    will = await stores.ingest.write_batch([device.presence("offline", now + 5)], [])
    assert (will.stored, will.duplicates, will.not_kept) == (0, 0, 1)
    assert presence_of(stores.sync, owner) == "offline"
    assert counts(stores.sync, "p-1") == {"presence_events": 0, "downtime_reports": 0}
    assert stores.sync.downtime_history("p-1", now + 10) == []
    assert stores.sync.uptime_by_day("p-1", now + 10) == []


async def test_the_watchdog_logs_its_verdict_only_for_a_printer_with_the_switch_on(stores, owner):
    stores.sync.add_device("p-2", "Logged printer", owner, "$7$h")
    stores.sync.set_downtime_logging("p-2", True, owner, 1.0)
    now = time.time()
    await stores.ingest.write_batch([Device(d).heartbeat(now) for d in ("p-1", "p-2")], [])
    assert sorted(stores.sync.mark_silent_devices_offline(now + 100, 1.5, 30)) == ["p-1", "p-2"]
    assert {p.device_id: p.presence for p in stores.sync.printers_for_user(owner)} == {
        "p-1": "offline", "p-2": "offline"}
    assert counts(stores.sync, "p-1")["presence_events"] == 0
    (verdict,) = stores.sync.table_rows("presence_events", "p-2")
    assert (verdict["status"], verdict["source"], verdict["received_at"]) == (
        "offline", "watchdog", now + 100)


async def test_logging_starts_when_turned_on_and_stops_at_the_next_batch_when_turned_off(
        stores, owner):
    device, now = Device("p-1"), time.time()
    await stores.ingest.write_batch([device.presence("online", now), device.report(now)], [])
    stores.sync.set_downtime_logging("p-1", True, owner, now + 1)
    on = await stores.ingest.write_batch(
        [device.presence("offline", now + 10), device.presence("online", now + 70),
         device.report(now + 70)], [])
    assert (on.stored, on.not_kept) == (3, 0)
    assert counts(stores.sync, "p-1") == {"presence_events": 2, "downtime_reports": 1}
    (interval,) = stores.sync.downtime_history("p-1", now + 100)
    assert (interval.started_at, interval.ended_at) == (now + 10, now + 70)

    # Off again: the same ingest store (no restart) keeps nothing more, and
    # deletes nothing: what was kept stays until retention removes it.
    stores.sync.set_downtime_logging("p-1", False, owner, now + 80)
    off = await stores.ingest.write_batch(
        [device.presence("offline", now + 90), device.report(now + 95)], [])
    assert (off.stored, off.not_kept) == (0, 2)
    assert counts(stores.sync, "p-1") == {"presence_events": 2, "downtime_reports": 1}
    assert presence_of(stores.sync, owner) == "offline"
    assert stores.sync.downtime_history("p-1", now + 100) == []


async def test_history_is_shown_only_from_when_logging_was_last_turned_on(stores, owner):
    # On, offline; off (the return is not logged); on again while online.
    device, now = Device("p-1"), time.time()
    stores.sync.set_downtime_logging("p-1", True, owner, now)
    await stores.ingest.write_batch([device.presence("offline", now + 10)], [])
    stores.sync.set_downtime_logging("p-1", False, owner, now + 20)
    await stores.ingest.write_batch([device.presence("online", now + 30)], [])
    stores.sync.set_downtime_logging("p-1", True, owner, now + 40)
    await stores.ingest.write_batch([device.presence("offline", now + 50),
                                     device.presence("online", now + 60)], [])
    # Not one outage from now + 10 to now + 60: the first one's end was never seen.
    (interval,) = stores.sync.downtime_history("p-1", now + 100)
    assert (interval.started_at, interval.ended_at) == (now + 50, now + 60)
    assert counts(stores.sync, "p-1")["presence_events"] == 3


@pytest.mark.parametrize("how", ["last_will", "watchdog", "last_will_then_back"])
async def test_going_offline_during_a_print_is_found_with_logging_off(stores, owner, how):
    device, now = Device("p-1"), time.time()
    await stores.ingest.write_batch([device.presence("online", now - 100),
                                     device.job("started", now - 90)], [])
    if how == "watchdog":
        assert stores.sync.mark_silent_devices_offline(now, 1.5, 30) == ["p-1"]
    else:
        await stores.ingest.write_batch([device.presence("offline", now)], [])
    if how == "last_will_then_back":  # back before the scan looked: still found
        await stores.ingest.write_batch([device.presence("online", now + 2)], [])
    assert counts(stores.sync, "p-1")["presence_events"] == 0
    (event,) = stores.sync.offline_during_print_since(now - 1)
    assert (event.kind, event.device_id, event.job_id, event.occurred_at) == (
        "offline", "p-1", "j-1", now)
    assert stores.sync.offline_during_print_since(now) == []  # the scan's cursor moved on


async def test_going_offline_after_a_finished_print_is_not_found(stores, owner):
    device, now = Device("p-1"), time.time()
    await stores.ingest.write_batch([device.job("started", now - 90),
                                     device.job("finished", now - 10)], [])
    await stores.ingest.write_batch([device.presence("offline", now)], [])
    assert stores.sync.offline_during_print_since(now - 1) == []
