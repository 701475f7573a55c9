"""The few MQTT 5 packets a simulated device sends and reads, as bytes (bench only).

paho, which the real agent uses, reads each packet with several recv calls
and sends each with its own; at tens of thousands of messages a second the
bench's devices spent more CPU than the worker they measure, on the same
two cores. These helpers let one asyncio protocol per device read whole
buffers and write many packets at once. Only what the bench needs: CONNECT
with credentials, SUBSCRIBE, QoS 0/1 PUBLISH both ways, PUBACK, PINGREQ,
DISCONNECT.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBSCRIBE = 0x82  # fixed header flags 0b0010, as the spec requires
SUBACK = 0x90
PINGREQ = b"\xc0\x00"
PINGRESP = 0xD0
DISCONNECT = 0xE0
DISCONNECT_PACKET = b"\xe0\x00"

RECEIVE_MAXIMUM_PROPERTY = 0x21
_PUBACK_SHORT = struct.Struct("!BBH")


class ProtocolError(ValueError):
    """The broker sent something this minimal client does not understand."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _read_varint(data: bytes | bytearray | memoryview, offset: int) -> tuple[int, int] | None:
    """(value, offset after it), or None if the buffer ends first."""
    value = shift = 0
    for index in range(offset, min(offset + 4, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    if len(data) - offset >= 4:
        raise ProtocolError("malformed remaining length")
    return None


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + _varint(len(body)) + body


def connect_packet(client_id: str, username: str, password: str, keepalive_s: int) -> bytes:
    """CONNECT, MQTT 5, clean start, user name and password, no properties."""
    flags = 0x80 | 0x40 | 0x02
    header = _string("MQTT") + bytes((5, flags)) + struct.pack("!H", keepalive_s) + b"\x00"
    return _packet(CONNECT, header + _string(client_id) + _string(username) + _string(password))


def subscribe_packet(packet_id: int, topic_filter: str, qos: int) -> bytes:
    return _packet(SUBSCRIBE, struct.pack("!H", packet_id) + b"\x00" + _string(topic_filter)
                   + bytes((qos,)))


def publish_packet(topic: bytes, packet_id: int, payload: bytes) -> bytes:
    """QoS 1 PUBLISH; `topic` is already encoded with its length prefix."""
    body_length = len(topic) + 3 + len(payload)  # packet id, empty properties
    return b"".join((bytes((PUBLISH | 0x02,)), _varint(body_length), topic,
                     struct.pack("!HB", packet_id, 0), payload))


def encoded_topic(topic: str) -> bytes:
    """A topic name with its length prefix, to reuse for every publish."""
    return _string(topic)


def puback_packet(packet_id: int) -> bytes:
    """PUBACK, success, no properties (the short form MQTT 5 allows)."""
    return _PUBACK_SHORT.pack(PUBACK, 2, packet_id)


def split_packets(buffer: bytearray) -> Iterator[tuple[int, bytes]]:
    """Yield (first byte, body) of each complete packet and remove them from the buffer."""
    offset = 0
    try:
        while len(buffer) - offset >= 2:
            length = _read_varint(buffer, offset + 1)
            if length is None:
                break
            size, start = length
            if len(buffer) - start < size:
                break
            yield buffer[offset], bytes(buffer[start:start + size])
            offset = start + size
    finally:
        del buffer[:offset]


def connack_result(body: bytes) -> tuple[int, int]:
    """(reason code, the broker's receive maximum) from a CONNACK body."""
    reason = body[1]
    receive_maximum = 65535
    if len(body) > 2:
        length = _read_varint(body, 2)
        if length is None:
            raise ProtocolError("truncated CONNACK properties")
        size, offset = length
        end = offset + size
        while offset < end:
            identifier = body[offset]
            offset += 1
            if identifier == RECEIVE_MAXIMUM_PROPERTY:
                receive_maximum = struct.unpack_from("!H", body, offset)[0]
            offset = _skip_property(body, identifier, offset)
    return reason, receive_maximum


def suback_codes(body: bytes) -> bytes:
    """The reason codes of a SUBACK body, one per filter."""
    length = _read_varint(body, 2)
    if length is None:
        raise ProtocolError("truncated SUBACK")
    size, offset = length
    return body[offset + size:]


def puback_result(body: bytes) -> tuple[int, int]:
    """(packet id, reason code) of a PUBACK body."""
    return struct.unpack_from("!H", body)[0], body[2] if len(body) > 2 else 0


def incoming_publish(first_byte: int, body: bytes) -> tuple[str, int | None, bytes]:
    """(topic, packet id or None for QoS 0, payload) of a PUBLISH from the broker."""
    qos = (first_byte >> 1) & 0x03
    topic_length = struct.unpack_from("!H", body)[0]
    offset = 2 + topic_length
    topic = body[2:offset].decode()
    packet_id = None
    if qos:
        packet_id = struct.unpack_from("!H", body, offset)[0]
        offset += 2
    length = _read_varint(body, offset)
    if length is None:
        raise ProtocolError("truncated PUBLISH properties")
    size, offset = length
    return topic, packet_id, body[offset + size:]


# Property identifier -> its value's encoding (MQTT 5, section 2.2.2.2).
_BYTE = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_TWO_BYTES = {0x13, 0x21, 0x22, 0x23}
_FOUR_BYTES = {0x02, 0x11, 0x18, 0x27}
_STRING_OR_BINARY = {0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F}


def _skip_property(body: bytes, identifier: int, offset: int) -> int:
    if identifier in _BYTE:
        return offset + 1
    if identifier in _TWO_BYTES:
        return offset + 2
    if identifier in _FOUR_BYTES:
        return offset + 4
    if identifier in _STRING_OR_BINARY:
        return offset + 2 + struct.unpack_from("!H", body, offset)[0]
    if identifier == 0x26:  # user property: a string pair
        offset += 2 + struct.unpack_from("!H", body, offset)[0]
        return offset + 2 + struct.unpack_from("!H", body, offset)[0]
    if identifier == 0x0B:  # subscription identifier: a variable byte integer
        length = _read_varint(body, offset)
        if length is None:
            raise ProtocolError("truncated property")
        return length[1]
    raise ProtocolError(f"unknown property 0x{identifier:02x}")
