"""QoS 1 PUBACKs the worker sends itself, after commit, many in one socket write.

gmqtt, with ``optimistic_acknowledgement=False``, runs an async on_message
as one asyncio task per message and sends each PUBACK as its own write when
that task ends. At thousands of messages a second those tasks and writes
cost the worker more than validating the messages. This hooks gmqtt's QoS 1
PUBLISH handling instead: the handler is called synchronously with the
packet id, and the worker acknowledges a whole committed batch at once.
A QoS 1 PUBLISH without properties (what devices send) is even parsed here,
in a few slices instead of gmqtt's general property parser. Everything else
(QoS 0/2, properties such as topic aliases, reconnects, the session) stays
gmqtt's.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterable

from gmqtt import Client

logger = logging.getLogger(__name__)

# PUBACK with reason code 0 and no properties: MQTT 5 lets both be omitted
# (remaining length 2), which is also the MQTT 3.1.1 form.
_PUBACK = struct.Struct("!BBH")
_PUBACK_TYPE = 0x40

PublishHandler = Callable[[int, str, bytes], None]


def hook_qos1_publishes(client: Client, handler: PublishHandler) -> bool:
    """Route QoS 1 PUBLISHes to handler(packet_id, topic, payload); False if gmqtt differs."""
    package_handler = getattr(client, "_package_handler", None)
    if package_handler is None or not hasattr(package_handler, "_handle_qos_1_publish_packet"):
        logger.warning("this gmqtt version has no QoS 1 hook; acknowledging per message")
        return False

    def on_qos1_publish(mid: int, payload: bytes, topic: str | bytes, properties: dict) -> None:
        # gmqtt hands over the raw bytes when the topic is not UTF-8.
        text = topic if isinstance(topic, str) else topic.decode("utf-8", errors="replace")
        handler(mid, text, payload)

    package_handler._handle_qos_1_publish_packet = on_qos1_publish
    general = getattr(package_handler, "_handle_publish_packet", None)
    if general is not None:
        package_handler._handle_publish_packet = _fast_publish_parser(general, handler)
    return True


def _fast_publish_parser(general: Callable[[int, bytes], None],
                         handler: PublishHandler) -> Callable[[int, bytes], None]:
    def on_publish_packet(cmd: int, raw: bytes) -> None:
        if (cmd >> 1) & 0x03 != 1 or len(raw) < 5:
            general(cmd, raw)
            return
        topic_end = 2 + int.from_bytes(raw[:2], "big")
        # The property length follows the packet id; 0 (no properties) is one byte.
        if topic_end == 2 or len(raw) < topic_end + 3 or raw[topic_end + 2] != 0:
            general(cmd, raw)
            return
        try:
            topic = raw[2:topic_end].decode()
        except UnicodeDecodeError:
            general(cmd, raw)
            return
        handler(int.from_bytes(raw[topic_end:topic_end + 2], "big"), topic,
                raw[topic_end + 3:])

    return on_publish_packet


def connection_of(client: Client) -> object | None:
    """The client's current network connection (acks belong to the one that received)."""
    return getattr(client, "_connection", None)


def send_pubacks(client: Client, connection: object | None, packet_ids: Iterable[int]) -> bool:
    """PUBACK every packet id in one write; False (nothing sent) if that connection is gone.

    A PUBACK must go back on the connection its PUBLISH came in on: after a
    reconnect the broker redelivers what was not acknowledged, and the
    redelivered copy is acknowledged when it (a duplicate, ignored) commits.
    """
    if connection is None or connection is not connection_of(client) or not client.is_connected:
        return False
    data = b"".join(_PUBACK.pack(_PUBACK_TYPE, 2, mid) for mid in packet_ids)
    if data:
        connection.send_package(data)  # type: ignore[attr-defined]
    return True
