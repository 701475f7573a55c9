"""The Printfleet MQTT contract (v1): topics and payload schemas.

Imported by both the device agent and the fleet workers; see docs/protocol.md.
"""

from .payloads import (
    PAYLOAD_TYPES,
    SCHEMA_VERSION,
    PayloadError,
    decode,
    encode,
    family_of,
)
from .topics import DeviceTopic, Family, TopicError, device_topic, parse_topic

__all__ = [
    "PAYLOAD_TYPES",
    "SCHEMA_VERSION",
    "DeviceTopic",
    "Family",
    "PayloadError",
    "TopicError",
    "decode",
    "device_topic",
    "encode",
    "family_of",
    "parse_topic",
]
