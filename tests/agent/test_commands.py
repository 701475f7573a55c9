"""Commands that reach outside the printer: downloads, camera, configuration; several printers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys

import pytest

from printfleet_agent.runtime import build_devices, run_devices
from printfleet_agent.settings import CameraConfig, PrinterConfig
from printfleet_protocol import Family, decode, device_topic

from .conftest import agent_settings, command, eventually, simulated
from .file_server import FileServer

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8\xff\xe0" + b"printfleet-test-picture" * 20 + b"\xff\xd9"
GCODE = b"; a tiny print\nG28\nG1 X10 Y10 Z0.2 F3000\nG1 X20 E1\nM84\n"


ROUTES = {"/snapshot.jpg": (JPEG, "image/jpeg"),
          "/huge.jpg": (b"\xff" * 300_000, "image/jpeg"),
          "/files/cube.gcode": (GCODE, "text/x.gcode")}


@pytest.fixture
def files():
    with FileServer(ROUTES) as server:
        yield server


@pytest.fixture
def fleet(broker, context):
    client = broker.connect_fleet()
    client.subscribe(f"{broker.prefix}/#")
    yield client
    client.close()


def acks(store, device_id):
    return [(r["transaction_id"], r["status"], r["error"])
            for r in store.table_rows("command_acks", device_id)]


def camera_messages(fleet, device_id, prefix):
    topic = device_topic(prefix, device_id, Family.CAMERA)
    with fleet.lock:
        return [decode(Family.CAMERA, m.payload) for m in fleet.messages if m.topic == topic]


async def send(fleet, broker, device_id, payload):
    await asyncio.to_thread(fleet.publish, device_topic(broker.prefix, device_id, Family.COMMAND),
                            payload)


async def test_a_print_file_is_downloaded_verified_and_started(broker, worker, store, fleet,
                                                               files, make_device):
    device, _ = make_device("printer-dl")
    await device.start()
    digest = hashlib.sha256(GCODE).hexdigest()
    url = f"{files.url}/files/cube.gcode"
    try:
        await eventually(lambda: device.link.state.subscribed, 10, "subscriptions")
        await send(fleet, broker, "printer-dl", command(
            "t-bad", "start_print", file_name="cube.gcode", url=url, sha256="0" * 64,
            size_bytes=len(GCODE)))
        await send(fleet, broker, "printer-dl", command(
            "t-big", "start_print", file_name="cube.gcode", url=url, sha256=digest,
            size_bytes=10**12))
        await send(fleet, broker, "printer-dl", command(
            "t-file", "start_print", file_name="cube.gcode", url="file:///etc/passwd",
            sha256=digest, size_bytes=10))
        await send(fleet, broker, "printer-dl", command(
            "t-good", "start_print", file_name="cube.gcode", url=url, sha256=digest,
            size_bytes=len(GCODE)))
        await eventually(lambda: ("t-good", "finished", None) in acks(store, "printer-dl"), 10,
                         "the good start")
        await eventually(lambda: store.table_rows("job_events", "printer-dl"), 10, "started")
    finally:
        await device.stop()
    failed = {t: e for t, status, e in acks(store, "printer-dl") if status == "failed"}
    assert "integrity check failed" in failed["t-bad"]
    assert "exceeds the limit" in failed["t-big"]
    assert "only http(s)" in failed["t-file"]
    started = [e for e in store.table_rows("job_events", "printer-dl") if e["event"] == "started"]
    assert started[0]["command_transaction"] == "t-good"
    assert started[0]["origin"] == "printfleet"


async def test_camera_pictures_at_job_events_and_live_view_on_request(broker, worker, store,
                                                                      fleet, files, make_device):
    camera = CameraConfig(enabled=True, snapshot_url=f"{files.url}/snapshot.jpg",
                          live_interval_s=0.5)
    device, _ = make_device("printer-cam", printer={"camera": camera})
    await device.start()
    try:
        await eventually(lambda: device.link.state.subscribed, 10, "subscriptions")
        await send(fleet, broker, "printer-cam", command("t-start", "start_print",
                                                         file_name="cube.gcode"))
        await eventually(lambda: [m for m in camera_messages(fleet, "printer-cam", broker.prefix)
                                  if m.reason == "job_started"], 10, "the job-start picture")
        await send(fleet, broker, "printer-cam", command("t-live", "camera_live", enabled=True,
                                                         interval_s=0.5, duration_s=30))
        await eventually(lambda: len([m for m in camera_messages(fleet, "printer-cam",
                                                                 broker.prefix)
                                      if m.reason == "live"]) >= 3, 10, "live pictures")
        await send(fleet, broker, "printer-cam", command("t-stop", "camera_live", enabled=False))
        await eventually(lambda: ("t-stop", "finished", None) in acks(store, "printer-cam"), 10,
                         "the stop ack")
        await asyncio.sleep(0.7)  # a picture already being taken may still arrive
        live_after_stop = len(camera_messages(fleet, "printer-cam", broker.prefix))
        await asyncio.sleep(1.5)
        final = camera_messages(fleet, "printer-cam", broker.prefix)
    finally:
        await device.stop()
    assert len(final) == live_after_stop, "live view stopped when asked"
    assert all(m.image == JPEG and m.content_type == "image/jpeg" for m in final)
    assert final[0].job_id is not None


async def test_a_disabled_camera_takes_no_picture_at_all(broker, worker, store, fleet, files,
                                                         make_device):
    camera = CameraConfig(enabled=False, snapshot_url=f"{files.url}/snapshot.jpg")
    device, _ = make_device("printer-nocam", printer={"camera": camera})
    await device.start()
    try:
        await eventually(lambda: device.link.state.subscribed, 10, "subscriptions")
        await send(fleet, broker, "printer-nocam", command("t-start", "start_print",
                                                           file_name="cube.gcode"))
        await send(fleet, broker, "printer-nocam", command("t-live", "camera_live", enabled=True))
        await eventually(lambda: any(e["event"] == "finished" for e in
                                     store.table_rows("job_events", "printer-nocam")), 45,
                         "the print to finish")  # seconds normally; generous on a busy machine
    finally:
        await device.stop()
    assert camera_messages(fleet, "printer-nocam", broker.prefix) == []
    assert files.hits == [], "the camera was never even asked"
    failed = [a for a in acks(store, "printer-nocam") if a[0] == "t-live"]
    assert failed[-1][1] == "failed" and "disabled" in failed[-1][2]


async def test_an_oversize_picture_is_refused_and_reported(broker, worker, store, fleet, files,
                                                           make_device):
    camera = CameraConfig(enabled=True, snapshot_url=f"{files.url}/huge.jpg")
    device, _ = make_device("printer-big", printer={"camera": camera})
    await device.start()
    try:
        assert not await device.snapshot("live")
    finally:
        await device.stop()
    assert any("refused" in error for error in device.last_errors)
    assert camera_messages(fleet, "printer-big", broker.prefix) == []


async def test_configure_switches_downtime_logging_and_refuses_unknown_keys(broker, worker, store,
                                                                           fleet, make_device):
    device, _ = make_device("printer-cfg")
    await device.start()
    try:
        await eventually(lambda: device.link.state.subscribed, 10, "subscriptions")
        assert not await device.downtime.enabled()
        await send(fleet, broker, "printer-cfg", command("t-bad", "configure",
                                                         downtime_logging=True, colour="red"))
        await send(fleet, broker, "printer-cfg", command("t-on", "configure",
                                                         downtime_logging=True))
        await eventually(lambda: ("t-on", "finished", None) in acks(store, "printer-cfg"), 10,
                         "configure")
        enabled = await device.downtime.enabled()
    finally:
        await device.stop()
    assert enabled
    bad = [a for a in acks(store, "printer-cfg") if a[0] == "t-bad"][-1]
    assert bad[1] == "failed" and "colour" in bad[2]


def all_connected(status_file) -> bool:
    try:
        devices = json.loads(status_file.read_text())["devices"]
    except (OSError, ValueError):
        return False
    return bool(devices) and all(d["connectivity"]["connected"] for d in devices)


async def test_one_agent_serves_several_printers_each_with_its_own_identity(
        broker, worker, store, context, owner):
    provisioner = context.provisioner(store)
    printers = []
    for n in (1, 2, 3):
        device_id = f"farm-printer-{n}"
        credentials = provisioner.provision(device_id, f"Farm {n}", owner)
        printers.append(PrinterConfig(device_id=device_id, name=f"Farm {n}",
                                      simulated=simulated(seed=n)))
        settings = agent_settings(context, printers)
        path = settings.password_path(printers[-1])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(credentials.password)
    settings = agent_settings(context, printers)
    stop = asyncio.Event()
    runner = asyncio.create_task(run_devices(build_devices(settings), stop, settings.data_path))
    try:
        await eventually(lambda: sum(p.presence == "online"
                                     for p in store.printers_for_user(owner)) == 3, 15,
                         "three printers online")
        # Written every 2 s: wait for a report written after all three connected.
        await eventually(lambda: all_connected(settings.data_path / "status.json"), 10,
                         "a status with every printer connected")
        status = subprocess.run(
            [sys.executable, "-m", "printfleet_agent.cli", "status", "--json"],
            capture_output=True, text=True, timeout=30,
            env={"PRINTFLEET_AGENT_DATA_DIR": settings.data_dir, "PATH": "/usr/bin:/bin"})
        human = subprocess.run(
            [sys.executable, "-m", "printfleet_agent.cli", "status"], capture_output=True,
            text=True, timeout=30, env={"PRINTFLEET_AGENT_DATA_DIR": settings.data_dir})
    finally:
        stop.set()
        await runner
    report = json.loads(status.stdout)
    assert [d["device_id"] for d in report["devices"]] == [p.device_id for p in printers]
    assert all(d["connectivity"]["connected"] for d in report["devices"])
    assert "farm-printer-2: online (network ok → broker ok → auth ok; printer link ok)" in \
        human.stdout
    for printer in printers:  # separate outboxes
        assert (settings.device_dir(printer.device_id) / "outbox.sqlite3").exists()


def test_a_camera_command_source_is_bounded():
    from printfleet_agent.camera import CameraError, CameraSettings, take_snapshot

    small = CameraSettings(enabled=True, command=("printf", r"\377\330tiny\377\331"))
    image, content_type = take_snapshot(small)
    assert image == b"\xff\xd8tiny\xff\xd9" and content_type == "image/jpeg"
    big = CameraSettings(enabled=True, command=("head", "-c", "300000", "/dev/zero"),
                         max_bytes=1000)
    with pytest.raises(CameraError, match="refused"):
        take_snapshot(big)
    with pytest.raises(CameraError, match="failed"):
        take_snapshot(CameraSettings(enabled=True, command=("false",)))
    with pytest.raises(CameraError, match="disabled"):
        take_snapshot(CameraSettings(enabled=False, command=("printf", "x")))


async def test_disconnect_and_connect_commands_reach_the_printer(broker, worker, store, fleet,
                                                                 make_device):
    device, _ = make_device("printer-link")
    await device.start()
    try:
        await eventually(lambda: device.link.state.subscribed, 10, "subscriptions")
        await send(fleet, broker, "printer-link", command("t-off", "disconnect"))
        await eventually(lambda: any(t["printer_state"] == "disconnected" for t in
                                     store.table_rows("telemetry", "printer-link")), 10,
                         "the printer to report disconnected")
        await send(fleet, broker, "printer-link", command("t-on", "connect"))
        await eventually(lambda: store.table_rows("telemetry", "printer-link")[-1]
                         ["printer_state"] != "disconnected", 10, "the printer back")
    finally:
        await device.stop()
    assert [(t, s) for t, s, _ in acks(store, "printer-link")] == [
        ("t-off", "accepted"), ("t-off", "finished"), ("t-on", "accepted"), ("t-on", "finished")]
