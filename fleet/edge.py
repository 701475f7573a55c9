"""The MQTT edge: topic, size, schema, then a picture's image. Pure, so it is easy to test."""

from __future__ import annotations

from functools import lru_cache

from printfleet_protocol import Family, PayloadError, TopicError, decode, parse_topic
from printfleet_protocol.payloads import MAX_IMAGE_BYTES, CameraSnapshot
from printfleet_protocol.topics import DeviceTopic, Direction
from storage import Accepted, Rejected
from storage.camera import JOB
from storage.camera_images import frame_kind, image_content_type

EXCERPT_BYTES = 200
# Each device publishes on a handful of topics, over and over.
TOPIC_CACHE_SIZE = 16384


def classify(
    prefix: str, topic: str, payload: bytes, received_at: float, max_bytes: int,
    max_image_bytes: int = MAX_IMAGE_BYTES,
) -> Accepted | Rejected | None:
    """Accept or reject one message; None for server-to-device traffic (ours)."""
    parsed = _parse_topic(prefix, topic)
    if isinstance(parsed, TopicError):
        return _reject(topic, _device_level(topic), parsed.reason, str(parsed), payload,
                       received_at)
    if parsed.family.direction is Direction.SERVER_TO_DEVICE:
        return None
    try:
        message = decode(parsed.family, payload, max_bytes)
    except PayloadError as error:
        return _reject(topic, parsed.device_id, error.reason, str(error), payload, received_at)
    if parsed.family is Family.CAMERA:
        refused = check_picture(message, max_image_bytes)
        if refused is not None:
            return _reject(topic, parsed.device_id, *refused, payload, received_at)
    return Accepted(parsed.device_id, parsed.family, message, received_at)


def check_picture(snapshot: CameraSnapshot, max_image_bytes: int) -> tuple[str, str] | None:
    """(reason, detail) for a camera picture that cannot be stored, None for a good one."""
    image = snapshot.image
    if len(image) > max_image_bytes:
        return "image_too_large", f"a {len(image)}-byte picture exceeds {max_image_bytes} bytes"
    if image_content_type(image) is None:
        return "not_an_image", (f"the picture is neither JPEG nor PNG (it starts with "
                                f"{image[:8].hex() or 'nothing'}; the device said "
                                f"{snapshot.content_type!r})")
    kind = frame_kind(snapshot.reason)
    if kind is None:
        return "invalid", f"unknown picture reason {snapshot.reason!r} (live or job_<event>)"
    if kind == JOB and not snapshot.job_id:
        return "invalid", f"a job picture ({snapshot.reason}) names no job_id"
    return None


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
