"""The downtime logging switch, obeyed by the real worker behind a real Mosquitto, on both backends.

Off (the default), a printer's presence messages, its last will (published
by Mosquitto), the watchdog's verdict and its own downtime reports leave no
history, while its presence on the dashboard still follows it. Turned on,
they are kept from then on; turned off again, they stop with the next
message, without restarting the worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from fleet.prometheus import render
from printfleet.context import Context
from printfleet_agent.broker_tls import client_context
from printfleet_protocol import Family, device_topic
from printfleet_protocol.payloads import SCHEMA_VERSION, Downtime, Heartbeat, Presence

from ..support import wait_until
from .backends import BACKENDS, backend_context

pytestmark = pytest.mark.timeout(60)

DEVICE = "printer-dt"
LOG_TABLES = ("presence_events", "downtime_reports")


@pytest.fixture(params=BACKENDS)
def context(request, tmp_path, monkeypatch) -> Iterator[Context]:
    with backend_context(request.param, tmp_path, monkeypatch) as backend:
        yield backend


class Printer:
    """A device on its own MQTT connection with a last will, as the agent connects."""

    def __init__(self, port: int, ca_file: Path, prefix: str, password: str) -> None:
        self._port, self._ca_file = port, ca_file
        self._prefix, self._password = prefix, password
        self._seq = 0
        self._client: mqtt.Client | None = None

    def topic(self, family: Family) -> str:
        return device_topic(self._prefix, DEVICE, family)

    def seq(self) -> int:
        self._seq += 1
        return self._seq

    def connect(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=uuid.uuid4().hex,
                             protocol=mqtt.MQTTv5)
        client.username_pw_set(DEVICE, self._password)
        client.tls_set_context(client_context(self._ca_file))  # the device listener is TLS
        will = Presence(v=SCHEMA_VERSION, ts=time.time(), seq=self.seq(), status="offline")
        client.will_set(self.topic(Family.PRESENCE), msgspec.json.encode(will), qos=1,
                        retain=True)
        connected: list[object] = []
        client.on_connect = lambda c, u, flags, code, props: connected.append(code)
        client.connect_async("127.0.0.1", self._port, keepalive=30)
        client.loop_start()
        self._client = client
        (code,) = wait_until(lambda: connected, 5, "CONNACK")
        assert not code.is_failure, code

    def send(self, family: Family, message: msgspec.Struct) -> None:
        assert self._client is not None
        self._client.publish(self.topic(family), msgspec.json.encode(message), qos=1,
                             retain=family is Family.PRESENCE).wait_for_publish(5)

    def online_with_report(self) -> None:
        """Say online, report a past outage and beat once."""
        now = time.time()
        self.send(Family.PRESENCE, Presence(v=SCHEMA_VERSION, ts=now, seq=self.seq(),
                                            status="online"))
        self.send(Family.DOWNTIME, Downtime(v=SCHEMA_VERSION, ts=now, seq=self.seq(),
                                            started_at=now - 60, ended_at=now - 5,
                                            cause="network"))
        self.send(Family.HEARTBEAT, Heartbeat(v=SCHEMA_VERSION, ts=now, seq=self.seq(),
                                              interval_s=1.0, uptime_s=9.0))

    def die(self) -> None:
        """Drop the connection so that Mosquitto publishes the last will."""
        assert self._client is not None
        self._client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))
        self._client.loop_stop()
        self._client = None


@pytest.fixture
def printer(broker, store, context, owner) -> Iterator[Printer]:
    credentials = context.provisioner(store).provision(DEVICE, "Printer", owner)
    device = Printer(broker.port, broker.ca_file, broker.prefix, credentials.password)
    yield device
    if device._client is not None:
        device.die()


def presence(store, owner: int) -> str:
    return store.printers_for_user(owner)[0].presence


def log_rows(store) -> dict[str, int]:
    return {table: len(store.table_rows(table, DEVICE)) for table in LOG_TABLES}


async def wait(predicate, what: str) -> object:
    """Wait in a thread, so the worker keeps running in this event loop."""
    return await asyncio.to_thread(wait_until, predicate, 10, what)


async def a_life(printer: Printer, store, owner: int) -> None:
    """Come online, report downtime, die (last will), come back, fall silent (watchdog)."""
    beats = len(store.table_rows("heartbeats", DEVICE))

    async def online() -> None:
        nonlocal beats
        await asyncio.to_thread(printer.connect)
        await asyncio.to_thread(printer.online_with_report)
        beats += 1  # the heartbeat is sent last: once it is stored, so is the rest
        await wait(lambda: len(store.table_rows("heartbeats", DEVICE)) == beats, "a heartbeat")
        assert presence(store, owner) == "online"

    await online()
    await asyncio.to_thread(printer.die)
    await wait(lambda: presence(store, owner) == "offline", "the last will")
    await online()
    # In threads, as the scheduler and the web app write: never blocking the worker's loop.
    assert await asyncio.to_thread(store.mark_silent_devices_offline, time.time() + 1000, 1.5,
                                   30) == [DEVICE]
    assert presence(store, owner) == "offline"


async def test_with_logging_off_presence_will_watchdog_and_reports_leave_no_history(
        worker, printer, store, owner):
    assert store.device_settings(DEVICE) is None  # never set: off
    await a_life(printer, store, owner)
    # 2 onlines, 2 reports and the last will: handled, acknowledged, not kept.
    await wait(lambda: worker.metrics.not_kept == 5, "five messages not kept")
    assert log_rows(store) == {"presence_events": 0, "downtime_reports": 0}
    assert store.downtime_history(DEVICE) == [] and store.uptime_by_day(DEVICE) == []
    assert f'printfleet_messages_not_kept_total{{worker="{worker.worker_id}"}} 5' in render(
        worker.metrics)
    # The notification's own mark: when it last went offline (the watchdog just now).
    (state,) = store.query_rows(*_last_offline(store))
    assert state[0] is not None and state[0] > time.time() - 60


async def test_logging_starts_when_turned_on_and_stops_at_once_when_turned_off(
        worker, printer, store, owner):
    await asyncio.to_thread(store.set_downtime_logging, DEVICE, True, owner, time.time())
    await a_life(printer, store, owner)
    # online, will, online, watchdog; two reports.
    await wait(lambda: log_rows(store) == {"presence_events": 4, "downtime_reports": 2},
               "the history")
    sources = [(e["status"], e["source"]) for e in sorted(
        store.table_rows("presence_events", DEVICE), key=lambda e: e["received_at"])]
    assert sources == [("online", "device"), ("offline", "device"), ("online", "device"),
                       ("offline", "watchdog")]
    assert store.downtime_history(DEVICE)

    # Off again; the same worker goes on.
    await asyncio.to_thread(store.set_downtime_logging, DEVICE, False, owner, time.time())
    await a_life(printer, store, owner)
    await wait(lambda: worker.metrics.not_kept == 5, "five messages not kept")
    assert log_rows(store) == {"presence_events": 4, "downtime_reports": 2}  # kept, not grown
    assert store.downtime_history(DEVICE) == []


def _last_offline(store) -> tuple[str, tuple]:
    mark = "?" if store.chart_flavour == "sqlite" else "%s"
    return f"SELECT last_offline_at FROM device_state WHERE device_id = {mark}", (DEVICE,)
