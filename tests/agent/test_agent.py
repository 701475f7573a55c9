"""The agent end to end: simulated printer -> real Mosquitto -> fleet worker -> SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import msgspec
import pytest

from fleet.worker import FleetWorker
from printfleet import scheduler
from printfleet_agent.runtime import build_agent
from printfleet_agent.sequence import SequenceCounter
from printfleet_agent.settings import AgentSettings, BrokerSettings
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, Command
from storage import open_ingest_store

from ..support import connect_client, wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def worker(broker, context):
    """A fleet worker on its own thread and event loop, as in production."""
    import asyncio

    loop = asyncio.new_event_loop()
    running = FleetWorker(context.settings, open_ingest_store(context.settings),
                          context.fleet_password)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(running.start(), loop).result(15)
    yield running
    asyncio.run_coroutine_threadsafe(running.stop(), loop).result(15)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def agent_settings(context, device_id: str, password_file, **printer) -> AgentSettings:
    settings = AgentSettings(
        device_id=device_id, data_dir=str(context.settings.data_path / "agents"),
        telemetry_interval_s=0.2, heartbeat_interval_s=1.0,
        broker=BrokerSettings(port=context.settings.broker.port,
                              topic_prefix=context.settings.broker.topic_prefix,
                              password_file=str(password_file)))
    simulated = msgspec.structs.replace(settings.printer.simulated, **printer)
    return msgspec.structs.replace(
        settings, printer=msgspec.structs.replace(settings.printer, simulated=simulated))


@pytest.fixture
def owner(store):
    return store.create_user(f"{uuid.uuid4().hex[:8]}@example.com", "x")


def provision(context, store, owner, device_id="printer-sim"):
    credentials = context.provisioner(store).provision(device_id, "Sim", owner)
    password_file = context.settings.data_path / f"{device_id}.password"
    password_file.write_text(credentials.password)
    return credentials, password_file


def command(transaction: str, kind: str, expires_in_s: float = 30, **args) -> bytes:
    return msgspec.json.encode(Command(v=SCHEMA_VERSION, ts=time.time(), transaction=transaction,
                                       kind=kind, expires_at=time.time() + expires_in_s,
                                       args=args))


def acks(store, device_id):
    return [(r["transaction_id"], r["status"]) for r in store.table_rows("command_acks", device_id)]


def test_simulated_print_is_stored_and_commands_are_acknowledged(broker, worker, store, context,
                                                                 owner):
    credentials, password_file = provision(context, store, owner)
    settings = agent_settings(context, "printer-sim", password_file, job_duration_s=3,
                              auto_start_after_s=0, fail_probability=0,
                              heater_time_constant_s=0.2)
    agent = build_agent(settings, credentials.password)
    stop = threading.Event()
    agent.start()
    ticker = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    ticker.start()
    fleet = connect_client(broker.port, "fleet", context.fleet_password)
    cmd_topic = device_topic(broker.prefix, "printer-sim", Family.COMMAND)
    try:
        assert agent.link.wait_connected(10)
        wait_until(lambda: store.table_rows("device_facts", "printer-sim"), 10, "facts")
        fleet.publish(cmd_topic, command("t-start", "start_print", file_name="cube.gcode"))
        wait_until(lambda: ("t-start", "finished") in acks(store, "printer-sim"), 10, "start ack")
        fleet.publish(cmd_topic, command("t-pause", "pause"))
        fleet.publish(cmd_topic, command("t-pause", "pause"))  # a duplicate: ignored
        fleet.publish(cmd_topic, command("t-old", "resume", expires_in_s=-1))
        wait_until(lambda: ("t-old", "rejected") in acks(store, "printer-sim"), 10, "expiry")
        fleet.publish(cmd_topic, command("t-resume", "resume"))
        fleet.publish(cmd_topic, command("t-resume-again", "resume"))
        wait_until(lambda: ("t-resume-again", "failed") in acks(store, "printer-sim"), 10,
                   "a refused resume")
        events = wait_until(
            lambda: [e for e in store.table_rows("job_events", "printer-sim")
                     if e["event"] == "finished"] and store.table_rows("job_events", "printer-sim"),
            30, "the job to finish")
    finally:
        stop.set()
        ticker.join(5)
        agent.stop()
        fleet.close()

    assert [e["event"] for e in events] == ["started", "paused", "resumed", "finished"]
    assert events[0]["command_transaction"] == "t-start"
    assert events[-1]["progress_pct"] == 100.0
    assert [a for a in acks(store, "printer-sim") if a[0] == "t-pause"] == [
        ("t-pause", "accepted"), ("t-pause", "finished")]
    telemetry = store.table_rows("telemetry", "printer-sim")
    assert any(row["printer_state"] == "printing" for row in telemetry)
    seqs = [row["seq"] for family in ("telemetry", "job_events", "heartbeats", "command_acks")
            for row in store.table_rows(family, "printer-sim")]
    assert len(seqs) == len(set(seqs)), "sequence numbers are unique across families"
    # A clean shutdown says so (and is not mistaken for a lost device).
    wait_until(lambda: store.printers_for_user(owner)[0].presence == "stopped", 10, "stopped")


def test_sequence_numbers_survive_a_restart(tmp_path):
    counter = SequenceCounter(tmp_path / "seq.sqlite3")
    counter.open()
    first = [counter.next() for _ in range(5)]
    counter.close()
    reopened = SequenceCounter(tmp_path / "seq.sqlite3")
    reopened.open()
    later = reopened.next()
    reopened.close()
    assert first == [0, 1, 2, 3, 4]
    assert later > first[-1]


def test_killed_agent_goes_offline_by_last_will(broker, worker, store, context, owner):
    credentials, password_file = provision(context, store, owner, "printer-kill")
    config = context.settings.data_path / "agent.toml"
    config.write_text(
        f'device_id = "printer-kill"\ndata_dir = "{context.settings.data_path / "agents"}"\n'
        f"telemetry_interval_s = 0.2\nheartbeat_interval_s = 60\n[broker]\n"
        f"port = {broker.port}\ntopic_prefix = \"{broker.prefix}\"\n"
        f'password_file = "{password_file}"\n')
    process = subprocess.Popen([sys.executable, "-m", "printfleet_agent.cli", "--config",
                                str(config)], env={**os.environ})
    try:
        wait_until(lambda: [p for p in store.printers_for_user(owner) if p.presence == "online"],
                   15, "the agent to come online")
        process.send_signal(signal.SIGKILL)
        process.wait(5)
        # The kernel closes a killed process's socket, so Mosquitto publishes the
        # last will at once (it would otherwise wait 1.5 x keepalive).
        wait_until(lambda: [p for p in store.printers_for_user(owner) if p.presence == "offline"],
                   15, "the last will to mark it offline")
    finally:
        if process.poll() is None:
            process.kill()
    # The will's seq was taken at connect time: the newest event is the one received last.
    events = sorted(store.table_rows("presence_events", "printer-kill"),
                    key=lambda e: e["received_at"])
    assert [e["status"] for e in events] == ["online", "offline"]
    assert events[-1]["seq"] < events[0]["seq"]


def test_silent_device_is_marked_offline_by_the_watchdog(broker, worker, store, context, owner):
    credentials, password_file = provision(context, store, owner, "printer-quiet")
    settings = agent_settings(context, "printer-quiet", password_file, auto_start_after_s=0)
    agent = build_agent(settings, credentials.password)
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        agent.tick()  # one heartbeat announcing a 1 s interval, then silence
        wait_until(lambda: store.printers_for_user(owner)[0].presence == "online", 10, "online")
        silent_since = store.printers_for_user(owner)[0].last_seen_at
        offline = wait_until(lambda: scheduler.check_presence(store, 1.5), 10, "the watchdog")
        marked_at = time.time()
    finally:
        agent.stop()
    assert offline == ["printer-quiet"]
    assert marked_at - silent_since <= 1.5 * 1.0 + 0.5
    sources = [e["source"] for e in store.table_rows("presence_events", "printer-quiet")]
    assert "watchdog" in sources
