"""Nothing is lost when a part fails: workers, the broker, the network (small scale for CI).

Devices are real agents with simulated printers reporting fast. Every
message a device queued is accounted for at the end, family by family: it
is stored, or thinned (telemetry), or superseded (heartbeats); none is given
up, and none is stored twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from printfleet_agent.runtime import build_device
from printfleet_agent.settings import PrinterConfig

from ..agent.conftest import agent_settings, eventually, simulated
from ..support import start_broker
from ..tcp_proxy import TcpProxy

DEVICES = 4
# Longer when run by hand (PF_FAULT_RUN_S=60). Not PRINTFLEET_*: the settings
# loader reads those, and the worker processes below inherit this environment.
RUN_S = float(os.environ.get("PF_FAULT_RUN_S", "8"))
TABLE = {"telemetry": "telemetry", "job": "job_events", "heartbeat": "heartbeats",
         "facts": "device_facts", "ack": "command_acks", "downtime": "downtime_reports"}

pytestmark = pytest.mark.timeout(150 + 3 * RUN_S)


async def start_devices(context, store, owner, broker_port=None):
    devices = []
    for n in range(DEVICES):
        device_id = f"load-{n}"
        credentials = context.provisioner(store).provision(device_id, device_id, owner)
        config = PrinterConfig(device_id=device_id, simulated=simulated(
            job_duration_s=3, auto_start_after_s=0.5, seed=n))
        settings = agent_settings(context, [config], broker_port, telemetry_interval_s=0.05,
                                  unconfirmed_resend_s=2)
        device = build_device(settings, config, credentials.password)
        await device.start()
        devices.append(device)
    return devices


async def check_nothing_lost(devices, store, timeout_s: float = 90) -> None:
    """Wait until every outbox is empty, stop the devices, then account for every message."""
    async def empty() -> bool:
        return all([await d.outbox.depth() == 0 for d in devices])

    for device in devices:  # stop producing, keep the links to drain
        for task in device._tasks[2:]:  # noqa: SLF001 - the ticker, heartbeats, camera
            task.cancel()
    deadline = time.monotonic() + timeout_s
    while not await empty():
        assert time.monotonic() < deadline, "outboxes did not drain: messages were not stored"
        await asyncio.sleep(0.2)
    totals = {}
    for device in devices:
        totals[device.device_id] = {f: await device.outbox.counter(f"appended_{f}_total")
                                    for f in TABLE}
        totals[device.device_id]["thinned"] = await device.outbox.counter(
            "telemetry_thinned_total")
        totals[device.device_id]["superseded"] = await device.outbox.counter(
            "heartbeats_superseded_total")
        totals[device.device_id]["undeliverable"] = await device.outbox.counter(
            "undeliverable_total")
    for device in devices:
        await device.stop()
    for device_id, expected in totals.items():
        stored = {family: store.table_rows(table, device_id) for family, table in TABLE.items()}
        seqs = [r["seq"] for rows in stored.values() for r in rows]
        assert len(seqs) == len(set(seqs)), f"{device_id}: a seq stored twice"
        assert expected["undeliverable"] == 0
        assert len(stored["telemetry"]) + expected["thinned"] == expected["telemetry"]
        assert len(stored["heartbeat"]) + expected["superseded"] == expected["heartbeat"]
        for family in ("job", "facts", "ack", "downtime"):
            assert len(stored[family]) == expected[family], f"{device_id}: lost {family}"
        assert expected["telemetry"] > RUN_S * 10, "the devices were really under load"


def worker_process(context, worker_id: str) -> subprocess.Popen[bytes]:
    settings = context.settings
    env = {**os.environ, "PRINTFLEET_DATA_DIR": str(settings.data_path),
           "PRINTFLEET_BROKER__PORT": str(settings.broker.port),
           "PRINTFLEET_BROKER__TOPIC_PREFIX": settings.broker.topic_prefix}
    return subprocess.Popen([sys.executable, "-m", "printfleet", "worker", "--worker-id",
                             worker_id, "--log-level", "WARNING"], env=env)


async def test_workers_killed_repeatedly_under_load_lose_nothing(broker, store, context, owner):
    devices = await start_devices(context, store, owner)
    workers = [worker_process(context, "w0"), worker_process(context, "w1")]
    kills = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < RUN_S:
            await asyncio.sleep(RUN_S / 6)
            victim = workers[kills % 2]
            victim.send_signal(signal.SIGKILL)
            victim.wait(5)
            workers[kills % 2] = worker_process(context, f"w{kills % 2}")  # same id
            kills += 1
        await check_nothing_lost(devices, store)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(10)
    assert kills >= 5


async def test_a_broker_restart_loses_nothing(broker, worker, store, context, owner):
    devices = await start_devices(context, store, owner)
    await asyncio.sleep(RUN_S / 2)
    broker.stop()
    await asyncio.sleep(1)
    restarted = start_broker(context)
    try:
        await asyncio.sleep(RUN_S / 2)
        await check_nothing_lost(devices, store)
    finally:
        restarted.stop()


async def test_a_broker_killed_outright_loses_nothing_the_devices_hold(broker, worker, store,
                                                                       context, owner):
    devices = await start_devices(context, store, owner)
    await asyncio.sleep(RUN_S / 2)
    broker.process.send_signal(signal.SIGKILL)  # no chance to save its queues
    broker.process.wait(5)
    await asyncio.sleep(1)
    restarted = start_broker(context)
    try:
        await asyncio.sleep(RUN_S / 2)
        await check_nothing_lost(devices, store)
    finally:
        restarted.stop()


async def test_a_hundred_network_cuts_lose_nothing(broker, worker, store, context, owner):
    proxy = TcpProxy(broker.port)
    await proxy.start()
    devices = await start_devices(context, store, owner, broker_port=proxy.port)
    try:
        cuts = Counter()
        for _ in range(100):
            await asyncio.sleep(0.08)
            proxy.cut()
            cuts["done"] += 1
        await eventually(lambda: all(d.link.state.connected for d in devices), 60,
                         "every device to reconnect")
        await check_nothing_lost(devices, store)
    finally:
        await proxy.stop()
    assert cuts["done"] == 100
