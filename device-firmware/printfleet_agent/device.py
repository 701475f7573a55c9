"""One printer's agent: reads the printer, queues what it sees, sends it, runs commands.

Everything outgoing goes through the outbox (see outbox.py); the sender
publishes what is due and the fleet's `stored` acks release it. Only
presence is published directly: a stale 'online' replayed later would lie.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from printfleet_protocol import Family, PayloadError, decode
from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    AckStatus,
    CameraSnapshot,
    CommandAck,
    JobEventKind,
    JobOrigin,
)

from . import messages
from .camera import CameraError, CameraSettings, LiveView, take_snapshot
from .commands import CommandHandler
from .connectivity import Diagnosis, Step, diagnose
from .downloads import FileFetcher
from .downtime import DowntimeRecorder
from .link import LinkEvent, MqttLink
from .outbox import Outbox
from .printers import PrinterBackend
from .printers.base import JobEventRecord

logger = logging.getLogger(__name__)

SEND_BATCH = 200
# Facts are looked at again every this many heartbeats and sent if they changed.
FACTS_EVERY_HEARTBEATS = 10
ACTIVE_JOB = "active_job"
TERMINAL_EVENTS = frozenset({JobEventKind.FINISHED, JobEventKind.FAILED, JobEventKind.CANCELLED})


@dataclass(frozen=True)
class DeviceTiming:
    telemetry_interval_s: float = 1.0
    heartbeat_interval_s: float = 30.0


class DeviceAgent:
    """Runs one device identity: its MQTT link, outbox, printer and camera."""

    def __init__(self, link: MqttLink, outbox: Outbox, backend: PrinterBackend,
                 fetcher: FileFetcher, timing: DeviceTiming, camera: CameraSettings,
                 downtime_logging: bool, clock: Callable[[], float] = time.time) -> None:
        self.device_id = link.device_id
        self.link = link
        self.outbox = outbox
        self.backend = backend
        self.camera = camera
        self.timing = timing
        self._clock = clock
        self._backend_lock = threading.Lock()
        self._started_at = clock()
        self._wake_sender = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._camera_mids: dict[int, int] = {}
        self.live_view = LiveView(camera.live_interval_s)
        self._check_interrupted_job = True
        self._last_facts: bytes | None = None
        self.printer_connected = False
        self.last_errors: list[str] = []
        self.last_diagnosis: Diagnosis | None = None
        self.downtime = DowntimeRecorder(outbox, downtime_logging, clock)
        self.commands = CommandHandler(
            backend, self.call_backend, self._ack, fetcher,
            {"camera_live": self._camera_live, "configure": self._configure}, clock)

    async def start(self) -> None:
        """Open the outbox, connect the printer and the broker, start the loops."""
        await self.outbox.open()
        await self.downtime.recover_after_restart()
        active = await self.outbox.get_state(ACTIVE_JOB)
        if active is not None:
            job = json.loads(active)
            await self.call_backend(self.backend.adopt_job, job["job_id"], job["file_name"],
                                    JobOrigin(job["origin"]))
        try:
            await self.call_backend(self.backend.connect)
            self.printer_connected = True
        except Exception as error:  # the printer may come later; the agent still reports
            self._error(f"printer connection failed: {error}")
        self.link.set_will(await self.outbox.allocate_seq())
        self.link.start()
        for coroutine in (self._link_events(), self._sender(), self._ticker(), self._heartbeats(),
                          self._live_camera()):
            self._tasks.append(asyncio.create_task(coroutine))

    async def stop(self) -> None:
        """Stop cleanly: 'stopped' presence, printer disconnected, outbox closed."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.link.stop(await self.outbox.allocate_seq())
        await self.downtime.mark_clean_shutdown()
        try:
            await self.call_backend(self.backend.disconnect)
        except Exception as error:
            logger.warning("%s: disconnecting the printer failed: %s", self.device_id, error)
        await self.outbox.close()

    async def call_backend(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking backend call in a thread, one at a time."""
        def locked() -> Any:
            with self._backend_lock:
                return function(*args)
        return await asyncio.to_thread(locked)

    async def enqueue(self, family: Family, build: Callable[[int], msgspec.Struct]) -> int:
        seq = await self.outbox.append(family, build)
        self._wake_sender.set()
        return seq

    async def tick(self) -> None:
        """Read the printer once and queue its events and telemetry."""
        def read() -> tuple[Any, list[JobEventRecord]]:
            now = self._clock()
            return self.backend.poll(now), self.backend.drain_events()
        snapshot, events = await self.call_backend(read)
        for event in events:
            await self.enqueue(Family.JOB, functools.partial(messages.job_event, event=event))
            await self._remember_active_job(event)
            await self.snapshot(reason=f"job_{event.event}", job_id=event.job_id)
        if self._check_interrupted_job:
            self._check_interrupted_job = False
            await self._report_interrupted_job(snapshot.job_id)
        now = self._clock()
        await self.enqueue(Family.TELEMETRY, lambda seq: messages.telemetry(seq, now, snapshot))

    async def _remember_active_job(self, event: JobEventRecord) -> None:
        """Keep the running job durably, to notice one a restart interrupted."""
        if event.event in TERMINAL_EVENTS:
            await self.outbox.set_state(ACTIVE_JOB, None)
        else:
            await self.outbox.set_state(ACTIVE_JOB, json.dumps(
                {"job_id": event.job_id, "file_name": event.file_name, "origin": event.origin,
                 "progress_pct": event.progress_pct}))

    async def _report_interrupted_job(self, current_job_id: str | None) -> None:
        """A job running before the agent stopped and no longer running: the host was lost."""
        raw = await self.outbox.get_state(ACTIVE_JOB)
        if raw is None:
            return
        job = json.loads(raw)
        if job["job_id"] == current_job_id:
            return
        event = JobEventRecord(ts=self._clock(), job_id=job["job_id"], event=JobEventKind.FAILED,
                               file_name=job["file_name"], origin=JobOrigin(job["origin"]),
                               progress_pct=job["progress_pct"],
                               reason="host lost: the agent stopped during the print")
        await self.enqueue(Family.JOB, functools.partial(messages.job_event, event=event))
        await self.outbox.set_state(ACTIVE_JOB, None)

    async def snapshot(self, reason: str, job_id: str | None = None) -> bool:
        """Queue one camera picture; False (and nothing taken) when the camera is off."""
        if not self.camera.enabled:
            return False
        try:
            image, content_type = await asyncio.to_thread(take_snapshot, self.camera)
        except CameraError as error:
            self._error(str(error))
            return False
        await self.enqueue(Family.CAMERA, lambda seq: CameraSnapshot(
            v=SCHEMA_VERSION, ts=self._clock(), seq=seq, reason=reason, image=image,
            content_type=content_type, job_id=job_id))
        return True

    async def heartbeat(self) -> None:
        depth = await self.outbox.depth()
        thinned = await self.outbox.counter("telemetry_thinned_total")
        undeliverable = await self.outbox.counter("undeliverable_total")
        now = self._clock()
        await self.enqueue(Family.HEARTBEAT, lambda seq: messages.heartbeat(
            seq, now, self.timing.heartbeat_interval_s, now - self._started_at, depth, thinned,
            undeliverable))
        await self.downtime.note_alive()

    async def send_facts(self, only_if_changed: bool = False) -> bool:
        """Queue the machine's and printer's facts; with only_if_changed, when they changed."""
        printer = await self.call_backend(self.backend.facts)
        facts = await asyncio.to_thread(messages.facts, 0, 0.0, printer)
        fingerprint = msgspec.json.encode(msgspec.structs.replace(facts, seq=0, ts=0.0))
        if only_if_changed and fingerprint == self._last_facts:
            return False
        self._last_facts = fingerprint
        await self.enqueue(Family.FACTS, lambda seq: msgspec.structs.replace(
            facts, seq=seq, ts=self._clock()))
        return True

    # Loops
    async def _ticker(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.tick()
            except Exception as error:
                self._error(f"reading the printer failed: {error}")
            await asyncio.sleep(max(0.0, self.timing.telemetry_interval_s
                                    - (time.monotonic() - started)))

    async def _heartbeats(self) -> None:
        beats = 0
        while True:
            await self.heartbeat()
            beats += 1
            if beats % FACTS_EVERY_HEARTBEATS == 0 and self.link.state.connected:
                await self.send_facts(only_if_changed=True)  # a new IP, SSID or mesh
            await asyncio.sleep(self.timing.heartbeat_interval_s)

    async def _sender(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake_sender.wait(), timeout=1.0)
            except TimeoutError:
                pass
            self._wake_sender.clear()
            while self.link.state.connected:
                due = await self.outbox.due(SEND_BATCH)
                if not due:
                    break
                for message in due:
                    mid = self.link.publish(message.family, message.payload)
                    if message.family is Family.CAMERA:
                        self._camera_mids[mid] = message.seq
                await self.outbox.mark_sent([m.seq for m in due])
                if len(due) < SEND_BATCH:
                    break

    async def _link_events(self) -> None:
        while True:
            event = await self.link.events.get()
            try:
                await self._on_link_event(event)
            except Exception:
                logger.exception("%s: handling %s failed", self.device_id, event.kind)

    async def _on_link_event(self, event: LinkEvent) -> None:
        if event.kind == "connected":
            await self._on_connected()
        elif event.kind in ("disconnected", "refused"):
            await self._on_link_lost()
        elif event.kind == "message":
            await self._on_message(event.topic, event.payload)
        elif event.kind == "published" and event.mid in self._camera_mids:
            # Camera pictures are may-drop and bulky: the broker's ack releases them.
            seq = self._camera_mids.pop(event.mid)
            await self.outbox.release([(seq, seq)])

    async def _on_connected(self) -> None:
        logger.info("%s connected to %s:%s", self.device_id, self.link.host, self.link.port)
        self.link.publish_presence_online(await self.outbox.allocate_seq())
        self.link.set_will(await self.outbox.allocate_seq())  # for the next connection
        await self.outbox.mark_unsent()  # replay what is unconfirmed, in order
        await self.downtime.close(self._enqueue_downtime)
        await self.send_facts()
        self._wake_sender.set()

    async def _on_link_lost(self) -> None:
        if await self.downtime.is_open():
            return
        diagnosis = await asyncio.to_thread(diagnose, self.link.host, self.link.port,
                                            self.link.state.auth_refused,
                                            self.link.state.tls_error)
        self.last_diagnosis = diagnosis
        step = diagnosis.failing_step
        cause = diagnosis.cause if step is not Step.CONNECTED else None
        await self.downtime.open(cause)
        self._error(f"offline: {diagnosis.detail}")

    async def _enqueue_downtime(self, build: Callable[[int], msgspec.Struct]) -> None:
        await self.enqueue(Family.DOWNTIME, build)

    async def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == self.link.topic(Family.COMMAND):
            asyncio.create_task(self.commands.handle(payload))
        elif topic == self.link.topic(Family.STORED):
            try:
                ack = decode(Family.STORED, payload)
            except PayloadError as error:
                logger.warning("%s: unreadable stored ack: %s", self.device_id, error)
                return
            await self.outbox.release([(first, last) for first, last in ack.ranges])
        elif topic == self.link.topic(Family.WATCH):
            self._camera_watch(payload)

    def _camera_watch(self, payload: bytes) -> None:
        """Someone watches the camera: take live pictures until the watch runs out."""
        try:
            watch = decode(Family.WATCH, payload)
        except PayloadError as error:
            logger.warning("%s: unreadable camera watch: %s", self.device_id, error)
            return
        if not self.camera.enabled:
            logger.debug("%s: camera watch ignored, the camera is disabled", self.device_id)
            return
        # Measured from the server's ts, so a watch that waited in the broker
        # while the device was away does not start pictures nobody is seeing;
        # never longer than watch_s, whatever the two clocks say.
        remaining = min(watch.watch_s, watch.ts + watch.watch_s - self._clock())
        if remaining <= 0:
            logger.info("%s: ignoring a camera watch that ran out before it arrived",
                        self.device_id)
            return
        self.live_view.request(True, watch.interval_s, remaining)

    async def _ack(self, transaction: str, status: AckStatus, data: dict | None,
                   error: str | None) -> None:
        await self.enqueue(Family.ACK, lambda seq: CommandAck(
            v=SCHEMA_VERSION, ts=self._clock(), seq=seq, transaction=transaction, status=status,
            data=data, error=error))

    async def _camera_live(self, args: dict[str, Any]) -> None:
        if not self.camera.enabled:
            raise ValueError("the camera is disabled on this printer")
        self.live_view.request(bool(args.get("enabled", True)), args.get("interval_s"),
                               args.get("duration_s"))

    async def _configure(self, args: dict[str, Any]) -> None:
        unknown = set(args) - {"downtime_logging"}
        if unknown:  # refuse the whole command: nothing half-applied
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        if "downtime_logging" in args:
            if not isinstance(args["downtime_logging"], bool):
                raise ValueError("downtime_logging must be true or false")
            await self.downtime.set_enabled(args["downtime_logging"])

    async def _live_camera(self) -> None:
        while True:
            if not self.live_view.active:
                self.live_view.changed.clear()
                await self.live_view.changed.wait()
                continue
            await self.snapshot(reason="live")
            await asyncio.sleep(self.live_view.interval_s)

    def _error(self, text: str) -> None:
        logger.warning("%s: %s", self.device_id, text)
        self.last_errors = (self.last_errors + [f"{time.strftime('%H:%M:%S')} {text}"])[-5:]
