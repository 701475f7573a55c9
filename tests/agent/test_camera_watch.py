"""Live pictures only while someone watches: the web's watch, a real agent, real Mosquitto."""

from __future__ import annotations

import asyncio
import time

import pytest

from printfleet.camera_watch import CameraWatches
from printfleet.device_commands import fleet_publisher
from printfleet_agent.settings import CameraConfig
from printfleet_protocol import Family, decode, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, CameraWatch

from .conftest import eventually
from .file_server import FileServer

pytestmark = pytest.mark.timeout(60)

JPEG = b"\xff\xd8\xff\xe0" + b"watched" * 30 + b"\xff\xd9"
WATCH_S = 2.0
INTERVAL_S = 0.25
# A picture being taken when the watch ends may still arrive; nothing after.
SLACK_S = INTERVAL_S + 0.5


@pytest.fixture
def files():
    with FileServer({"/snapshot.jpg": (JPEG, "image/jpeg")}) as server:
        yield server


@pytest.fixture
def fleet(broker, context):
    client = broker.connect_fleet()
    client.subscribe(f"{broker.prefix}/+/camera")
    yield client
    client.close()


@pytest.fixture
def publisher(context):
    running = fleet_publisher(context)
    yield running
    running.close()


def live_pictures(fleet, topic):
    with fleet.lock:
        return [m for m in (decode(Family.CAMERA, x.payload) for x in fleet.messages
                            if x.topic == topic) if m.reason == "live"]


async def test_pictures_flow_only_while_watched_and_stop_after_the_watch_runs_out(
        broker, worker, store, fleet, files, make_device, publisher):
    camera = CameraConfig(enabled=True, snapshot_url=f"{files.url}/snapshot.jpg",
                          live_interval_s=5.0)
    device, _ = make_device("printer-watch", printer={"camera": camera})
    topic = device_topic(broker.prefix, "printer-watch", Family.CAMERA)
    watches = CameraWatches(publisher, broker.prefix, WATCH_S, INTERVAL_S)
    await device.start()
    try:
        await eventually(lambda: device.link.state.connected, 10, "connection")
        await asyncio.sleep(1.0)
        assert live_pictures(fleet, topic) == [], "nobody watches: no live pictures"

        first = time.time()
        assert await asyncio.to_thread(watches.watch, "printer-watch")
        await eventually(lambda: len(live_pictures(fleet, topic)) >= 3, 10, "live pictures")
        # The page renews its watch while it stays open: pictures go on past the first end.
        renewals = []
        while time.time() < first + 2.5 * WATCH_S:
            await asyncio.sleep(watches.renew_every_s)
            if await asyncio.to_thread(watches.watch, "printer-watch"):
                renewals.append(time.time())
        last = renewals[-1]
        assert len(renewals) >= 3
        # The page closes: no more renewals. The device stops by itself.
        await asyncio.sleep(last + WATCH_S + SLACK_S - time.time())
        count = len(live_pictures(fleet, topic))
        await asyncio.sleep(1.5)
        pictures = live_pictures(fleet, topic)
        assert len(pictures) == count, "pictures stopped once the watch ran out"
        taken = [p.ts for p in pictures]
        assert max(taken) <= last + WATCH_S + SLACK_S
        assert any(first + WATCH_S + 0.5 < ts < last for ts in taken), \
            "the renewals kept the pictures going past the first watch's end"
        # At the watch's pace, not the agent's own default of 5 s.
        gaps = [b - a for a, b in zip(taken, taken[1:], strict=False)
                if first + 1 < a < last]
        assert gaps and max(gaps) < 2.0

        # A watch that ran out while it waited in the broker starts nothing.
        stale = CameraWatch(v=SCHEMA_VERSION, ts=time.time() - 60, watch_s=WATCH_S)
        await asyncio.to_thread(publisher.publish,
                                device_topic(broker.prefix, "printer-watch", Family.WATCH),
                                encode(stale))
        await asyncio.sleep(1.0)
        assert len(live_pictures(fleet, topic)) == count
        assert not device.live_view.active
    finally:
        await device.stop()
    # The fleet stored them: the newest live picture is the only one kept.
    frame = await eventually(lambda: store.latest_live_frame("printer-watch"), 10, "stored")
    assert frame.seq == max(p.seq for p in live_pictures(fleet, topic))
