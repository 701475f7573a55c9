"""The topic namespace: building, parsing, subscriptions and the broker ACL.

Device to server is ``<prefix>/<device>/<family>``; server to device is
``<prefix>/<device>/<family>/down``.
"""

from __future__ import annotations

import pytest

from printfleet_protocol import DeviceTopic, Family, TopicError, device_topic, parse_topic
from printfleet_protocol.topics import (
    Direction,
    device_acl_patterns,
    device_subscriptions,
    fleet_acl_topic,
    fleet_subscription,
    validate_device_id,
    validate_prefix,
)

PREFIX = "printfleet"

BAD_DEVICE_IDS = [
    pytest.param("printer+1", id="plus"),
    pytest.param("+", id="plus-alone"),
    pytest.param("printer#1", id="hash"),
    pytest.param("#", id="hash-alone"),
    pytest.param("Printer-01", id="uppercase"),
    pytest.param("PRINTER01", id="all-uppercase"),
    pytest.param("ab", id="too-short"),
    pytest.param("", id="empty"),
    pytest.param("p" * 65, id="too-long"),
    pytest.param("-printer", id="leading-dash"),
    pytest.param("_printer", id="leading-underscore"),
    pytest.param("printer.01", id="dot"),
    pytest.param("printer 01", id="space"),
    pytest.param("imprimante-é", id="non-ascii"),
]


def mqtt_matches(topic_filter: str, topic: str) -> bool:
    """Tell whether an MQTT filter (with + and #) matches a topic name."""
    filter_levels, topic_levels = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels) or level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


# --- family properties ------------------------------------------------------

FAMILY_TABLE = [
    # family, level, direction, retained
    (Family.PRESENCE, "status", Direction.DEVICE_TO_SERVER, True),
    (Family.TELEMETRY, "telemetry", Direction.DEVICE_TO_SERVER, False),
    (Family.JOB, "job", Direction.DEVICE_TO_SERVER, False),
    (Family.HEARTBEAT, "heartbeat", Direction.DEVICE_TO_SERVER, False),
    (Family.DOWNTIME, "downtime", Direction.DEVICE_TO_SERVER, False),
    (Family.FACTS, "facts", Direction.DEVICE_TO_SERVER, True),
    (Family.CAMERA, "camera", Direction.DEVICE_TO_SERVER, False),
    (Family.ACK, "ack", Direction.DEVICE_TO_SERVER, False),
    (Family.COMMAND, "cmd", Direction.SERVER_TO_DEVICE, False),
    (Family.STORED, "stored", Direction.SERVER_TO_DEVICE, False),
    (Family.WATCH, "watch", Direction.SERVER_TO_DEVICE, False),
]


def test_family_table_covers_every_family() -> None:
    assert [row[0] for row in FAMILY_TABLE] == list(Family)


@pytest.mark.parametrize(("family", "level", "direction", "retained"), FAMILY_TABLE,
                         ids=[row[1] for row in FAMILY_TABLE])
def test_family_properties(family: Family, level: str, direction: Direction,
                           retained: bool) -> None:
    assert family.value == level
    assert family.direction is direction
    assert family.retained is retained


def test_commands_are_never_retained() -> None:
    assert not Family.COMMAND.retained


# --- building and parsing ---------------------------------------------------

VALID_TOPICS = [
    ("printfleet/printer-01/telemetry", "printfleet", "printer-01", Family.TELEMETRY),
    ("printfleet/printer-01/status", "printfleet", "printer-01", Family.PRESENCE),
    ("printfleet/printer-01/cmd/down", "printfleet", "printer-01", Family.COMMAND),
    ("printfleet/mk3s_bay_2/cmd/down", "printfleet", "mk3s_bay_2", Family.COMMAND),
    ("pf-test-7/007/stored/down", "pf-test-7", "007", Family.STORED),
    ("x/abc/ack", "x", "abc", Family.ACK),
    ("x/abc/stored/down", "x", "abc", Family.STORED),
    (f"printfleet/{'a' * 64}/job", "printfleet", "a" * 64, Family.JOB),
    (f"printfleet/{'a' * 64}/cmd/down", "printfleet", "a" * 64, Family.COMMAND),
]


@pytest.mark.parametrize(("topic", "prefix", "device_id", "family"), VALID_TOPICS,
                         ids=[row[0][:40] for row in VALID_TOPICS])
def test_parse_valid_topic(topic: str, prefix: str, device_id: str, family: Family) -> None:
    assert parse_topic(prefix, topic) == DeviceTopic(prefix, device_id, family)


@pytest.mark.parametrize(("topic", "prefix", "device_id", "family"), VALID_TOPICS,
                         ids=[row[0][:40] for row in VALID_TOPICS])
def test_build_valid_topic(topic: str, prefix: str, device_id: str, family: Family) -> None:
    assert device_topic(prefix, device_id, family) == topic
    assert str(DeviceTopic(prefix, device_id, family)) == topic


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_build_then_parse_round_trips(family: Family) -> None:
    topic = device_topic(PREFIX, "printer-01", family)
    assert parse_topic(PREFIX, topic) == DeviceTopic(PREFIX, "printer-01", family)


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_topic_shape_follows_direction(family: Family) -> None:
    topic = device_topic(PREFIX, "printer-01", family)
    if family.direction is Direction.SERVER_TO_DEVICE:
        assert topic == f"printfleet/printer-01/{family.value}/down"
    else:
        assert topic == f"printfleet/printer-01/{family.value}"


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_family_on_the_other_shape_is_wrong_direction(family: Family) -> None:
    """Every family, sent with the shape of the opposite direction."""
    topic = device_topic(PREFIX, "printer-01", family)
    if family.direction is Direction.SERVER_TO_DEVICE:
        wrong = topic.removesuffix("/down")
    else:
        wrong = f"{topic}/down"
    with pytest.raises(TopicError) as caught:
        parse_topic(PREFIX, wrong)
    assert caught.value.reason == "wrong_direction"


BAD_TOPICS = [
    # topic, reason
    pytest.param("other/printer-01/telemetry", "bad_topic", id="wrong-prefix"),
    pytest.param("printfleetx/printer-01/telemetry", "bad_topic", id="longer-prefix"),
    pytest.param("Printfleet/printer-01/telemetry", "bad_topic", id="prefix-case"),
    pytest.param("printfleet/printer-01", "bad_topic", id="too-few-levels"),
    pytest.param("printfleet", "bad_topic", id="one-level"),
    pytest.param("", "bad_topic", id="empty"),
    pytest.param("printfleet/printer-01/telemetry/extra", "bad_topic", id="fourth-level-not-down"),
    pytest.param("printfleet/printer-01/telemetry/", "bad_topic", id="trailing-slash"),
    pytest.param("printfleet/printer-01/cmd/up", "bad_topic", id="cmd-fourth-level-up"),
    pytest.param("printfleet/printer-01/cmd/DOWN", "bad_topic", id="down-case"),
    pytest.param("printfleet/printer-01/cmd/+", "bad_topic", id="fourth-level-wildcard"),
    pytest.param("printfleet/printer-01/cmd/", "bad_topic", id="cmd-trailing-slash"),
    pytest.param("printfleet/printer-01/cmd/down/", "bad_topic", id="down-trailing-slash"),
    pytest.param("printfleet/printer-01/cmd/down/extra", "bad_topic", id="five-levels"),
    pytest.param("printfleet/printer-01/stored/down/down", "bad_topic", id="down-twice"),
    pytest.param("other/printer-01/cmd/down", "bad_topic", id="down-wrong-prefix"),
    pytest.param("printfleet/Printer-01/cmd/down", "bad_topic", id="down-device-uppercase"),
    pytest.param("printfleet/+/cmd/down", "bad_topic", id="down-device-plus"),
    pytest.param("/printfleet/printer-01/telemetry", "bad_topic", id="leading-slash"),
    pytest.param("printfleet//telemetry", "bad_topic", id="empty-device"),
    pytest.param("printfleet/+/telemetry", "bad_topic", id="device-plus"),
    pytest.param("printfleet/#/telemetry", "bad_topic", id="device-hash"),
    pytest.param("printfleet/printer+1/telemetry", "bad_topic", id="device-contains-plus"),
    pytest.param("printfleet/Printer-01/telemetry", "bad_topic", id="device-uppercase"),
    pytest.param("printfleet/ab/telemetry", "bad_topic", id="device-too-short"),
    pytest.param("printfleet/Printer-01/nonsense", "bad_topic", id="bad-device-wins"),
    pytest.param("printfleet/printer-01/temperature", "unknown_family", id="unknown-family"),
    pytest.param("printfleet/printer-01/TELEMETRY", "unknown_family", id="family-case"),
    pytest.param("printfleet/printer-01/presence", "unknown_family", id="member-name-not-level"),
    pytest.param("printfleet/printer-01/", "unknown_family", id="empty-family"),
    pytest.param("printfleet/printer-01/+", "unknown_family", id="family-wildcard"),
    pytest.param("printfleet/printer-01/down", "unknown_family", id="down-as-family"),
    pytest.param("printfleet/printer-01/nonsense/down", "unknown_family", id="down-unknown-family"),
    pytest.param("printfleet/printer-01/+/down", "unknown_family", id="down-family-wildcard"),
    pytest.param("printfleet/printer-01//down", "unknown_family", id="down-empty-family"),
    pytest.param("printfleet/printer-01/CMD/down", "unknown_family", id="down-family-case"),
    pytest.param("printfleet/printer-01/cmd", "wrong_direction", id="cmd-without-down"),
    pytest.param("printfleet/printer-01/stored", "wrong_direction", id="stored-without-down"),
    pytest.param("printfleet/printer-01/telemetry/down", "wrong_direction", id="telemetry-down"),
    pytest.param("printfleet/printer-01/status/down", "wrong_direction", id="status-down"),
    pytest.param("printfleet/printer-01/ack/down", "wrong_direction", id="ack-down"),
]


@pytest.mark.parametrize(("topic", "reason"), BAD_TOPICS)
def test_parse_rejects_with_reason(topic: str, reason: str) -> None:
    with pytest.raises(TopicError) as caught:
        parse_topic(PREFIX, topic)
    assert caught.value.reason == reason
    assert str(caught.value).startswith(f"{reason}: ")


def test_topic_error_is_a_value_error() -> None:
    assert issubclass(TopicError, ValueError)


@pytest.mark.parametrize("device_id", BAD_DEVICE_IDS)
def test_invalid_device_ids_are_refused(device_id: str) -> None:
    with pytest.raises(ValueError):
        validate_device_id(device_id)
    with pytest.raises(ValueError):
        device_topic(PREFIX, device_id, Family.TELEMETRY)
    with pytest.raises(TopicError) as caught:
        parse_topic(PREFIX, f"{PREFIX}/{device_id}/telemetry")
    assert caught.value.reason == "bad_topic"


@pytest.mark.parametrize("device_id", ["abc", "printer-01", "mk3s_bay_2", "007", "a" * 64])
def test_valid_device_ids(device_id: str) -> None:
    assert validate_device_id(device_id) == device_id


@pytest.mark.parametrize("prefix", ["", "Printfleet", "a/b", "+", "#", "-pf", "p" * 33])
def test_invalid_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        validate_prefix(prefix)
    with pytest.raises(ValueError):
        device_topic(prefix, "printer-01", Family.TELEMETRY)
    with pytest.raises(ValueError):
        fleet_subscription(prefix, None)
    with pytest.raises(ValueError):
        device_subscriptions(prefix, "printer-01")
    with pytest.raises(ValueError):
        device_acl_patterns(prefix)
    with pytest.raises(ValueError):
        fleet_acl_topic(prefix)


# --- subscriptions and ACL --------------------------------------------------

@pytest.mark.parametrize(("share_group", "expected"), [
    (None, "printfleet/+/+"),
    ("", "printfleet/+/+"),
    ("workers", "$share/workers/printfleet/+/+"),
    ("printfleet", "$share/printfleet/printfleet/+/+"),
])
def test_fleet_subscription(share_group: str | None, expected: str) -> None:
    assert fleet_subscription(PREFIX, share_group) == expected


DEVICE_TO_SERVER = [f for f in Family if f.direction is Direction.DEVICE_TO_SERVER]
SERVER_TO_DEVICE = [f for f in Family if f.direction is Direction.SERVER_TO_DEVICE]


@pytest.mark.parametrize("family", DEVICE_TO_SERVER, ids=lambda f: f.value)
def test_fleet_subscription_matches_every_device_to_server_topic(family: Family) -> None:
    for share_group in (None, "workers"):
        topic_filter = _without_share(fleet_subscription(PREFIX, share_group))
        assert mqtt_matches(topic_filter, device_topic(PREFIX, "printer-01", family))
        assert not mqtt_matches(topic_filter, f"other/printer-01/{family.value}")


@pytest.mark.parametrize("family", SERVER_TO_DEVICE, ids=lambda f: f.value)
def test_fleet_subscription_misses_what_the_fleet_sends(family: Family) -> None:
    """Workers never receive their own commands and stored acks."""
    for share_group in (None, "workers"):
        topic_filter = _without_share(fleet_subscription(PREFIX, share_group))
        assert not mqtt_matches(topic_filter, device_topic(PREFIX, "printer-01", family))


@pytest.mark.parametrize("topic", [
    "printfleet/printer-01/temperature",  # unknown family
    "printfleet/printer-01/cmd",  # a device posing as the server
    "printfleet/printer-01/stored",
])
def test_fleet_subscription_still_receives_junk_a_device_can_publish(topic: str) -> None:
    """What a device may write reaches the edge, to be recorded as a reject."""
    assert mqtt_matches(_without_share(fleet_subscription(PREFIX, "workers")), topic)
    assert _device_may("write", "printer-01", topic)
    with pytest.raises(TopicError) as caught:
        parse_topic(PREFIX, topic)
    assert caught.value.reason in {"unknown_family", "wrong_direction"}


def _without_share(topic_filter: str) -> str:
    """The topic filter of a (possibly shared) subscription."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


def test_device_subscriptions_only_server_to_device_families() -> None:
    topics = device_subscriptions(PREFIX, "printer-01")
    assert topics == ["printfleet/printer-01/cmd/down", "printfleet/printer-01/stored/down",
                      "printfleet/printer-01/watch/down"]
    families = [parse_topic(PREFIX, topic).family for topic in topics]
    assert all(f.direction is Direction.SERVER_TO_DEVICE for f in families)
    assert set(families) == set(SERVER_TO_DEVICE)
    assert all(parse_topic(PREFIX, topic).device_id == "printer-01" for topic in topics)


def test_device_subscriptions_refuse_invalid_device_id() -> None:
    with pytest.raises(ValueError):
        device_subscriptions(PREFIX, "printer/01")


def test_device_acl_patterns() -> None:
    assert device_acl_patterns(PREFIX) == [
        ("write", "printfleet/%u/+"),
        ("read", "printfleet/%u/+/down"),
    ]
    assert device_acl_patterns("pf-test-7") == [
        ("write", "pf-test-7/%u/+"),
        ("read", "pf-test-7/%u/+/down"),
    ]


# Mosquitto's access words, and what each one grants.
_GRANTS = {"read": {"read", "readwrite"}, "write": {"write", "readwrite"}}


def _device_may(access: str, username: str, topic: str, prefix: str = PREFIX) -> bool:
    """Whether the device ACL patterns let `username` read or write `topic`."""
    return any(
        granted in _GRANTS[access] and mqtt_matches(pattern.replace("%u", username), topic)
        for granted, pattern in device_acl_patterns(prefix)
    )


@pytest.mark.parametrize("family", DEVICE_TO_SERVER, ids=lambda f: f.value)
def test_device_writes_its_own_device_to_server_topics(family: Family) -> None:
    assert _device_may("write", "printer-01", device_topic(PREFIX, "printer-01", family))


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_device_writes_nothing_of_another_device(family: Family) -> None:
    other = device_topic(PREFIX, "printer-02", family)
    assert not _device_may("write", "printer-01", other)
    assert not _device_may("write", "printer-01", f"{PREFIX}/printer-02/{family.value}")
    assert not _device_may("write", "printer-01", device_topic("other", "printer-01", family))


@pytest.mark.parametrize("family", SERVER_TO_DEVICE, ids=lambda f: f.value)
def test_device_cannot_forge_what_is_sent_down_to_it(family: Family) -> None:
    assert not _device_may("write", "printer-01", device_topic(PREFIX, "printer-01", family))


@pytest.mark.parametrize("topic", [
    "printfleet/printer-01/telemetry/down",
    "printfleet/printer-01/telemetry/extra",
    "printfleet/printer-01/a/b/c",
    "printfleet/printer-01",
    "printfleet",
    "printfleet/printer-01-x/telemetry",  # a longer id that starts with this one
    "printfleet/printer-0/telemetry",
    "other/printer-01/telemetry",
])
def test_device_writes_only_three_level_topics_in_its_subtree(topic: str) -> None:
    assert not _device_may("write", "printer-01", topic)


@pytest.mark.parametrize("family", SERVER_TO_DEVICE, ids=lambda f: f.value)
def test_device_reads_its_own_down_topics(family: Family) -> None:
    assert _device_may("read", "printer-01", device_topic(PREFIX, "printer-01", family))


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_device_reads_nothing_of_another_device(family: Family) -> None:
    assert not _device_may("read", "printer-01", device_topic(PREFIX, "printer-02", family))
    assert not _device_may("read", "printer-01", device_topic("other", "printer-01", family))


@pytest.mark.parametrize("family", DEVICE_TO_SERVER, ids=lambda f: f.value)
def test_device_reads_only_what_is_sent_down(family: Family) -> None:
    """Not even its own device-to-server topics (its presence, say)."""
    assert not _device_may("read", "printer-01", device_topic(PREFIX, "printer-01", family))


def test_device_may_subscribe_to_its_subscriptions() -> None:
    for topic in device_subscriptions(PREFIX, "printer-01"):
        assert _device_may("read", "printer-01", topic)
        assert not _device_may("read", "printer-02", topic)


def test_acl_follows_the_prefix() -> None:
    topic = device_topic("pf-test-7", "printer-01", Family.TELEMETRY)
    assert _device_may("write", "printer-01", topic, prefix="pf-test-7")
    assert not _device_may("write", "printer-01", topic)


def test_fleet_acl_topic() -> None:
    assert fleet_acl_topic(PREFIX) == "printfleet/#"


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_fleet_account_reaches_every_topic(family: Family) -> None:
    assert mqtt_matches(fleet_acl_topic(PREFIX), device_topic(PREFIX, "printer-01", family))
    assert not mqtt_matches(fleet_acl_topic(PREFIX), device_topic("other", "printer-01", family))


@pytest.mark.parametrize(("topic_filter", "topic", "matches"), [
    ("a/+/+", "a/b/c", True),
    ("a/+/+", "a/b", False),
    ("a/+/+", "a/b/c/d", False),
    ("a/b/#", "a/b/c/d", True),
    ("a/b/#", "a/c/d", False),
    ("a/b/c", "a/b/c", True),
    ("a/+/+/down", "a/b/c/down", True),
    ("a/+/+/down", "a/b/c", False),
    ("a/+/+/down", "a/b/c/up", False),
    ("a/+/+", "a/b/c/down", False),
    ("a/b/+", "a/c/d", False),
])
def test_mqtt_matches_helper(topic_filter: str, topic: str, matches: bool) -> None:
    assert mqtt_matches(topic_filter, topic) is matches
