"""The fault tests' load and accounting: busy devices, worker processes, every message counted.

Devices are real agents with simulated printers reporting fast. Every
message a device queued is accounted for at the end, family by family: it
is stored, or thinned (telemetry), or superseded (heartbeats); none is given
up, and none is stored twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import IO

from printfleet_agent.runtime import build_device
from printfleet_agent.settings import PrinterConfig

from ..agent.conftest import agent_settings, simulated

DEVICES = 4
# Longer when run by hand (PF_FAULT_RUN_S=60). Not PRINTFLEET_*: the settings
# loader reads those, and the worker processes below inherit this environment.
RUN_S = float(os.environ.get("PF_FAULT_RUN_S", "8"))
TABLE = {"telemetry": "telemetry", "job": "job_events", "heartbeat": "heartbeats",
         "facts": "device_facts", "ack": "command_acks", "downtime": "downtime_reports"}


async def start_devices(context, store, owner, broker_port=None):
    devices = []
    for n in range(DEVICES):
        device_id = f"load-{n}"
        # In a thread: the worker shares this event loop, and a SQLite write
        # blocking the loop while the worker's batch holds the lock would wait
        # for a transaction that cannot go on (busy_timeout, then "locked").
        credentials = await asyncio.to_thread(context.provisioner(store).provision, device_id,
                                              device_id, owner)
        config = PrinterConfig(device_id=device_id, simulated=simulated(
            job_duration_s=3, auto_start_after_s=0.5, seed=n))
        settings = agent_settings(context, [config], broker_port, telemetry_interval_s=0.05,
                                  unconfirmed_resend_s=2)
        device = build_device(settings, config, credentials.password)
        await device.start()
        devices.append(device)
    return devices


async def check_nothing_lost(devices, store, timeout_s: float = 90) -> dict[str, int]:
    """Wait until every outbox is empty, stop the devices, account for every message.

    Return the fleet's totals: queued, stored, thinned, superseded, lost, duplicates.
    """
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
    fleet = dict.fromkeys(("queued", "stored", "thinned", "superseded", "undeliverable",
                           "lost", "duplicates"), 0)
    for device_id, expected in totals.items():
        stored = {family: store.table_rows(table, device_id) for family, table in TABLE.items()}
        seqs = [r["seq"] for rows in stored.values() for r in rows]
        fleet["queued"] += sum(expected[f] for f in TABLE)
        fleet["stored"] += len(seqs)
        fleet["duplicates"] += len(seqs) - len(set(seqs))
        for key in ("thinned", "superseded", "undeliverable"):
            fleet[key] += expected[key]
        fleet["lost"] += (sum(expected[f] for f in TABLE) - len(set(seqs))
                          - expected["thinned"] - expected["superseded"])
        assert len(seqs) == len(set(seqs)), f"{device_id}: a seq stored twice"
        assert expected["undeliverable"] == 0
        assert len(stored["telemetry"]) + expected["thinned"] == expected["telemetry"]
        assert len(stored["heartbeat"]) + expected["superseded"] == expected["heartbeat"]
        for family in ("job", "facts", "ack", "downtime"):
            assert len(stored[family]) == expected[family], f"{device_id}: lost {family}"
        assert expected["telemetry"] > RUN_S * 10, "the devices were really under load"
    return fleet


def worker_process(context, worker_id: str, log: IO[bytes] | None = None
                   ) -> subprocess.Popen[bytes]:
    """Start `printfleet worker` on the test's broker and store (warnings to `log`)."""
    settings = context.settings
    env = {**os.environ, "PRINTFLEET_DATA_DIR": str(settings.data_path),
           "PRINTFLEET_BROKER__PORT": str(settings.broker.port),
           "PRINTFLEET_BROKER__LOCAL_PORT": str(settings.broker.local_port),
           "PRINTFLEET_BROKER__TOPIC_PREFIX": settings.broker.topic_prefix,
           "PRINTFLEET_STORAGE__BACKEND": settings.storage.backend,
           "PRINTFLEET_STORAGE__POSTGRES_DSN_ENV": settings.storage.postgres_dsn_env,
           "PRINTFLEET_FLEET__RECEIVE_MAXIMUM": str(settings.fleet.receive_maximum)}
    return subprocess.Popen([sys.executable, "-m", "printfleet", "worker", "--worker-id",
                             worker_id, "--log-level", "WARNING"], env=env, stderr=log)


def report_figures(started: float, fleet: dict[str, int], **extra: object) -> None:
    """Print one JSON line of the run's figures (shown with pytest -rP or -s)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    figures = {"test": test, "duration_s": round(time.monotonic() - started, 1),
               "devices": DEVICES, "run_s": RUN_S, **fleet, **extra}
    print("fault figures:", json.dumps(figures))
