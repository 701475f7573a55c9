"""A load generator process: its share of the simulated devices on one event loop.

The bench starts several and drives them phase by phase over a pipe:
``connect``; ``flood`` (every device as fast as the broker acknowledges);
``steady`` (a fixed aggregate rate, each sample stamped with its publish
time); ``seqs`` (what each device published, for the loss check); ``stop``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from .devices import PhaseSeqs, SimulatedDevice
from .processes import CommandReader, quiet_logging

CONNECT_TIMEOUT_S = 60.0
ACK_DRAIN_TIMEOUT_S = 30.0
STEADY_TICK_S = 0.005


@dataclass(frozen=True)
class GeneratorConfig:
    host: str
    port: int
    prefix: str
    devices: tuple[tuple[str, str], ...]  # (device id, password)


@dataclass(frozen=True)
class PhaseCounts:
    """What one generator saw in one phase."""

    acked: int  # publishes the broker acknowledged
    unacked: int  # publishes it refused or never acknowledged
    last_ack_at: float
    disconnected: int  # devices that lost their connection


def generator_main(conn: Connection, config: GeneratorConfig) -> None:
    """Process entry point: serve the bench's commands until told to stop."""
    quiet_logging()
    asyncio.run(_serve(conn, config))


async def _serve(conn: Connection, config: GeneratorConfig) -> None:
    reader = CommandReader(conn)
    generator = Generator(config)
    try:
        while (command := await reader.next())[0] != "stop":
            reader.reply(*await generator.handle(command))
    except Exception as error:  # report it: the bench decides what to do
        reader.reply("error", f"{type(error).__name__}: {error}")
    finally:
        await generator.disconnect()
        reader.close()


class Generator:
    """The devices of one process."""

    def __init__(self, config: GeneratorConfig) -> None:
        self._config = config
        loop = asyncio.get_running_loop()
        self.devices = [SimulatedDevice(device_id, password, config.prefix, loop)
                        for device_id, password in config.devices]
        self._keepalive: asyncio.Task[None] | None = None

    async def handle(self, command: tuple) -> tuple:
        kind, *args = command
        if kind == "connect":
            await self.connect()
            return ("ready", len(self.devices))
        if kind == "flood":
            return ("done", await self.flood(*args))
        if kind == "steady":
            return ("done", await self.steady(*args))
        if kind == "seqs":
            return ("seqs", self.seqs())
        raise ValueError(f"unknown command {kind!r}")

    async def connect(self) -> None:
        """Connect every device (own credentials) and subscribe it to its stored acks."""
        for number, device in enumerate(self.devices, 1):
            device.connect(self._config.host, self._config.port)
            if number % 50 == 0:
                await asyncio.sleep(0)  # let CONNACKs in while connecting the rest
        await asyncio.wait_for(asyncio.gather(*(d.ready for d in self.devices)),
                               CONNECT_TIMEOUT_S)
        self._keepalive = asyncio.create_task(self._keep_alive())

    async def flood(self, phase: str, start_at: float, seconds: float,
                    outbox_window: int) -> PhaseCounts:
        """Every device publishes as fast as the broker acknowledges, for `seconds`."""
        for device in self.devices:
            device.begin_phase(phase, outbox_window)
        await _sleep_until(start_at)
        for device in self.devices:
            device.flood()
        await _sleep_until(start_at + seconds)
        return await self._finish()

    async def steady(self, phase: str, start_at: float, seconds: float,
                     rate_per_s: float) -> PhaseCounts:
        """Publish `rate_per_s` messages a second in all, taking the devices in turn."""
        for device in self.devices:
            device.begin_phase(phase, 0)
        await _sleep_until(start_at)
        turns = itertools.cycle(self.devices)
        sent = 0
        while (now := time.time()) < start_at + seconds:
            due = int((now - start_at) * rate_per_s) - sent
            for _ in range(due):
                next(turns).publish_one()
            sent += max(due, 0)
            await asyncio.sleep(STEADY_TICK_S)
        return await self._finish()

    def seqs(self) -> dict[str, dict[str, PhaseSeqs]]:
        return {device.device_id: device.phases for device in self.devices}

    async def disconnect(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        for device in self.devices:
            device.disconnect()
        await asyncio.sleep(0.2)  # let the DISCONNECT packets go out

    async def _finish(self) -> PhaseCounts:
        """Stop publishing, wait for the broker's last acks, close the phase."""
        for device in self.devices:
            device.stop_publishing()
        deadline = time.monotonic() + ACK_DRAIN_TIMEOUT_S
        while any(d.inflight for d in self.devices) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for device in self.devices:
            device.end_phase()
        return PhaseCounts(
            acked=sum(d.acked for d in self.devices),
            unacked=sum(len(d.phase.unacked) for d in self.devices if d.phase is not None),
            last_ack_at=max(d.last_ack_at for d in self.devices),
            disconnected=sum(d.disconnected for d in self.devices))

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for device in self.devices:
                device.keep_alive()


async def _sleep_until(wall_time: float) -> None:
    await asyncio.sleep(max(0.0, wall_time - time.time()))
