"""The MQTT edge: topic first, then size, then schema. Pure, so it is easy to test."""

from __future__ import annotations

from functools import lru_cache

from printfleet_protocol import Family, PayloadError, TopicError, decode, parse_topic
from printfleet_protocol.topics import DeviceTopic, Direction
from storage import Accepted, Rejected

EXCERPT_BYTES = 200
# Each device publishes on a handful of topics, over and over.
TOPIC_CACHE_SIZE = 16384


def classify(
    prefix: str, topic: str, payload: bytes, received_at: float, max_bytes: int
) -> Accepted | Rejected | None:
    """Accept or reject one message; None for server-to-device traffic (ours)."""
    parsed = _parse_topic(prefix, topic)
    if isinstance(parsed, TopicError):
        return _reject(topic, _device_level(topic), parsed.reason, str(parsed), payload,
                       received_at)
    if parsed.family.direction is Direction.SERVER_TO_DEVICE:
        return None
    if parsed.family is Family.CAMERA:
        # Camera frames need the camera store and its expiry process (they may
        # be kept only seconds); until it exists they are refused visibly.
        return _reject(topic, parsed.device_id, "unsupported_family",
                       "this server does not store camera frames yet", payload, received_at)
    try:
        message = decode(parsed.family, payload, max_bytes)
    except PayloadError as error:
        return _reject(topic, parsed.device_id, error.reason, str(error), payload, received_at)
    return Accepted(parsed.device_id, parsed.family, message, received_at)


@lru_cache(maxsize=TOPIC_CACHE_SIZE)
def _parse_topic(prefix: str, topic: str) -> DeviceTopic | TopicError:
    try:
        return parse_topic(prefix, topic)
    except TopicError as error:
        return error


def _device_level(topic: str) -> str | None:
    levels = topic.split("/")
    return levels[1][:64] if len(levels) > 1 else None


def _reject(topic: str, device_id: str | None, reason: str, detail: str, payload: bytes,
            received_at: float) -> Rejected:
    excerpt = payload[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return Rejected(topic[:256], device_id, reason, detail[:500], len(payload), excerpt,
                    received_at)
