"""Device traffic is encrypted: a real agent, a recording relay on the wire, real Mosquitto.

The privacy policy: "the machine takes a picture and sends the image file to
the servers in a secure request". The relay records every byte between the
agent and the broker, as an eavesdropper on the printer's network would; the
picture and the device's password must not be in it, while the picture
arrives in the store. The same relay on a plaintext connection does see both,
so the check can fail.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os

import pytest

from printfleet.camera_watch import CameraWatches
from printfleet.device_commands import fleet_publisher
from printfleet.tls_certificates import GeneratedFiles, ensure_server_certificate
from printfleet_agent.settings import CameraConfig, load
from printfleet_protocol.settings import SettingsError

from ..tcp_proxy import TcpProxy
from .conftest import eventually
from .file_server import FileServer

pytestmark = pytest.mark.timeout(60)

# Random bytes between JPEG markers: no run of it can turn up on the wire by chance.
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(6000) + b"\xff\xd9"


def needles(password: str) -> dict[str, bytes]:
    """What an eavesdropper must not find: the picture (raw, and base64 as the JSON
    payload carries it) and the device's password (in the MQTT CONNECT)."""
    return {"picture": JPEG[3000:3064], "picture as base64": base64.b64encode(JPEG)[3000:3064],
            "password": password.encode()}


@pytest.fixture
def files():
    with FileServer({"/snapshot.jpg": (JPEG, "image/jpeg")}) as server:
        yield server


async def send_a_picture_through(proxy: TcpProxy, device, context, store, device_id: str):
    """Start the agent, have the web watch its camera, wait until the picture is stored."""
    publisher = fleet_publisher(context)
    await device.start()
    try:
        await eventually(lambda: device.link.state.connected, 10, "the agent to connect")
        watches = CameraWatches(publisher, context.settings.broker.topic_prefix, 2.0, 0.5)
        assert await asyncio.to_thread(watches.watch, device_id)
        frame = await eventually(lambda: store.latest_live_frame(device_id), 15,
                                 "the picture to be stored")
        await eventually(lambda: store.table_rows("telemetry", device_id), 10, "telemetry")
    finally:
        await device.stop()
        await proxy.stop()
        publisher.close()
    return frame


def password_of(settings) -> str:
    return settings.password_path(settings.printers[0]).read_text().strip()


async def test_the_picture_and_password_cross_the_wire_only_encrypted(
        broker, worker, store, context, files, make_device):
    proxy = TcpProxy(broker.port, record=True)
    camera = CameraConfig(enabled=True, snapshot_url=f"{files.url}/snapshot.jpg")
    await proxy.start()  # its port must be known before the agent is built
    device, settings = make_device("printer-tls", printer={"camera": camera},
                                   broker_port=proxy.port)
    frame = await send_a_picture_through(proxy, device, context, store, "printer-tls")

    assert device.link.uses_tls
    assert frame.sha256 == hashlib.sha256(JPEG).hexdigest(), "the picture arrived intact"
    wire = proxy.recorded
    assert len(wire) > len(JPEG), "the relay carried the picture's traffic"
    assert wire[:3] == b"\x16\x03\x01", "the connection opened with a TLS handshake record"
    for what, needle in needles(password_of(settings)).items():
        assert needle not in wire, f"the {what} crossed the wire in clear"


async def test_the_same_relay_sees_everything_on_a_plaintext_connection(
        broker, worker, store, context, files, make_device):
    """The control: without TLS (allowed only to a broker on this machine) the relay
    finds the picture and the password, so the test above would catch a leak."""
    proxy = TcpProxy(broker.local_port, record=True)
    camera = CameraConfig(enabled=True, snapshot_url=f"{files.url}/snapshot.jpg")
    await proxy.start()
    device, settings = make_device("printer-clear", printer={"camera": camera},
                                   broker_port=proxy.port, broker_fields={"tls": False})
    await send_a_picture_through(proxy, device, context, store, "printer-clear")

    assert not device.link.uses_tls
    wire = proxy.recorded
    for what, needle in needles(password_of(settings)).items():
        if what != "picture":  # the JSON payload carries the picture as base64
            assert needle in wire, f"the control relay should see the {what}"


async def test_an_agent_that_cannot_verify_the_broker_logs_why_and_never_sends_in_clear(
        broker, store, context, make_device, tmp_path, caplog):
    other_ca = GeneratedFiles(tmp_path / "other-ca")
    ensure_server_certificate(other_ca, ["localhost"])
    proxy = TcpProxy(broker.port, record=True)
    await proxy.start()
    device, settings = make_device("printer-doubt", broker_port=proxy.port,
                                   broker_fields={"tls_ca_file": str(other_ca.ca_cert)},
                                   heartbeat_interval_s=0.5)
    caplog.set_level(logging.ERROR, logger="printfleet_agent.link")
    await device.start()
    try:
        await eventually(lambda: device.link.state.tls_error, 10, "the TLS failure")
        # paho retries after 1 s: a second connection, again opening with a TLS
        # ClientHello record, never a plaintext try.
        await eventually(lambda: proxy.connections >= 2
                         and proxy.recorded.count(b"\x16\x03\x01") >= 2, 10, "a retry")
        assert not device.link.state.connected
    finally:
        await device.stop()
        await proxy.stop()
    assert "certificate" in device.link.state.tls_error
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("TLS handshake with 127.0.0.1" in m and "certificate was not accepted" in m
               and "not connecting without TLS" in m for m in logged), logged
    wire = proxy.recorded
    assert password_of(settings).encode() not in wire
    assert b"printer-doubt" not in wire, "no MQTT CONNECT (it names the client id) went out"
    assert "printer-doubt" not in broker.log(), "the broker never saw this device connect"


def test_plaintext_is_refused_in_the_settings_unless_the_broker_is_on_this_machine():
    assert load(None, environ={"PRINTFLEET_AGENT_BROKER__TLS": "false"}).broker.tls is False
    with pytest.raises(SettingsError, match="only allowed for a broker on this machine"):
        load(None, environ={"PRINTFLEET_AGENT_BROKER__TLS": "false",
                            "PRINTFLEET_AGENT_BROKER__HOST": "printfleet.example.org"})
    assert load(None, environ={}).broker.tls is True, "TLS is the default"
