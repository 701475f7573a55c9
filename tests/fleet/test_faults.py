"""Nothing is lost when a part fails: workers, the broker, the network (small scale for CI).

The load and the accounting are in fault_load.py; PF_FAULT_RUN_S=60 runs
each test at full scale.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest

from ..agent.conftest import eventually
from ..support import start_broker
from ..tcp_proxy import TcpProxy
from .fault_load import RUN_S, check_nothing_lost, report_figures, start_devices, worker_process

pytestmark = pytest.mark.timeout(150 + 3 * RUN_S)


async def test_workers_killed_repeatedly_under_load_lose_nothing(broker, store, context, owner):
    started = time.monotonic()
    devices = await start_devices(context, store, owner)
    workers = [worker_process(context, "w0"), worker_process(context, "w1")]
    kills = 0
    try:
        killing_since = time.monotonic()
        while time.monotonic() - killing_since < RUN_S:
            await asyncio.sleep(RUN_S / 6)
            victim = workers[kills % 2]
            victim.send_signal(signal.SIGKILL)
            victim.wait(5)
            workers[kills % 2] = worker_process(context, f"w{kills % 2}")  # same id
            kills += 1
        fleet = await check_nothing_lost(devices, store)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(10)
    assert kills >= 5
    report_figures(started, fleet, worker_kills=kills)


async def test_a_broker_restart_loses_nothing(broker, worker, store, context, owner):
    started = time.monotonic()
    devices = await start_devices(context, store, owner)
    await asyncio.sleep(RUN_S / 2)
    broker.stop()
    await asyncio.sleep(1)
    restarted = start_broker(context)
    try:
        await asyncio.sleep(RUN_S / 2)
        fleet = await check_nothing_lost(devices, store)
    finally:
        restarted.stop()
    report_figures(started, fleet)


async def test_a_broker_killed_outright_loses_nothing_the_devices_hold(broker, worker, store,
                                                                       context, owner):
    started = time.monotonic()
    devices = await start_devices(context, store, owner)
    await asyncio.sleep(RUN_S / 2)
    broker.process.send_signal(signal.SIGKILL)  # no chance to save its queues
    broker.process.wait(5)
    await asyncio.sleep(1)
    restarted = start_broker(context)
    try:
        await asyncio.sleep(RUN_S / 2)
        fleet = await check_nothing_lost(devices, store)
    finally:
        restarted.stop()
    report_figures(started, fleet)


async def test_a_hundred_network_cuts_lose_nothing(broker, worker, store, context, owner):
    started = time.monotonic()
    proxy = TcpProxy(broker.port)
    await proxy.start()
    devices = await start_devices(context, store, owner, broker_port=proxy.port)
    try:
        cuts = Counter()
        for _ in range(100):
            await asyncio.sleep(RUN_S / 100)  # the cuts spread over the run
            proxy.cut()
            cuts["done"] += 1
        await eventually(lambda: all(d.link.state.connected for d in devices), 60,
                         "every device to reconnect")
        fleet = await check_nothing_lost(devices, store)
    finally:
        await proxy.stop()
    assert cuts["done"] == 100
    report_figures(started, fleet, network_cuts=cuts["done"])
