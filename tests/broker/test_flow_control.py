"""The broker's flow control, which bounds a fleet worker's memory: receive-maximum.

A worker acknowledges a message only after it is committed, so while the
database is away the broker should hold everything beyond the worker's
receive-maximum. Mosquitto before 2.0.13 keeps that bound only until the
worker acknowledges again: each PUBACK then releases up to receive-maximum
queued messages at once (db__message_delete_outgoing counts the acknowledged
message's position in flight, not the messages in flight; fixed in 2.0.13,
eclipse-mosquitto/mosquitto#2306). Debian 12 ships 2.0.11.
"""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
from gmqtt import Client, Subscription
from gmqtt.mqtt.constants import MQTTv50

from printfleet_protocol import Family, device_topic
from printfleet_protocol.topics import fleet_subscription

from ..agent.conftest import eventually

RECEIVE_MAXIMUM = 20
BACKLOG = 300

pytestmark = pytest.mark.timeout(60)


def mosquitto_version() -> tuple[int, ...]:
    shown = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, check=False)
    found = re.search(r"mosquitto version (\d+)\.(\d+)\.(\d+)", shown.stdout + shown.stderr)
    assert found, "cannot tell the Mosquitto version"
    return tuple(int(part) for part in found.groups())


@pytest.mark.xfail(mosquitto_version() < (2, 0, 13), strict=True,
                   reason="Mosquitto < 2.0.13 sends past receive-maximum once acks resume "
                          "(eclipse-mosquitto/mosquitto#2306)")
async def test_the_broker_never_has_more_than_receive_maximum_in_flight_to_a_worker(
        broker, store, context):
    in_flight = peak = received = 0
    gates = [asyncio.Event()]  # a message waits for the gate open when it arrived

    async def on_message(client, topic, payload, qos, properties) -> int:
        nonlocal in_flight, peak, received
        received += 1
        in_flight += 1
        peak = max(peak, in_flight)
        await gates[-1].wait()
        in_flight -= 1
        return 0  # PUBACK, as the worker sends after a commit

    settings = context.settings
    worker = Client("fleet-flow", clean_session=False, optimistic_acknowledgement=False,
                    session_expiry_interval=60, receive_maximum=RECEIVE_MAXIMUM)
    worker.set_auth_credentials(settings.broker.fleet_username, context.fleet_password)
    worker.on_message = on_message
    subscribed = asyncio.Event()
    worker.on_subscribe = lambda *args: subscribed.set()
    worker.on_connect = lambda client, *args: client.subscribe(Subscription(
        fleet_subscription(settings.broker.topic_prefix, settings.fleet.share_group), qos=1))
    await worker.connect("127.0.0.1", broker.local_port, version=MQTTv50)
    publisher = broker.connect_fleet()
    try:
        await asyncio.wait_for(subscribed.wait(), 5)
        topic = device_topic(broker.prefix, "device-a", Family.TELEMETRY)
        for n in range(BACKLOG):  # a backlog, as while the database is down
            publisher.client.publish(topic, f"{n}".encode(), qos=1)
        await eventually(lambda: received >= RECEIVE_MAXIMUM, 10, "the first messages")
        await asyncio.sleep(0.5)
        assert peak == RECEIVE_MAXIMUM, "the broker holds the backlog while nothing is acked"
        for _ in range(4 * BACKLOG // RECEIVE_MAXIMUM):  # commits resume, a batch at a time
            opened, gates[:] = gates[-1], [asyncio.Event()]
            opened.set()
            await asyncio.sleep(0.2)
            if received == BACKLOG:
                break
        assert received == BACKLOG
        assert peak <= RECEIVE_MAXIMUM
    finally:
        gates[-1].set()
        publisher.close()
        await worker.disconnect()
