"""The MQTT topic namespace: the only place topic strings are built or parsed.

Device to server: ``<prefix>/<device_id>/<family>`` (three levels).
Server to device: ``<prefix>/<device_id>/<family>/down`` (four levels).

The device id sits at the second level, so two Mosquitto ``pattern`` ACL
lines confine every device to its own subtree. The extra level on the way
down keeps the fleet's subscription (``<prefix>/+/+``) from receiving its
own commands and acks, while still catching any unknown family a device
publishes; and the ACL lets devices write only three-level topics.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

DEVICE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
PREFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class Direction(enum.Enum):
    DEVICE_TO_SERVER = "up"
    SERVER_TO_DEVICE = "down"


class Family(enum.Enum):
    """Topic families; the value is the last topic level."""

    PRESENCE = "status"
    TELEMETRY = "telemetry"
    JOB = "job"
    HEARTBEAT = "heartbeat"
    DOWNTIME = "downtime"
    FACTS = "facts"
    CAMERA = "camera"
    ACK = "ack"
    COMMAND = "cmd"
    STORED = "stored"
    WATCH = "watch"

    @property
    def direction(self) -> Direction:
        if self in (Family.COMMAND, Family.STORED, Family.WATCH):
            return Direction.SERVER_TO_DEVICE
        return Direction.DEVICE_TO_SERVER

    @property
    def retained(self) -> bool:
        """Presence and facts are state, kept by the broker; nothing else is."""
        return self in (Family.PRESENCE, Family.FACTS)


FAMILY_BY_LEVEL = {family.value: family for family in Family}
DOWN = "down"


class TopicError(ValueError):
    """A topic outside the Printfleet namespace; the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    prefix: str
    device_id: str
    family: Family

    def __str__(self) -> str:
        base = f"{self.prefix}/{self.device_id}/{self.family.value}"
        return f"{base}/{DOWN}" if self.family.direction is Direction.SERVER_TO_DEVICE else base


def validate_device_id(device_id: str) -> str:
    """Return the id if it can sit in a topic level, else raise ValueError."""
    if not DEVICE_ID_PATTERN.match(device_id):
        raise ValueError(
            f"device id {device_id!r} must be 3-64 characters of a-z, 0-9, '_' or '-'"
        )
    return device_id


def validate_prefix(prefix: str) -> str:
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"topic prefix {prefix!r} must be 1-32 characters of a-z, 0-9, '_' or '-'")
    return prefix


def device_topic(prefix: str, device_id: str, family: Family) -> str:
    """Build the topic a device publishes (or receives) one family on."""
    return str(DeviceTopic(validate_prefix(prefix), validate_device_id(device_id), family))


def parse_topic(prefix: str, topic: str) -> DeviceTopic:
    """Parse an incoming topic, raising TopicError with a reason code."""
    levels = topic.split("/")
    if len(levels) not in (3, 4) or (len(levels) == 4 and levels[3] != DOWN):
        raise TopicError("bad_topic", f"expected {prefix}/<device>/<family>, got {topic!r}")
    got_prefix, device_id, level = levels[:3]
    if got_prefix != prefix:
        raise TopicError("bad_topic", f"prefix {got_prefix!r} is not {prefix!r}")
    if not DEVICE_ID_PATTERN.match(device_id):
        raise TopicError("bad_topic", f"invalid device id {device_id!r}")
    family = FAMILY_BY_LEVEL.get(level)
    if family is None:
        raise TopicError("unknown_family", f"unknown topic family {level!r}")
    downward = len(levels) == 4
    if downward != (family.direction is Direction.SERVER_TO_DEVICE):
        raise TopicError("wrong_direction", f"{level!r} does not travel that way in {topic!r}")
    return DeviceTopic(prefix, device_id, family)


def fleet_subscription(prefix: str, share_group: str | None) -> str:
    """The filter fleet workers subscribe to; shared so workers split the load."""
    base = f"{validate_prefix(prefix)}/+/+"
    return f"$share/{share_group}/{base}" if share_group else base


def device_subscriptions(prefix: str, device_id: str) -> list[str]:
    """Topics a device subscribes to: everything addressed to it."""
    return [
        device_topic(prefix, device_id, family)
        for family in Family
        if family.direction is Direction.SERVER_TO_DEVICE
    ]


def device_acl_patterns(prefix: str) -> list[tuple[str, str]]:
    """Mosquitto ACL patterns (access, topic) confining a device (username = device id).

    A device writes only three-level topics in its own subtree and reads
    only what the server sends down to it.
    """
    validate_prefix(prefix)
    return [("write", f"{prefix}/%u/+"), ("read", f"{prefix}/%u/+/{DOWN}")]


def fleet_acl_topic(prefix: str) -> str:
    """The subtree the fleet service account may read and write."""
    return f"{validate_prefix(prefix)}/#"
