"""The ACL sample of the connections bench: who snoops on whom, what counts as a violation.

Each sampled "snooper" device subscribes above its own subtree and to its
"victim's" topics, then publishes forged telemetry and a forged command into
the victim's subtree. Isolation holds when no device receives anything from
outside its own subtree and nobody (victim, fleet) receives a forged message.
The fleet then commands every sampled device: those controls must arrive, or
an empty inbox would prove nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from printfleet_protocol import Family, device_topic

from .fleet_observer import CONTROL, FORGED

Received = dict[str, list[tuple[str, bytes]]]  # device id -> (topic, payload)


@dataclass(frozen=True)
class Pair:
    snooper: str
    victim: str


def choose_pairs(device_ids: list[str], sample: int) -> list[Pair]:
    """Spread `sample` snoopers over the fleet; each snoops on the device after it.

    Devices are dealt to holder processes in turn, so the victim lives in
    another process (and another client) than its snooper.
    """
    count = min(sample, len(device_ids) // 2)
    if count < 1:
        return []
    step = len(device_ids) // count
    return [Pair(device_ids[index * step], device_ids[index * step + 1]) for index in range(count)]


def snoop_filters(prefix: str, pair: Pair) -> list[str]:
    """Filters a snooper subscribes to: the whole tree, wildcards, the victim's topics."""
    return ["#", f"{prefix}/#", f"{prefix}/+/{Family.TELEMETRY.value}",
            f"{prefix}/+/{Family.COMMAND.value}/+", f"{prefix}/{pair.victim}/#",
            device_topic(prefix, pair.victim, Family.TELEMETRY),
            device_topic(prefix, pair.victim, Family.COMMAND)]


def forged_messages(prefix: str, pair: Pair) -> list[tuple[str, bytes]]:
    """What a snooper publishes into its victim's subtree."""
    payload = FORGED + pair.snooper.encode()
    return [(device_topic(prefix, pair.victim, Family.TELEMETRY), payload),
            (device_topic(prefix, pair.victim, Family.COMMAND), payload)]


def sampled_devices(pairs: list[Pair]) -> list[str]:
    return [device for pair in pairs for device in (pair.snooper, pair.victim)]


@dataclass
class AclFindings:
    devices_checked: int = 0
    controls_delivered: int = 0  # sampled devices that received the fleet's command
    snooped: list[str] = field(default_factory=list)  # "device got topic"
    forged_to_devices: list[str] = field(default_factory=list)
    forged_to_fleet: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return len(self.snooped) + len(self.forged_to_devices) + len(self.forged_to_fleet)


def evaluate(prefix: str, devices: list[str], received: Received,
             fleet_forged: list[tuple[str, bytes]]) -> AclFindings:
    """Count what crossed a device boundary; every message is judged on its own."""
    findings = AclFindings(devices_checked=len(devices))
    for device_id in devices:
        own_subtree = f"{prefix}/{device_id}/"
        for topic, payload in received.get(device_id, []):
            if payload.startswith(FORGED):
                findings.forged_to_devices.append(f"{device_id} got {payload!r} on {topic}")
            elif not topic.startswith(own_subtree):
                findings.snooped.append(f"{device_id} got {topic}")
    findings.controls_delivered = controls_delivered(devices, received)
    findings.forged_to_fleet = [f"fleet got {payload!r} on {topic}"
                                for topic, payload in fleet_forged]
    return findings


def controls_delivered(devices: list[str], received: Received) -> int:
    """How many of these devices received the fleet's control command addressed to them."""
    return sum(any(payload == CONTROL + device_id.encode()
                   for _, payload in received.get(device_id, []))
               for device_id in devices)
