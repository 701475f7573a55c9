"""The agent end to end: simulated printer -> real Mosquitto -> fleet worker -> SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from printfleet import scheduler
from printfleet_protocol import Family, device_topic

from ..tcp_proxy import TcpProxy
from .conftest import command, eventually

pytestmark = pytest.mark.timeout(90)


def acks(store, device_id):
    return [(r["transaction_id"], r["status"]) for r in store.table_rows("command_acks", device_id)]


async def test_a_print_is_stored_and_commands_are_acknowledged(broker, worker, store, context,
                                                               owner, make_device):
    device, _ = make_device()
    await device.start()
    fleet = broker.connect_fleet()
    cmd_topic = device_topic(broker.prefix, "printer-sim", Family.COMMAND)

    async def send(payload: bytes) -> None:
        await asyncio.to_thread(fleet.publish, cmd_topic, payload)

    try:
        await eventually(lambda: store.table_rows("device_facts", "printer-sim"), 10, "facts")
        await send(command("t-start", "start_print", file_name="cube.gcode"))
        await eventually(lambda: ("t-start", "finished") in acks(store, "printer-sim"), 10,
                         "start ack")
        await send(command("t-pause", "pause"))
        await send(command("t-pause", "pause"))  # a duplicate: ignored
        await send(command("t-old", "resume", expires_in_s=-1))
        await eventually(lambda: ("t-old", "rejected") in acks(store, "printer-sim"), 10,
                         "the expired command's refusal")
        await send(command("t-resume", "resume"))
        await send(command("t-resume-again", "resume"))
        await eventually(lambda: ("t-resume-again", "failed") in acks(store, "printer-sim"), 10,
                         "a refused resume")
        await eventually(lambda: any(e["event"] == "finished" for e in
                                     store.table_rows("job_events", "printer-sim")), 30, "finish")
        # Every message is confirmed by the fleet, so the outbox drains.
        await eventually(lambda: True, 0, "")
        for _ in range(100):
            if await device.outbox.depth() <= 2:  # the newest telemetry may be in flight
                break
            await asyncio.sleep(0.1)
        depth = await device.outbox.depth()
    finally:
        await device.stop()
        fleet.close()

    events = store.table_rows("job_events", "printer-sim")
    assert [e["event"] for e in events] == ["started", "paused", "resumed", "finished"]
    assert events[0]["command_transaction"] == "t-start"
    assert events[-1]["progress_pct"] == 100.0
    assert [a for a in acks(store, "printer-sim") if a[0] == "t-pause"] == [
        ("t-pause", "accepted"), ("t-pause", "finished")]
    assert any(row["printer_state"] == "printing"
               for row in store.table_rows("telemetry", "printer-sim"))
    assert depth <= 2, f"the outbox kept {depth} confirmed messages"
    (job,) = store.jobs_for_device("printer-sim")
    assert (job.outcome, job.pause_count, job.progress_pct) == ("finished", 1, 100.0)
    assert job.started_at < job.ended_at and job.paused_s > 0
    assert job.command_transaction == "t-start" and job.origin == "printfleet"
    await eventually(lambda: store.printers_for_user(owner)[0].presence == "stopped", 10,
                     "a clean shutdown to say so")


async def test_killed_agent_goes_offline_by_last_will(broker, worker, store, context, owner,
                                                      make_device):
    _, settings = make_device("printer-kill")
    store.set_downtime_logging("printer-kill", True, owner, time.time())  # presence history
    config = context.settings.data_path / "agent.toml"
    printer = settings.printers[0]
    config.write_text(
        f'data_dir = "{settings.data_dir}"\ntelemetry_interval_s = 0.2\n'
        f"heartbeat_interval_s = 60\n[broker]\nport = {broker.port}\n"
        f'tls_ca_file = "{broker.ca_file}"\n'
        f'topic_prefix = "{broker.prefix}"\n[[printers]]\ndevice_id = "{printer.device_id}"\n')
    process = subprocess.Popen([sys.executable, "-m", "printfleet_agent.cli", "--config",
                                str(config)], env={**os.environ})
    try:
        await eventually(lambda: [p for p in store.printers_for_user(owner)
                                  if p.presence == "online"], 15, "the agent to come online")
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        # The kernel closes a killed process's socket, so Mosquitto publishes the
        # last will at once (it would otherwise wait 1.5 x keepalive).
        await eventually(lambda: [p for p in store.printers_for_user(owner)
                                  if p.presence == "offline"], 15, "the last will")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    events = sorted(store.table_rows("presence_events", "printer-kill"),
                    key=lambda e: e["received_at"])
    assert [e["status"] for e in events] == ["online", "offline"]


async def test_silent_device_is_marked_offline_by_the_watchdog(broker, worker, store, owner,
                                                               make_device):
    proxy = TcpProxy(broker.port)
    await proxy.start()
    device, _ = make_device("printer-quiet", broker_port=proxy.port)
    store.set_downtime_logging("printer-quiet", True, owner, time.time())  # presence history
    await device.start()
    try:
        await eventually(lambda: store.printers_for_user(owner)[0].presence == "online", 10,
                         "online")
        # The network stalls without closing the connection: no last will for
        # 1.5 x keepalive (45 s), but the watchdog needs only 1.5 heartbeats.
        proxy.freeze()
        silent_since = time.time()
        offline = await eventually(lambda: scheduler.check_presence(store, 1.5), 10,
                                   "the watchdog")
        marked_at = time.time()
    finally:
        proxy.thaw()
        await device.stop()
        await proxy.stop()
    assert offline == ["printer-quiet"]
    assert marked_at - silent_since <= 1.5 * 1.0 + 1.0
    sources = [e["source"] for e in store.table_rows("presence_events", "printer-quiet")]
    assert "watchdog" in sources


async def test_facts_are_sent_on_connect_and_again_only_when_they_change(broker, worker, store,
                                                                        make_device):
    device, _ = make_device("printer-facts")
    await device.start()
    try:
        await eventually(lambda: store.table_rows("device_facts", "printer-facts"), 10, "facts")
        unchanged = await device.send_facts(only_if_changed=True)
        # The printer is re-flashed: its firmware reports another version.
        device.backend.firmware_version = "2.0"
        changed = await device.send_facts(only_if_changed=True)
        await eventually(lambda: len(store.table_rows("device_facts", "printer-facts")) == 2, 10,
                         "the changed facts")
    finally:
        await device.stop()
    assert (unchanged, changed) == (False, True)
    latest = json.loads(store.table_rows("device_facts", "printer-facts")[-1]["facts_json"])
    assert latest["firmware"]["version"] == "2.0"
