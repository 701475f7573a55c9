"""A connection-holder process: its share of the fleet, every device on its own connection.

The connections bench starts several and drives them over a pipe:
``connect`` (all at a common start time), ``subscribe`` (extra filters for
the ACL sample), ``publish`` (one message per device, plus forged ones),
``received`` (what the sample devices got), ``status``, ``stop``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from printfleet.limits import raise_open_file_limit
from printfleet_protocol import Family, encode

from .devices import telemetry
from .held_device import HeldDevice
from .processes import CommandReader, memory_mb, quiet_logging

# Devices connected between two turns of the event loop, so CONNACKs are
# read while the rest still connect and their timing stays honest.
CONNECT_BATCH = 25
READY_TIMEOUT_S = 120.0
ACK_TIMEOUT_S = 60.0
ERRORS_KEPT = 5


@dataclass(frozen=True)
class HolderConfig:
    host: str
    port: int
    prefix: str
    devices: tuple[tuple[str, str], ...]  # (device id, password)


@dataclass(frozen=True)
class ConnectResult:
    connected: int
    failed: int
    errors: list[str]  # the first few
    connect_ms: list[float]  # TCP connect to CONNACK, one per connected device
    started_at: float  # wall clock
    last_connack_at: float  # wall clock
    rss_mb: float


def holder_main(conn: Connection, config: HolderConfig) -> None:
    """Process entry point: serve the bench's commands until told to stop."""
    quiet_logging()
    raise_open_file_limit()
    asyncio.run(_serve(conn, config))


async def _serve(conn: Connection, config: HolderConfig) -> None:
    reader = CommandReader(conn)
    holder = Holder(config)
    try:
        while (command := await reader.next())[0] != "stop":
            reader.reply(*await holder.handle(command))
    except Exception as error:  # report it: the bench decides what to do
        reader.reply("error", f"{type(error).__name__}: {error}")
    finally:
        await holder.disconnect()
        reader.close()


class Holder:
    """The devices of one process."""

    def __init__(self, config: HolderConfig) -> None:
        self._config = config
        loop = asyncio.get_running_loop()
        self.devices = {device_id: HeldDevice(device_id, password, config.prefix, loop)
                        for device_id, password in config.devices}
        self._keepalive: asyncio.Task[None] | None = None

    async def handle(self, command: tuple[Any, ...]) -> tuple[Any, ...]:
        kind, *args = command
        if kind == "connect":
            return ("connected", await self.connect(*args))
        if kind == "subscribe":
            return ("subscribed", *await self.subscribe(*args))
        if kind == "publish":
            return ("published", *await self.publish(*args))
        if kind == "received":
            return ("received", self.received(*args))
        if kind == "status":
            return ("status", sum(d.connected for d in self.devices.values()),
                    memory_mb("VmRSS"))
        raise ValueError(f"unknown command {kind!r}")

    async def connect(self, start_at: float) -> ConnectResult:
        """Connect every device at once from `start_at`; wait for CONNACK and SUBACK."""
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started_at = time.time()
        for number, device in enumerate(self.devices.values(), 1):
            device.connect(self._config.host, self._config.port)
            if number % CONNECT_BATCH == 0:
                await asyncio.sleep(0)
        self._keepalive = asyncio.create_task(self._keep_alive())
        readiness = [device.ready for device in self.devices.values()]
        await asyncio.wait(readiness, timeout=READY_TIMEOUT_S)
        errors = [str(f.exception()) if f.done() else "no CONNACK and SUBACK in time"
                  for f in readiness if not f.done() or f.exception() is not None]
        up = [d for d in self.devices.values() if d.connected]
        return ConnectResult(
            connected=len(up), failed=len(errors), errors=errors[:ERRORS_KEPT],
            connect_ms=[d.connect_ms for d in up if d.connect_ms is not None],
            started_at=started_at,
            last_connack_at=max((d.connacked_wall for d in up), default=started_at),
            rss_mb=memory_mb("VmRSS"))

    async def subscribe(self, filters: dict[str, list[str]]) -> tuple[int, int]:
        """Subscribe this holder's devices among `filters`; return (granted, refused) counts."""
        mine = {device_id: topics for device_id, topics in filters.items()
                if device_id in self.devices}
        futures = [self.devices[device_id].subscribe(topics) for device_id, topics in mine.items()]
        refused = await asyncio.wait_for(asyncio.gather(*futures), ACK_TIMEOUT_S)
        total = sum(len(topics) for topics in mine.values())
        return total - sum(refused), sum(refused)

    async def publish(self, forged: dict[str, list[tuple[str, bytes]]]) -> tuple[int, int, int, int]:
        """Every device publishes one telemetry sample on its own topic, plus `forged`.

        Returns (own accepted, own refused, forged accepted, forged refused) as
        the broker's PUBACKs said.
        """
        own = [device.publish(device.topic(Family.TELEMETRY), encode(telemetry(0, time.time())))
               for device in self.devices.values()]
        fakes = [self.devices[device_id].publish(topic, payload)
                 for device_id, messages in forged.items() if device_id in self.devices
                 for topic, payload in messages]
        own_ok = await asyncio.wait_for(asyncio.gather(*own), ACK_TIMEOUT_S)
        fakes_ok = await asyncio.wait_for(asyncio.gather(*fakes), ACK_TIMEOUT_S)
        return (sum(own_ok), len(own_ok) - sum(own_ok), sum(fakes_ok),
                len(fakes_ok) - sum(fakes_ok))

    def received(self, device_ids: list[str]) -> dict[str, list[tuple[str, bytes]]]:
        """What each of these devices has received so far."""
        return {device_id: list(self.devices[device_id].received) for device_id in device_ids
                if device_id in self.devices}

    async def disconnect(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        for device in self.devices.values():
            device.disconnect()
        await asyncio.sleep(0.2)  # let the DISCONNECT packets go out

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for device in self.devices.values():
                device.keep_alive()
