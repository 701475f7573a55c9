"""The fleet worker against a real Mosquitto and a real store, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import msgspec
import pytest

from fleet.worker import BrokerRefused, FleetWorker
from printfleet.context import Context
from printfleet.settings import with_changes
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, JobEvent, Telemetry
from storage import open_ingest_store

from ..support import wait_until
from .backends import BACKENDS, backend_context

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=BACKENDS)
def context(request, tmp_path, monkeypatch) -> Iterator[Context]:
    """Every test here runs the real worker on each backend (a fresh database for each)."""
    with backend_context(request.param, tmp_path, monkeypatch) as backend:
        yield backend


@pytest.fixture
def device(broker, store, context):
    credentials = context.provisioner(store).provision("printer-1", "Printer 1", None)

    def connected():
        client = broker.connect_device(credentials.username, credentials.password,
                                       client_id="printer-1")
        if client.connect_result[0].is_failure:
            client.close()
            return None
        return client

    client = wait_until(connected, 5, "the device to connect")
    yield client
    client.close()


def telemetry(seq: int, bed: float = 60.0) -> Telemetry:
    return Telemetry(v=SCHEMA_VERSION, ts=time.time(), seq=seq, state="printing",
                     heaters={"bed": Heater(bed, 60.0), "tool0": Heater(210.0, 215.0)},
                     progress_pct=float(seq % 100), time_left_s=600.0, job_id="job-1")


async def wait_for(predicate, timeout: float, what: str):
    """Wait without blocking the worker's event loop."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def test_bad_input_is_recorded_and_good_messages_around_it_are_stored(
        worker, device, store, broker, context):
    topic = device_topic(broker.prefix, "printer-1", Family.TELEMETRY)
    oversize = json.dumps({"v": 1, "pad": "x" * (context.settings.fleet.max_payload_bytes + 10)})
    unsupported = json.dumps({"v": 2, "ts": time.time(), "seq": 99, "something": "new"})
    sends = [
        (topic, telemetry(1)),
        (topic, b"{not json"),
        (topic, telemetry(2)),
        (topic, unsupported.encode()),
        (topic, telemetry(3)),
        (topic, oversize.encode()),
        (f"{broker.prefix}/printer-1/bogus", b'{"v": 1}'),
        (topic, b'{"v": 1, "ts": 1.0, "seq": 5, "state": "melting"}'),
        (topic, telemetry(4)),
    ]
    for send_topic, payload in sends:
        await asyncio.to_thread(device.publish, send_topic, payload)

    await wait_for(lambda: len(store.table_rows("telemetry", "printer-1")) == 4, 10,
                   "the four good telemetry messages")
    await wait_for(lambda: sum(store.reject_counts().values()) == 5, 10, "five rejects")
    assert [row["seq"] for row in store.table_rows("telemetry", "printer-1")] == [1, 2, 3, 4]
    assert store.reject_counts() == {"malformed": 1, "unsupported_version": 1, "oversize": 1,
                                     "unknown_family": 1, "invalid": 1}
    reasons = {r.reason: r for r in store.recent_rejects()}
    assert reasons["unknown_family"].topic.endswith("/printer-1/bogus")
    assert reasons["oversize"].payload_size > context.settings.fleet.max_payload_bytes
    assert "melting" in reasons["invalid"].detail
    assert worker.metrics.rejects_by_reason["malformed"] == 1
    # The worker is still consuming after all that.
    await asyncio.to_thread(device.publish, topic, telemetry(6))
    await wait_for(lambda: len(store.table_rows("telemetry", "printer-1")) == 5, 10, "seq 6")


async def test_same_device_and_sequence_delivered_twice_is_stored_once(worker, device, store,
                                                                       broker):
    job_topic = device_topic(broker.prefix, "printer-1", Family.JOB)
    event = JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=10, job_id="j-1", event="started",
                     file_name="benchy.gcode", origin="octoprint_ui")
    for _ in range(3):
        await asyncio.to_thread(device.publish, job_topic, event)
    await asyncio.to_thread(device.publish, job_topic,
                            JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=11, job_id="j-1", event="finished",
                                     file_name="benchy.gcode", origin="octoprint_ui",
                                     progress_pct=100.0))
    await wait_for(lambda: len(store.table_rows("job_events", "printer-1")) == 2, 10, "events")
    await wait_for(lambda: worker.metrics.duplicates == 2, 10, "duplicates to be counted")
    rows = store.table_rows("job_events", "printer-1")
    assert [(r["seq"], r["event"]) for r in rows] == [(10, "started"), (11, "finished")]
    assert worker.metrics.stored == 2


async def test_latest_state_reaches_the_printer_list(worker, device, store, broker):
    owner = store.create_user("owner@example.com", "x")
    store.add_device("printer-1", "Printer 1", owner, "$7$unused")
    topic = device_topic(broker.prefix, "printer-1", Family.TELEMETRY)
    await asyncio.to_thread(device.publish, topic, telemetry(20, bed=55.5))
    await asyncio.to_thread(device.publish, topic, telemetry(21, bed=58.25))
    rows = await wait_for(lambda: [r for r in store.printers_for_user(owner)
                                   if r.heaters.get("bed", {}).get("actual") == 58.25], 10,
                          "the newest bed temperature")
    assert rows[0].presence == "online"
    assert rows[0].progress_pct == 21.0


async def test_two_workers_share_the_subscription_without_duplicates(broker, device, store,
                                                                     context):
    workers = [FleetWorker(context.settings, open_ingest_store(context.settings),
                           context.fleet_password, worker_id=f"w{n}") for n in range(2)]
    for w in workers:
        await w.start()
    try:
        topic = device_topic(broker.prefix, "printer-1", Family.TELEMETRY)
        for seq in range(100, 160):
            await asyncio.to_thread(device.publish, topic, telemetry(seq))
        await wait_for(lambda: len(store.table_rows("telemetry", "printer-1")) == 60, 15,
                       "all 60 messages")
        received = [w.metrics.messages_received for w in workers]
        assert sum(received) == 60, received
        assert all(count > 0 for count in received), f"load not shared: {received}"
    finally:
        for w in workers:
            await w.stop()


async def test_worker_with_wrong_password_refuses_to_start(broker, context):
    bad = FleetWorker(context.settings, open_ingest_store(context.settings), "wrong-password")
    with pytest.raises(BrokerRefused, match="cannot connect"):
        await bad.start()


class GatedStore:
    """The real store, but every write waits until the test opens the gate."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.gate = asyncio.Event()

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()

    async def write_batch(self, accepted, rejected):
        await self.gate.wait()
        return await self._inner.write_batch(accepted, rejected)

    async def count_online_devices(self) -> int:
        return await self._inner.count_online_devices()


async def test_the_broker_gets_a_puback_only_after_the_message_commits(broker, device, store,
                                                                        context):
    # With a receive maximum of 3, the broker sends a fourth message only
    # after the worker acknowledged one of the first three.
    settings = with_changes(context.settings, fleet={"receive_maximum": 3,
                                                     "batches_in_flight": 2})
    gated = GatedStore(open_ingest_store(settings))
    worker = FleetWorker(settings, gated, context.fleet_password, worker_id="gated")
    await worker.start()
    try:
        topic = device_topic(broker.prefix, "printer-1", Family.TELEMETRY)
        for seq in range(10):
            await asyncio.to_thread(device.publish, topic, telemetry(seq))
        await wait_for(lambda: worker.metrics.messages_received == 3, 10, "three messages")
        await asyncio.sleep(0.5)
        assert worker.metrics.messages_received == 3, "acknowledged before the commit"
        assert store.table_rows("telemetry", "printer-1") == []
        gated.gate.set()
        await wait_for(lambda: len(store.table_rows("telemetry", "printer-1")) == 10, 15,
                       "all ten messages")
        assert worker.metrics.messages_received == 10
        assert worker.metrics.stored == 10
    finally:
        await worker.stop()


async def test_messages_with_and_without_properties_are_stored_and_acknowledged(
        worker, device, store, broker):
    # Devices send no properties (the worker's fast path); one with
    # properties takes gmqtt's general parser, and is stored all the same
    # (were its property bytes taken for payload, it would be rejected).
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    topic = device_topic(broker.prefix, "printer-1", Family.TELEMETRY)
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = [("origin", "test")]
    properties.MessageExpiryInterval = 600
    await asyncio.to_thread(device.publish, topic, telemetry(1))
    info = device.client.publish(topic, msgspec.json.encode(telemetry(2)), qos=1,
                                 properties=properties)
    await asyncio.to_thread(info.wait_for_publish, 5)
    await asyncio.to_thread(device.publish, topic, telemetry(3))
    await wait_for(lambda: len(store.table_rows("telemetry", "printer-1")) == 3, 10,
                   "all three messages")
    await wait_for(lambda: worker.metrics.stored == 3, 10, "the commits to be counted")
    assert worker.metrics.messages_received == 3
