"""The whole agent on a serial printer: pty emulator -> agent -> Mosquitto -> worker -> SQLite."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from printfleet_agent.bench.emulator import EmulatorOptions, MarlinEmulator
from printfleet_agent.printers.serial import SerialPrinter, SerialPrinterSettings
from printfleet_agent.runtime import build_device
from printfleet_agent.settings import PrinterConfig, SerialConfig
from printfleet_protocol import Family, device_topic

from .conftest import agent_settings, command, eventually
from .file_server import FileServer

pytestmark = pytest.mark.timeout(90)

LINES = 400
GCODE = ("G28\n" + "".join(f"G1 X{n % 200} Y{(n * 7) % 200} E{n * 0.05:.2f}\n"
                           for n in range(LINES))).encode()
# The same part with a dwell every 20 moves: about 4 s, time to pull the cable.
SLOW_GCODE = ("G28\n" + "".join(f"G1 X{n % 200} Y{(n * 7) % 200} E{n * 0.05:.2f}\n"
                                + ("G4 P200\n" if n % 20 == 0 else "")
                                for n in range(LINES))).encode()
FILES = {"/part.gcode": GCODE, "/slow.gcode": SLOW_GCODE}


@pytest.fixture
def gcode_url():
    with FileServer({path: (body, "text/x.gcode") for path, body in FILES.items()}) as server:
        yield server.url


@pytest.fixture
def serial_device(tmp_path, context, store, owner):
    port = tmp_path / "ttyPrinter"
    emulator = MarlinEmulator(port, EmulatorOptions()).start()
    credentials = context.provisioner(store).provision("printer-usb", "USB", owner)
    config = PrinterConfig(device_id="printer-usb", backend="serial",
                           serial=SerialConfig(port=str(port)))
    settings = agent_settings(context, [config])
    backend = SerialPrinter(SerialPrinterSettings(
        port=str(port), boot_wait_s=0.5, handshake_timeout_s=0.3, response_timeout_s=3.0,
        command_timeout_s=3.0, reconnect_initial_s=0.1, reconnect_max_s=0.5))
    device = build_device(settings, config, credentials.password, backend=backend)
    yield device, emulator
    emulator.stop()


def events(store):
    return [(e["event"], e["reason"]) for e in store.table_rows("job_events", "printer-usb")]


async def test_streamed_print_finishes_and_a_pulled_cable_fails_the_next(
        broker, worker, store, context, serial_device, gcode_url):
    device, emulator = serial_device
    fleet = broker.connect_fleet()
    topic = device_topic(broker.prefix, "printer-usb", Family.COMMAND)
    def start_print(transaction: str, path: str) -> bytes:
        body = FILES[path]
        return command(transaction, "start_print", file_name=path[1:], url=gcode_url + path,
                       sha256=hashlib.sha256(body).hexdigest(), size_bytes=len(body))

    await device.start()
    try:
        facts = await eventually(lambda: store.table_rows("device_facts", "printer-usb"), 15,
                                 "facts")
        await asyncio.to_thread(fleet.publish, topic, start_print("t-1", "/part.gcode"))
        await eventually(lambda: any(e == "finished" for e, _ in events(store)), 30, "finish")
        await asyncio.to_thread(fleet.publish, topic, start_print("t-2", "/slow.gcode"))
        await eventually(lambda: sum(e == "started" for e, _ in events(store)) == 2, 15,
                         "the second print")
        await asyncio.sleep(1.0)
        emulator.unplug()
        await eventually(lambda: any(e == "failed" for e, _ in events(store)), 20,
                         "the pulled cable to fail the job")
        emulator.plug()
        await eventually(lambda: device.backend.poll(0).state.value == "idle", 20,
                         "the agent to reconnect to the printer")
    finally:
        await device.stop()
        fleet.close()

    firmware = json.loads(facts[0]["facts_json"])["firmware"]
    assert firmware["name"].startswith("Marlin")
    assert json.loads(facts[0]["facts_json"])["bed_mesh"]["rows"]
    first, second = store.jobs_for_device("printer-usb")
    assert (first.outcome, first.progress_pct, first.command_transaction) == ("finished", 100.0,
                                                                              "t-1")
    assert second.outcome == "failed" and "connection lost" in second.reason
    assert 0 < second.progress_pct < 100
