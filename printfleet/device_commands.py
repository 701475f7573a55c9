"""Send a command to a device on a user's behalf: recorded first, then published.

The record (transaction id, device, user, kind, arguments) is what lets a
job started by the command name who started it: the device echoes the
transaction in its job events. Recording before publishing means a job
event can never name a transaction the store has not seen. Callers (the
web UI) decide whether the user may command the device; this module checks
only that the device exists and the command is well formed.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, PayloadError, decode, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, Command, CommandKind
from storage import IssuedCommand, SyncStore

from .broker_endpoint import fleet_endpoint

if TYPE_CHECKING:
    from .context import Context

logger = logging.getLogger(__name__)

DEFAULT_TTL_S = 120.0
PUBLISH_TIMEOUT_S = 10.0


class CommandError(RuntimeError):
    """A command that cannot be issued; the message says why."""


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and return once the broker has it, or raise CommandError."""
        ...

    def close(self) -> None:
        """Let go of the connection (publishing again reconnects)."""
        ...


def issue_command(store: SyncStore, publisher: Publisher, prefix: str, device_id: str,
                  kind: CommandKind | str, args: dict[str, Any] | None = None,
                  user_id: int | None = None, ttl_s: float = DEFAULT_TTL_S,
                  clock: Callable[[], float] = time.time) -> IssuedCommand:
    """Record a command for `user_id` and send it to the device's command topic."""
    try:
        kind = CommandKind(kind)
    except ValueError:
        raise CommandError(f"unknown command kind {kind!r}") from None
    if store.device_password_hash(device_id) is None:
        raise CommandError(f"no active device {device_id!r}")
    now = clock()
    command = Command(v=SCHEMA_VERSION, ts=now, transaction=f"cmd-{uuid.uuid4().hex}",
                      kind=kind, expires_at=now + ttl_s, args=dict(args or {}))
    payload, sent = _checked(command)
    issued = IssuedCommand(sent.transaction, device_id, user_id, str(kind), sent.args, now,
                           sent.expires_at)
    store.record_command(issued)
    publisher.publish(device_topic(prefix, device_id, Family.COMMAND), payload)
    logger.info("sent %s to %s as %s for user %s", kind, device_id, command.transaction, user_id)
    return issued


def _checked(command: Command) -> tuple[bytes, Command]:
    """Encode, refuse what the device would refuse, and return the command as it will read it."""
    try:
        payload = encode(command)
        return payload, decode(Family.COMMAND, payload)
    except (msgspec.EncodeError, TypeError, PayloadError) as error:
        raise CommandError(f"invalid {command.kind} command: {error}") from None


def fleet_publisher(context: Context) -> MqttPublisher:
    """A publisher on the broker the settings name, as the fleet's service account."""
    endpoint = fleet_endpoint(context.settings)
    return MqttPublisher(endpoint.host, endpoint.port, context.settings.broker.fleet_username,
                         context.fleet_password, ssl_context=endpoint.ssl_context)


class MqttPublisher:
    """Publishes commands as the fleet's service account over one reused connection."""

    def __init__(self, host: str, port: int, username: str, password: str,
                 timeout_s: float = PUBLISH_TIMEOUT_S,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s
        self._connected = threading.Event()
        self._refused: str | None = None
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                   client_id=f"{username}-commands-{uuid.uuid4().hex[:8]}")
        self._client.username_pw_set(username, password)
        if ssl_context is not None:
            self._client.tls_set_context(ssl_context)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._started = False

    def publish(self, topic: str, payload: bytes) -> None:
        with self._lock:
            if not self._started:
                # connect_async: connect() leaks a socket pair once loop_start replaces it.
                self._client.connect_async(self._host, self._port, keepalive=30)
                self._client.loop_start()
                self._started = True
        if not self._connected.wait(self._timeout_s):
            raise CommandError(f"cannot reach the MQTT broker at {self._host}:{self._port}"
                               + (f": {self._refused}" if self._refused else ""))
        info = self._client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as error:
            raise CommandError(f"the broker did not take the command: {error}") from None
        if not info.is_published():
            raise CommandError(f"the broker did not confirm the command within "
                               f"{self._timeout_s:g} s")

    def close(self) -> None:
        with self._lock:
            if self._started:
                self._client.disconnect()
                self._client.loop_stop()
                self._started = False

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason_code: mqtt.ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
            logger.error("broker refused the command publisher: %s", reason_code)
            return
        self._refused = None
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: mqtt.ReasonCode, properties: Any) -> None:
        self._connected.clear()
