"""Nothing that matters is lost: broker outages, a killed agent, the outbox's bounds."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from printfleet_protocol import Family, device_topic

from ..support import start_broker
from .conftest import command, eventually, simulated

# Several minutes when run by hand (PF_OUTAGE_S=240); short in CI.
OUTAGE_S = float(os.environ.get("PF_OUTAGE_S", "12"))

pytestmark = pytest.mark.timeout(120 + 2 * OUTAGE_S)


async def test_a_print_during_a_broker_outage_reaches_storage_afterwards(
        broker, worker, store, context, make_device):
    device, _ = make_device("printer-outage", telemetry_interval_s=0.05,
                            offline_telemetry_backlog=40, offline_telemetry_interval_s=2,
                            printer={"downtime_logging": True, "simulated": simulated(
                                job_duration_s=OUTAGE_S / 3, auto_start_after_s=OUTAGE_S / 4)})
    # The server keeps the report only with its own switch on, as the user sets it.
    store.set_downtime_logging("printer-outage", True, None, time.time())
    await device.start()
    await eventually(lambda: store.table_rows("device_facts", "printer-outage"), 10, "facts")
    broker.stop()
    down_at = time.time()
    await asyncio.sleep(OUTAGE_S)  # the print starts and finishes in here
    restarted = start_broker(context)
    up_at = time.time()
    try:
        await eventually(lambda: store.table_rows("downtime_reports", "printer-outage"),
                         60 + OUTAGE_S, "the downtime report")
        await eventually(lambda: {"started", "finished"} <= {
            e["event"] for e in store.table_rows("job_events", "printer-outage")}, 30,
            "the job events")
        await eventually(lambda: any(h["telemetry_thinned_total"] > 0 for h in
                                     store.table_rows("heartbeats", "printer-outage")), 30,
                         "a heartbeat reporting the thinned telemetry")
        thinned = await device.outbox.counter("telemetry_thinned_total")
        undeliverable = await device.outbox.counter("undeliverable_total")
    finally:
        await device.stop()
        restarted.stop()

    first_job = store.table_rows("job_events", "printer-outage")[0]["job_id"]
    events = [e for e in store.table_rows("job_events", "printer-outage")
              if e["job_id"] == first_job]
    assert [e["event"] for e in events] == ["started", "finished"]
    assert all(down_at < e["ts"] < up_at for e in events), "the print ran during the outage"
    (downtime,) = store.table_rows("downtime_reports", "printer-outage")
    assert downtime["cause"] == "broker"
    assert down_at - 1 < downtime["started_at"] < down_at + 5
    assert up_at - 1 < downtime["ended_at"] < up_at + 60
    assert thinned > 0 and undeliverable == 0
    during = [t for t in store.table_rows("telemetry", "printer-outage")
              if down_at + 1 < t["ts"] < up_at - 1]
    sampled = (OUTAGE_S - 2) / 0.05
    assert 0 < len(during) < sampled, "telemetry was thinned, not all kept and not all lost"


def outbox_rows(path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT seq, family, must_deliver FROM outbox ORDER BY seq").fetchall()


async def test_sigkill_mid_print_loses_and_duplicates_no_must_deliver_message(
        broker, worker, store, context, owner, make_device):
    _, settings = make_device("printer-crash")
    config = context.settings.data_path / "agent.toml"
    config.write_text(
        f'data_dir = "{settings.data_dir}"\ntelemetry_interval_s = 0.2\n'
        f"heartbeat_interval_s = 1\n[broker]\nport = {broker.port}\n"
        f'tls_ca_file = "{broker.ca_file}"\n'
        f'topic_prefix = "{broker.prefix}"\n[[printers]]\ndevice_id = "printer-crash"\n'
        f"[printers.simulated]\njob_duration_s = 60\nauto_start_after_s = 0.5\n"
        f"fail_probability = 0\nheater_time_constant_s = 0.2\n")
    agent = [sys.executable, "-m", "printfleet_agent.cli", "--config", str(config)]
    process = subprocess.Popen(agent, env={**os.environ})
    fleet = broker.connect_fleet()
    cmd_topic = device_topic(broker.prefix, "printer-crash", Family.COMMAND)
    try:
        await eventually(lambda: store.table_rows("job_events", "printer-crash"), 15, "started")
        await worker.stop()  # from here on nothing is confirmed to the device
        for n in range(3):
            await asyncio.to_thread(fleet.publish, cmd_topic, command(f"t-{n}", "send_gcode",
                                                                      lines=["M105"]))
        outbox = settings.device_dir("printer-crash") / "outbox.sqlite3"
        await eventually(lambda: sum(1 for r in outbox_rows(outbox) if r[1] == "ack") >= 6, 15,
                         "six unconfirmed acks in the outbox")
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        pending_must = [r for r in outbox_rows(outbox) if r[2]]
        await worker.start()
        process = subprocess.Popen(agent, env={**os.environ})
        await eventually(lambda: any(e["event"] == "failed" for e in
                                     store.table_rows("job_events", "printer-crash")), 30,
                         "the interrupted job to be reported")
        await eventually(lambda: len(store.table_rows("command_acks", "printer-crash")) == 6, 30,
                         "all six acks")
    finally:
        fleet.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)

    assert {r[1] for r in pending_must} >= {"ack"}
    stored_seqs = {r["seq"] for table in ("job_events", "command_acks", "device_facts")
                   for r in store.table_rows(table, "printer-crash")}
    assert {r[0] for r in pending_must} <= stored_seqs, "a must-deliver message was lost"
    acks = collections.Counter((r["transaction_id"], r["status"])
                               for r in store.table_rows("command_acks", "printer-crash"))
    assert set(acks.values()) == {1} and len(acks) == 6
    events = collections.Counter((e["job_id"], e["event"])
                                 for e in store.table_rows("job_events", "printer-crash"))
    assert set(events.values()) == {1}, f"duplicated job events: {events}"
    failed = [e for e in store.table_rows("job_events", "printer-crash") if e["event"] == "failed"]
    assert "host lost" in failed[0]["reason"]


async def test_status_names_the_broken_link_when_the_broker_is_unreachable(store, context,
                                                                          make_device):
    from printfleet_agent.status import device_status, render

    from ..support import free_port

    device, _ = make_device("printer-lonely", broker_port=free_port(),
                            printer={"downtime_logging": True})
    await device.start()
    try:
        await eventually(lambda: device.last_diagnosis is not None, 15, "a diagnosis")
        report = await device_status(device)
        downtime_open = await device.downtime.is_open()
    finally:
        await device.stop()
    assert report["connectivity"]["failing_step"] == "broker"
    assert downtime_open, "an agent that starts offline records downtime too"
    text = render({"written_at": 0, "pid": 1, "devices": [report]}, now=1)
    assert "printer-lonely: OFFLINE (network ok → broker DOWN:" in text
    assert "refused the connection" in text
