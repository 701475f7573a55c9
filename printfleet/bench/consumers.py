"""The two consumers the bench compares, each in its own process.

``worker_main`` runs the real FleetWorker on the configured store (wrapped
to time commits); ``drain_main`` is the bare-drain baseline: a gmqtt client
on the same shared subscription that acknowledges each message at once and
only counts it. Both answer ``phase``, ``progress`` and ``stop`` over a pipe.
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection

from gmqtt import Client, Subscription
from gmqtt.mqtt.constants import MQTTv50

from fleet.worker import FleetWorker
from printfleet.broker_endpoint import fleet_endpoint
from printfleet.settings import Settings
from printfleet_protocol.topics import fleet_subscription
from storage import open_ingest_store

from .measuring import MeasuringIngestStore
from .processes import CommandReader, memory_mb, quiet_logging

SUBSCRIBE_TIMEOUT_S = 10.0


def worker_main(conn: Connection, settings: Settings, fleet_password: str,
                worker_id: str) -> None:
    """Process entry point: one fleet worker, measured."""
    quiet_logging()
    asyncio.run(_serve_worker(conn, settings, fleet_password, worker_id))


async def _serve_worker(conn: Connection, settings: Settings, fleet_password: str,
                        worker_id: str) -> None:
    reader = CommandReader(conn)
    store = MeasuringIngestStore(open_ingest_store(settings))
    worker = FleetWorker(settings, store, fleet_password, worker_id=worker_id)
    try:
        await worker.start()
    except Exception as error:
        reader.reply("error", f"the worker did not start: {error}")
        return
    reader.reply("ready", memory_mb("VmRSS"))
    while (command := await reader.next())[0] != "stop":
        if command[0] == "phase":
            store.begin_phase(command[1], record_latency=command[2])
            reader.reply("ok")
        elif command[0] == "progress":
            reader.reply("progress", store.current.stored, store.current.last_commit_at)
    await worker.stop()
    reader.reply("stopped", store.phases, memory_mb("VmHWM"))
    reader.close()


class Drain:
    """Counts messages on the fleet's shared subscription; PUBACKs before counting."""

    def __init__(self, settings: Settings) -> None:
        self.received = 0
        self.last_received_at = 0.0
        self._subscribed = asyncio.Event()
        broker = settings.broker
        self._topic = fleet_subscription(broker.topic_prefix, settings.fleet.share_group)
        # The worker's flow control, but a clean session: nothing is queued
        # for the drain once it leaves, so the worker's phase starts empty.
        self.client = Client("bench-drain", clean_session=True, optimistic_acknowledgement=True,
                             receive_maximum=settings.fleet.receive_maximum)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    async def start(self, settings: Settings, password: str) -> None:
        self.client.set_auth_credentials(settings.broker.fleet_username, password)
        local = fleet_endpoint(settings)
        await self.client.connect(local.host, local.port, keepalive=30, version=MQTTv50,
                                  ssl=local.ssl_context or False)
        await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_TIMEOUT_S)

    def _on_connect(self, client: Client, flags: int, rc: int, properties: dict) -> None:
        client.subscribe(Subscription(self._topic, qos=1))

    def _on_subscribe(self, client: Client, mid: int, qos: tuple, properties: dict) -> None:
        if all(code < 0x80 for code in qos):
            self._subscribed.set()

    def _on_message(self, client: Client, topic: str, payload: bytes, qos: int,
                    properties: dict) -> int:
        self.received += 1
        self.last_received_at = time.time()
        return 0


def drain_main(conn: Connection, settings: Settings, fleet_password: str) -> None:
    """Process entry point: the bare-drain baseline."""
    quiet_logging()
    asyncio.run(_serve_drain(conn, settings, fleet_password))


async def _serve_drain(conn: Connection, settings: Settings, fleet_password: str) -> None:
    reader = CommandReader(conn)
    drain = Drain(settings)
    try:
        await drain.start(settings, fleet_password)
    except Exception as error:
        reader.reply("error", f"the bare drain did not start: {error}")
        return
    reader.reply("ready", memory_mb("VmRSS"))
    while (command := await reader.next())[0] != "stop":
        if command[0] == "phase":
            drain.received, drain.last_received_at = 0, 0.0
            reader.reply("ok")
        elif command[0] == "progress":
            reader.reply("progress", drain.received, drain.last_received_at)
    await drain.client.disconnect()
    reader.reply("stopped", memory_mb("VmHWM"))
    reader.close()
