"""The worker's /metrics in Prometheus text format, scraped over real HTTP."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from fleet.worker import FleetWorker
from printfleet.settings import with_changes
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, Telemetry
from storage import open_ingest_store

from ..support import free_port, wait_until

pytestmark = pytest.mark.timeout(60)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, e.g. sample(text, "x_total", reason="oversize")."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels} in:\n{text}")


async def test_metrics_show_ingest_batches_lag_rejects_and_online_devices(broker, store,
                                                                          context, owner):
    port = free_port()
    settings = with_changes(context.settings, fleet={"metrics_port": port})
    worker = FleetWorker(settings, open_ingest_store(settings), context.fleet_password,
                         worker_id="metrics-test")
    await worker.start()
    credentials = context.provisioner(store).provision("printer-m", "M", owner)
    device = await asyncio.to_thread(wait_until, lambda: _connected(broker, credentials), 5,
                                     "device")
    topic = device_topic(broker.prefix, "printer-m", Family.TELEMETRY)
    try:
        for seq in range(20):
            await asyncio.to_thread(device.publish, topic, Telemetry(
                v=SCHEMA_VERSION, ts=time.time() - 0.5, seq=seq, state="printing",
                heaters={"bed": Heater(60.0, 60.0)}))
        await asyncio.to_thread(device.publish, topic, b"{broken")
        deadline = time.monotonic() + 10
        async with httpx.AsyncClient() as client:
            while True:
                reply = await client.get(f"http://127.0.0.1:{port}/metrics")
                text = reply.text
                if "printfleet_messages_stored_total" in text and \
                        sample(text, "printfleet_messages_stored_total") >= 20 and \
                        sample(text, "printfleet_devices_online") >= 1:
                    break
                assert time.monotonic() < deadline, text
                await asyncio.sleep(0.3)
            missing = await client.get(f"http://127.0.0.1:{port}/other")
    finally:
        device.close()
        await worker.stop()
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert missing.status_code == 404
    assert sample(text, "printfleet_messages_rejected_total", reason="malformed") == 1
    assert sample(text, "printfleet_batch_rows_count") >= 1
    assert sample(text, "printfleet_batch_rows_sum") >= 21
    lag = sample(text, "printfleet_ingest_lag_seconds_sum") / sample(
        text, "printfleet_ingest_lag_seconds_count")
    assert 0.4 < lag < 5, "the devices' clocks were half a second behind"
    assert sample(text, "printfleet_broker_connected") == 1
    assert re.search(r"^# TYPE printfleet_messages_stored_total counter$", text, re.M)


def _connected(broker, credentials):
    client = broker.connect_device(credentials.username, credentials.password,
                                   credentials.device_id)
    if client.connect_result[0].is_failure:
        client.close()
        return None
    return client
