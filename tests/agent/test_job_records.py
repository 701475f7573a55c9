"""Job records end to end: a command issued for a user through Printfleet's command path
(device_commands), a real agent over the real broker, a fleet worker, the store.

The job record names the user who started the print, and the slicer and filament
the agent read from the file it was sent.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from pathlib import Path

import pytest

from printfleet.device_commands import CommandError, MqttPublisher, fleet_publisher, issue_command
from printfleet_agent.bench.emulator import EmulatorOptions, MarlinEmulator
from printfleet_agent.printers.serial import SerialPrinter, SerialPrinterSettings
from printfleet_agent.runtime import build_device
from printfleet_agent.settings import PrinterConfig, SerialConfig
from printfleet_gcode import extruded_mm

from .conftest import agent_settings, eventually
from .file_server import FileServer

pytestmark = pytest.mark.timeout(120)

SLICED = Path(__file__).parents[1] / "gcode" / "files"


def real_file(name: str) -> bytes:
    return gzip.decompress((SLICED / name).read_bytes())


@pytest.fixture
def publisher(broker, context):
    running = fleet_publisher(context)
    yield running
    running.close()


def finished(store, device_id: str, count: int = 1):
    jobs = store.jobs_for_device(device_id)
    return len(jobs) == count and all(job.outcome for job in jobs) and jobs


async def test_a_print_started_for_a_user_names_that_user(broker, worker, store, context,
                                                           make_device, publisher, owner):
    device, _ = make_device("printer-sim")
    other_user = store.create_user("someone-else@example.com", "x")
    await device.start()
    try:
        await eventually(lambda: device.link.state.connected, 10, "the agent to connect")
        # In a thread: a sync store call waiting for SQLite's write lock on
        # the event loop's thread would stall the worker that holds it.
        issued = await asyncio.to_thread(
            issue_command, store, publisher, broker.prefix, "printer-sim", "start_print",
            {"file_name": "gear.gcode"}, user_id=other_user)
        (job,) = await eventually(lambda: finished(store, "printer-sim"), 30, "the print")
    finally:
        await device.stop()
    assert store.issued_command(issued.transaction_id) == issued
    assert (job.command_transaction, job.started_by_user_id) == (issued.transaction_id, other_user)
    assert (job.origin, job.outcome, job.file_name) == ("printfleet", "finished", "gear.gcode")
    assert job.filament_used_mm and job.filament_used_mm > 0  # the simulator measures its own


def test_a_command_for_an_unknown_device_or_of_an_unknown_kind_is_refused(broker, store,
                                                                          publisher, owner):
    with pytest.raises(CommandError, match="no active device"):
        issue_command(store, publisher, broker.prefix, "nobody-here", "pause", user_id=owner)
    with pytest.raises(CommandError, match="unknown command kind"):
        issue_command(store, publisher, broker.prefix, "nobody-here", "explode", user_id=owner)
    with pytest.raises(CommandError, match="invalid"):
        store.add_device("printer-x", "X", owner, "$7$x")
        issue_command(store, publisher, broker.prefix, "printer-x", "send_gcode",
                      {"lines": [object()]}, user_id=owner)  # not JSON
    assert store.command_issuers("printer-x") == {}


def test_a_publisher_without_a_broker_says_so(store, owner):
    from ..support import free_port

    store.add_device("printer-y", "Y", owner, "$7$y")
    unreachable = MqttPublisher("127.0.0.1", free_port(), "fleet", "x", timeout_s=0.5)
    try:
        with pytest.raises(CommandError, match="cannot reach the MQTT broker"):
            issue_command(store, unreachable, "pf", "printer-y", "pause", user_id=owner)
    finally:
        unreachable.close()


@pytest.fixture
def serial_device(tmp_path, context, store, owner):
    port = tmp_path / "ttyPrinter"
    emulator = MarlinEmulator(port, EmulatorOptions()).start()
    credentials = context.provisioner(store).provision("printer-usb", "USB", owner)
    config = PrinterConfig(device_id="printer-usb", backend="serial",
                           serial=SerialConfig(port=str(port)))
    backend = SerialPrinter(SerialPrinterSettings(
        port=str(port), boot_wait_s=0.5, handshake_timeout_s=0.3, response_timeout_s=3.0,
        command_timeout_s=3.0, reconnect_initial_s=0.1, reconnect_max_s=0.5))
    device = build_device(agent_settings(context, [config]), config, credentials.password,
                          backend=backend)
    yield device
    emulator.stop()


async def test_a_streamed_file_reports_its_slicer_and_the_filament_it_pushed(
        broker, worker, store, serial_device, publisher, owner):
    prusa = real_file("prusaslicer-2.5.0-cube.gcode.gz")
    cura = real_file("curaengine-4.13.0-cube.gcode.gz")
    routes = {"/cube-prusa.gcode": (prusa, "text/x.gcode"),
              "/cube-cura.gcode": (cura, "text/x.gcode")}

    async def start(server: FileServer, path: str) -> str:
        body = routes[path][0]
        issued = await asyncio.to_thread(
            issue_command, store, publisher, broker.prefix, "printer-usb", "start_print",
            {"file_name": path[1:], "url": server.url + path,
             "sha256": hashlib.sha256(body).hexdigest(), "size_bytes": len(body)},
            user_id=owner)
        return issued.transaction_id

    await serial_device.start()
    try:
        with FileServer(routes) as server:
            await eventually(lambda: serial_device.printer_connected, 15, "the printer")
            # The printer is connected before the broker link starts: a command
            # sent before the agent has subscribed would find nobody.
            await eventually(lambda: serial_device.link.state.connected, 15, "the broker")
            first = await start(server, "/cube-prusa.gcode")
            await eventually(lambda: finished(store, "printer-usb", 1), 60, "the first print")
            second = await start(server, "/cube-cura.gcode")
            await eventually(lambda: finished(store, "printer-usb", 2), 60, "the second print")
    finally:
        await serial_device.stop()

    prusa_job, cura_job = store.jobs_for_device("printer-usb")
    assert (prusa_job.command_transaction, cura_job.command_transaction) == (first, second)
    assert prusa_job.started_by_user_id == cura_job.started_by_user_id == owner
    # Every line was acknowledged, so the filament is all the file's E moves add up to.
    assert (prusa_job.slicer, prusa_job.slicer_version) == ("PrusaSlicer", "2.5.0")
    assert prusa_job.filament_used_mm == extruded_mm(prusa.decode().splitlines())
    # Grams by the weight PrusaSlicer states: 1.27 g for 426.99 mm.
    assert prusa_job.filament_used_g == pytest.approx(prusa_job.filament_used_mm * 1.27 / 426.99,
                                                      abs=0.01)
    assert (cura_job.slicer, cura_job.slicer_version) == ("Cura", "4.13.0")
    assert cura_job.filament_used_mm == extruded_mm(cura.decode().splitlines())
    assert cura_job.filament_used_g is None  # Cura states no weight
