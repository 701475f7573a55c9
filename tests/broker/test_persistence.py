"""QoS 1 sessions survive a broker restart: nothing queued for a worker is lost."""

from __future__ import annotations

import asyncio
import time

import pytest

from fleet.worker import FleetWorker
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, Heartbeat
from storage import open_ingest_store

from ..support import start_broker, wait_until

pytestmark = pytest.mark.timeout(60)


async def test_messages_queued_for_a_worker_survive_a_broker_restart(broker, store, context):
    credentials = context.provisioner(store).provision("printer-p", "P", None)
    worker = FleetWorker(context.settings, open_ingest_store(context.settings),
                         context.fleet_password, worker_id="persistent")
    await worker.start()  # registers its persistent session and shared subscription
    await worker.stop()

    def device_connected():
        client = broker.connect_device("printer-p", credentials.password, "printer-p")
        return None if client.connect_result[0].is_failure else client

    device = await asyncio.to_thread(wait_until, device_connected, 5, "device")
    topic = device_topic(broker.prefix, "printer-p", Family.HEARTBEAT)
    for seq in range(1, 11):
        beat = Heartbeat(v=SCHEMA_VERSION, ts=time.time(), seq=seq, interval_s=30, uptime_s=seq)
        await asyncio.to_thread(device.publish, topic, beat)
    device.close()

    broker.stop()  # a clean stop writes the persistence file
    restarted = start_broker(context)
    try:
        worker = FleetWorker(context.settings, open_ingest_store(context.settings),
                             context.fleet_password, worker_id="persistent")
        await worker.start()
        deadline = time.monotonic() + 15
        while len(store.table_rows("heartbeats", "printer-p")) < 10:
            assert time.monotonic() < deadline, "queued messages were lost in the restart"
            await asyncio.sleep(0.1)
        await worker.stop()
    finally:
        restarted.stop()
    assert [r["seq"] for r in store.table_rows("heartbeats", "printer-p")] == list(range(1, 11))
