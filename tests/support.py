"""Test support: a real Mosquitto with our broker-config, settings, MQTT test clients."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker_config import BrokerPaths
from printfleet import settings as settings_module
from printfleet import stack
from printfleet.broker_tls import device_ca_file
from printfleet.context import Context
from printfleet.settings import Settings
from printfleet_agent.broker_tls import client_context


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    """Tell whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def unique_prefix() -> str:
    return "t" + uuid.uuid4().hex[:10]


def make_settings(data_dir: Path, **sections: dict) -> Settings:
    """Settings for one test: its own data dir, ports and topic prefix."""
    base = settings_module.load(None, environ={})
    changes = {
        "top": {"data_dir": str(data_dir)},
        "broker": {"port": free_port(), "local_port": free_port(), "topic_prefix": unique_prefix()},
        "web": {"port": free_port()},
        "presence": {"check_interval_s": 0.2},
    }
    for name, fields in sections.items():
        changes.setdefault(name, {}).update(fields)
    return settings_module.with_changes(base, **changes)


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.05) -> object:
    """Poll predicate until it returns something truthy; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class RunningBroker:
    """A Mosquitto process started with Printfleet's rendered configuration."""

    context: Context
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        """The device listener: MQTT over TLS only."""
        return self.context.settings.broker.port

    @property
    def local_port(self) -> int:
        """The plaintext loopback listener Printfleet's own processes use."""
        return self.context.settings.broker.local_port

    @property
    def ca_file(self) -> Path:
        """The CA devices trust (the generated one, unless a test configured its own)."""
        found = device_ca_file(self.context.settings)
        assert found is not None
        return found

    @property
    def prefix(self) -> str:
        return self.context.settings.broker.topic_prefix

    @property
    def paths(self) -> BrokerPaths:
        return self.context.broker_paths

    def connect_device(self, username: str | None, password: str | None,
                       client_id: str | None = None, wait: bool = True) -> MqttTestClient:
        """A client on the device listener, as devices connect: TLS, trusting the broker's CA."""
        return connect_client(self.port, username, password, client_id, wait, ca_file=self.ca_file)

    def connect_fleet(self) -> MqttTestClient:
        """The fleet service account on the local listener, as Printfleet's processes connect."""
        return connect_client(self.local_port, self.context.settings.broker.fleet_username,
                              self.context.fleet_password)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def log(self) -> str:
        return self.paths.log_file.read_text() if self.paths.log_file.exists() else ""

    def wait_for_log(self, text: str, after: int = 0, timeout: float = 5) -> None:
        wait_until(lambda: text in self.log()[after:], timeout, f"broker log line {text!r}")


def start_broker(context: Context) -> RunningBroker:
    """Render broker-config as `printfleet up` does and start Mosquitto on the context's ports."""
    settings = context.settings
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    store = context.open_store(migrate=True)
    config = stack.prepare(context, store)
    store.stop()
    process = subprocess.Popen([mosquitto, "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    broker = RunningBroker(context, process)

    def up() -> bool:
        assert process.poll() is None, f"mosquitto exited:\n{broker.log()}"
        return listening(settings.broker.port)

    wait_until(up, 10, "mosquitto to listen")
    if settings.broker.local_port:
        wait_until(lambda: listening(settings.broker.local_port), 10, "the local listener")
    return broker


@dataclass
class MqttTestClient:
    """A paho client that records what it receives and how its requests ended."""

    client: mqtt.Client
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    connect_result: list[mqtt.ReasonCode] = field(default_factory=list)
    suback: dict[int, list[mqtt.ReasonCode]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def topics(self) -> list[str]:
        with self.lock:
            return [m.topic for m in self.messages]

    def subscribe(self, topic: str, timeout: float = 5) -> list[mqtt.ReasonCode]:
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        return wait_until(lambda: self.suback.get(mid), timeout, f"SUBACK for {topic}")

    def publish(self, topic: str, payload: bytes | msgspec.Struct, retain: bool = False) -> None:
        if isinstance(payload, msgspec.Struct):
            payload = msgspec.json.encode(payload)
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect_client(port: int, username: str | None, password: str | None,
                   client_id: str | None = None, wait: bool = True,
                   ca_file: Path | None = None) -> MqttTestClient:
    """Connect a recording MQTT 5 client; with wait, block until CONNACK arrives.

    With `ca_file` it speaks TLS (the device listener), trusting that CA.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or uuid.uuid4().hex,
                         protocol=mqtt.MQTTv5)
    if ca_file is not None:
        # The agent's own context: it also closes the socket of a failed handshake.
        client.tls_set_context(client_context(ca_file))
    recorder = MqttTestClient(client)
    if username is not None:
        client.username_pw_set(username, password)

    def on_connect(c, userdata, flags, reason_code, properties):
        recorder.connect_result.append(reason_code)

    def on_message(c, userdata, message):
        with recorder.lock:
            recorder.messages.append(message)

    def on_subscribe(c, userdata, mid, reason_codes, properties):
        recorder.suback[mid] = list(reason_codes)

    client.on_connect, client.on_message, client.on_subscribe = on_connect, on_message, on_subscribe
    # connect_async, not connect: paho's connect() makes a wake-up socket pair
    # that loop_start() then replaces without closing (a leaked socket).
    client.connect_async("127.0.0.1", port, keepalive=10)
    client.loop_start()
    if wait:
        wait_until(lambda: recorder.connect_result, 5, "CONNACK")
    return recorder
