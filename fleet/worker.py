"""The fleet ingest worker: a gmqtt (MQTT 5) shared subscriber writing in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard

from gmqtt import Client, Subscription
from gmqtt.mqtt.constants import MQTTv50

from printfleet.broker_endpoint import fleet_endpoint
from printfleet.settings import Settings
from printfleet_protocol import Family, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, StoredAck
from printfleet_protocol.topics import fleet_subscription
from storage import (
    Accepted,
    BackendUnavailable,
    IngestStore,
    Rejected,
    SyncStore,
    open_sync_store,
)
from storage.camera_images import CameraImages

from .batcher import Batcher
from .camera import CameraIngest
from .deferred_acks import connection_of, hook_qos1_publishes, send_pubacks
from .edge import classify
from .metrics import WorkerMetrics, remove_snapshot, write_snapshot
from .prometheus import MetricsServer, render

logger = logging.getLogger(__name__)

PUBACK_SUCCESS = 0
METRICS_INTERVAL_S = 2.0


class BrokerRefused(RuntimeError):
    """The broker refused the worker's connection (bad credentials or config)."""


class FleetWorker:
    """Consumes device topics and stores them; several can share one subscription."""

    def __init__(self, settings: Settings, store: IngestStore, fleet_password: str,
                 worker_id: str | None = None) -> None:
        self._settings = settings
        self._store = store
        self._password = fleet_password
        # A stable id: a restarted worker resumes its MQTT session and receives
        # again whatever it had not acknowledged when it died.
        self.worker_id = worker_id or socket.gethostname()
        self.metrics = WorkerMetrics(self.worker_id)
        self._batcher: Batcher | None = None
        self._client: Client | None = None
        self._metrics_task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._stopping = False
        self._metrics_server: MetricsServer | None = None
        # Pictures are written through a sync store of their own, in a thread.
        self._camera_store: SyncStore | None = None
        self._camera: CameraIngest | None = None

    @property
    def run_dir(self) -> Path:
        return self._settings.data_path / "run"

    async def start(self) -> None:
        """Open the store, connect to the broker and subscribe."""
        fleet = self._settings.fleet
        await self._store.start()
        self._batcher = Batcher(self._store.write_batch, fleet.batch_max_rows,
                                fleet.batch_max_delay_s, self.metrics.record_batch,
                                self._after_commit, self.metrics.record_write_error,
                                fleet.batches_in_flight)
        await self._batcher.start()
        await self._start_camera()
        self._client = self._build_client()
        broker = self._settings.broker
        endpoint = fleet_endpoint(self._settings)
        try:
            await self._client.connect(endpoint.host, endpoint.port, keepalive=30,
                                       version=MQTTv50, ssl=endpoint.ssl_context or False)
        except Exception as error:
            with contextlib.suppress(Exception):  # close the refused connection's socket
                await self._client.disconnect()
            await self._stop_camera()
            await self._batcher.stop()
            await self._store.stop()
            raise BrokerRefused(f"cannot connect to MQTT broker at {endpoint} "
                                f"as {broker.fleet_username!r}: {error}") from error
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)
        self._metrics_task = asyncio.create_task(self._publish_metrics(), name="metrics")
        if fleet.metrics_port:
            self._metrics_server = MetricsServer(fleet.metrics_host, fleet.metrics_port,
                                                 lambda: render(self.metrics))
            await self._metrics_server.start()
        logger.info("fleet worker %s consuming %s", self.worker_id, self._subscription_topic)

    async def stop(self) -> None:
        """Disconnect, then commit what was received (unacknowledged messages are redelivered)."""
        self._stopping = True
        if self._metrics_task is not None:
            self._metrics_task.cancel()
        if self._metrics_server is not None:
            await self._metrics_server.stop()
        if self._client is not None:
            await self._client.disconnect()
        await self._stop_camera()
        if self._batcher is not None:
            await self._batcher.stop()
        await self._store.stop()
        self.metrics.connected = False
        # A cleanly stopped worker is gone, not unhealthy.
        remove_snapshot(self.metrics, self.run_dir)

    async def handle_message(self, topic: str, payload: bytes) -> int:
        """Validate, queue and wait for the commit; return the PUBACK reason code."""
        assert self._batcher is not None
        self.metrics.message_in()
        try:
            item = self._classify(topic, payload)
            if _is_picture(item):
                assert self._camera is not None
                stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._camera.add(item, stored)
                await stored
            elif item is not None:
                await self._batcher.submit(item)
            return PUBACK_SUCCESS
        finally:
            self.metrics.message_done()

    def _handle_qos1_publish(self, packet_id: int, topic: str, payload: bytes) -> None:
        """Validate and queue; the PUBACK goes out with the batch's, after its commit."""
        assert self._batcher is not None and self._client is not None
        connection = connection_of(self._client)
        self.metrics.message_in()
        try:
            item = self._classify(topic, payload)
        except Exception:
            # A bug must not kill the loop; the message stays unacknowledged
            # and is redelivered on the next session.
            self.metrics.message_done()
            logger.exception("unexpected error handling a message on %s", topic)
            return
        if item is None:
            self.metrics.message_done()
            send_pubacks(self._client, connection, (packet_id,))
        elif _is_picture(item):
            assert self._camera is not None
            self._camera.add(item, (connection, packet_id))
        else:
            self._batcher.add(item, (connection, packet_id))

    def _classify(self, topic: str, payload: bytes) -> Accepted | Rejected | None:
        """Validate and log one message; None for traffic that is not stored."""
        item = classify(self._settings.broker.topic_prefix, topic, payload, time.time(),
                        self._settings.fleet.max_payload_bytes,
                        self._settings.camera.max_image_bytes)
        if isinstance(item, Rejected):
            self.metrics.rejects_by_reason[item.reason] += 1
            logger.warning("rejected message on %s: %s (payload %r)", item.topic, item.detail,
                           item.payload_excerpt[:80])
        return item

    async def _start_camera(self) -> None:
        store = open_sync_store(self._settings)
        await asyncio.to_thread(store.start)
        self._camera_store = store
        images = CameraImages(store, self._settings.camera_dir)
        self._camera = CameraIngest(images, self._picture_stored, self._picture_refused)
        await self._camera.start()

    async def _stop_camera(self) -> None:
        if self._camera is not None:
            await self._camera.stop()
        if self._camera_store is not None:
            await asyncio.to_thread(self._camera_store.stop)
            self._camera_store = None

    def _picture_stored(self, token: Any) -> None:
        """Acknowledge a stored picture: the device releases it on the broker's PUBACK."""
        if isinstance(token, asyncio.Future):
            if not token.done():
                token.set_result(None)
            return
        self.metrics.message_done()
        if self._client is not None:
            send_pubacks(self._client, token[0], (token[1],))

    def _picture_refused(self, item: Accepted, reason: str, detail: str, token: Any) -> None:
        """Record why a picture could not be stored; it is acknowledged with that record."""
        assert self._batcher is not None
        self.metrics.rejects_by_reason[reason] += 1
        topic = device_topic(self._settings.broker.topic_prefix, item.device_id, Family.CAMERA)
        rejected = Rejected(topic, item.device_id, reason, detail[:500],
                            len(item.message.image), f"camera picture seq {item.message.seq}",
                            item.received_at)
        if isinstance(token, asyncio.Future):
            self._batcher.submit(rejected).add_done_callback(
                lambda _: self._picture_stored(token))
        else:
            self._batcher.add(rejected, token)

    def _after_commit(self, accepted: Sequence[Accepted], tokens: Sequence[Any]) -> None:
        """Confirm to the devices, then PUBACK to the broker, what one batch committed."""
        if accepted:
            self._confirm_stored(accepted)
        # Tokens are (connection, packet id) from the QoS 1 hook, None for
        # messages whose handle_message awaits the commit (gmqtt acks those).
        by_connection: dict[object, list[int]] = {}
        for token in tokens:
            if token is not None:
                by_connection.setdefault(token[0], []).append(token[1])
                self.metrics.message_done()
        if self._client is None:
            return
        for connection, packet_ids in by_connection.items():
            send_pubacks(self._client, connection, packet_ids)

    def _confirm_stored(self, accepted: Sequence[Accepted]) -> None:
        """Tell each device which of its messages are now durable (its outbox lets go)."""
        now = time.time()
        self.metrics.record_lag([now - item.message.ts for item in accepted])
        if self._client is None or not self._client.is_connected:
            return  # the device resends what it never heard about; storing is idempotent
        prefix = self._settings.broker.topic_prefix
        for device_id, ranges in stored_ranges(accepted).items():
            ack = StoredAck(v=SCHEMA_VERSION, ts=time.time(), ranges=ranges)
            self._client.publish(_stored_topic(prefix, device_id), encode(ack), qos=1)

    @property
    def _subscription_topic(self) -> str:
        return fleet_subscription(self._settings.broker.topic_prefix,
                                  self._settings.fleet.share_group)

    def _build_client(self) -> Client:
        fleet = self._settings.fleet
        client = Client(
            f"fleet-{self.worker_id}",
            clean_session=False,
            optimistic_acknowledgement=False,
            session_expiry_interval=fleet.session_expiry_s,
            receive_maximum=fleet.receive_maximum,
        )
        client.set_auth_credentials(self._settings.broker.fleet_username, self._password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        hook_qos1_publishes(client, self._handle_qos1_publish)
        return client

    def _on_connect(self, client: Client, flags: int, rc: int, properties: dict) -> None:
        # Subscribe on every connect, so a reconnect is never left deaf.
        self.metrics.connected = True
        client.subscribe(Subscription(self._subscription_topic, qos=1))

    def _on_subscribe(self, client: Client, mid: int, qos: tuple, properties: dict) -> None:
        if any(code >= 0x80 for code in qos):
            logger.error("broker refused subscription %s: %s", self._subscription_topic, qos)
            return
        self._subscribed.set()

    def _on_disconnect(self, client: Client, packet: bytes, exc: Exception | None = None) -> None:
        self.metrics.connected = False
        if not self._stopping:
            logger.warning("fleet worker lost the broker connection; reconnecting")

    async def _on_message(self, client: Client, topic: str, payload: bytes, qos: int,
                          properties: dict) -> int:
        try:
            return await self.handle_message(topic, payload)
        except Exception:
            # A bug must not kill the loop; the message stays unacknowledged
            # and is redelivered on the next session.
            logger.exception("unexpected error handling a message on %s", topic)
            raise

    async def _publish_metrics(self) -> None:
        while True:
            try:
                # Bounded: while the database is away the snapshot still goes out.
                self.metrics.online_devices = await asyncio.wait_for(
                    self._store.count_online_devices(), METRICS_INTERVAL_S / 2)
            except (BackendUnavailable, TimeoutError):
                pass  # the batcher reports the outage; the count is kept until it ends
            except Exception:  # metrics must never take the worker down
                logger.exception("counting online devices failed")
            write_snapshot(self.metrics, self.run_dir)
            await asyncio.sleep(METRICS_INTERVAL_S)


def _is_picture(item: Accepted | Rejected | None) -> TypeGuard[Accepted]:
    return isinstance(item, Accepted) and item.family is Family.CAMERA


@lru_cache(maxsize=65536)
def _stored_topic(prefix: str, device_id: str) -> str:
    """Where one device hears about its stored messages (built once per device)."""
    return device_topic(prefix, device_id, Family.STORED)


def stored_ranges(accepted: Sequence[Accepted]) -> dict[str, list[tuple[int, int]]]:
    """Group committed messages into inclusive seq ranges per device."""
    seqs: dict[str, list[int]] = defaultdict(list)
    for item in accepted:
        seqs[item.device_id].append(item.message.seq)
    ranges: dict[str, list[tuple[int, int]]] = {}
    for device_id, numbers in seqs.items():
        numbers.sort()
        merged: list[tuple[int, int]] = []
        for seq in numbers:
            if merged and seq <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], seq))
            else:
                merged.append((seq, seq))
        ranges[device_id] = merged
    return ranges


async def run_worker(settings: Settings, store: IngestStore, fleet_password: str,
                     stop_event: asyncio.Event, worker_id: str | None = None) -> None:
    """Run one worker until stop_event is set."""
    worker = FleetWorker(settings, store, fleet_password, worker_id)
    await worker.start()
    try:
        await stop_event.wait()
    finally:
        await worker.stop()
