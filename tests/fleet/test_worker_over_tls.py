"""A worker without the loopback listener (local_port = 0) consumes over TLS, as one on
another machine must (real Mosquitto, real store)."""

from __future__ import annotations

import asyncio
import time

import pytest

from printfleet.broker_endpoint import fleet_endpoint
from printfleet.context import Context
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, Telemetry

from ..support import make_settings, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def context(tmp_path) -> Context:
    return Context(make_settings(tmp_path / "data", broker={"local_port": 0}))


async def test_a_worker_reaches_the_tls_listener_when_there_is_no_loopback_one(
        broker, worker, store, context):
    assert broker.paths.config.read_text().count("\nlistener ") == 1
    endpoint = fleet_endpoint(context.settings)
    assert endpoint.port == broker.port and endpoint.ssl_context is not None

    credentials = context.provisioner(store).provision("printer-far", "Far", None)
    device = wait_until(lambda: broker.connect_device(credentials.username, credentials.password,
                                                      "printer-far"), 5, "the device")
    sample = Telemetry(v=SCHEMA_VERSION, ts=time.time(), seq=1, state="idle",
                       heaters={"bed": Heater(21.0, 0.0)})
    await asyncio.to_thread(device.publish,
                            device_topic(broker.prefix, "printer-far", Family.TELEMETRY), sample)
    deadline = time.monotonic() + 10
    while not store.table_rows("telemetry", "printer-far"):
        assert time.monotonic() < deadline, "the worker stored nothing"
        await asyncio.sleep(0.05)
    device.close()
