"""The MQTT edge: parsed topics are remembered, and a remembered answer is still the right one."""

from __future__ import annotations

import time

from fleet.edge import classify
from printfleet_protocol import Family, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, Telemetry
from storage import Accepted, Rejected

MAX_BYTES = 256 * 1024


def payload(seq: int) -> bytes:
    return encode(Telemetry(v=SCHEMA_VERSION, ts=time.time(), seq=seq, state="printing",
                            heaters={"bed": Heater(60.0, 60.0)}))


def test_the_same_topic_classifies_the_same_way_every_time():
    for seq in range(3):
        item = classify("pf", "pf/printer-1/telemetry", payload(seq), 1.0, MAX_BYTES)
        assert isinstance(item, Accepted)
        assert (item.device_id, item.family, item.message.seq) == ("printer-1", Family.TELEMETRY,
                                                                   seq)


def test_a_bad_topic_is_rejected_every_time_with_its_reason():
    for _ in range(3):
        item = classify("pf", "pf/printer 1/telemetry", payload(1), 1.0, MAX_BYTES)
        assert isinstance(item, Rejected)
        assert item.reason == "bad_topic"
        assert "invalid device id" in item.detail


def test_a_topic_valid_under_one_prefix_is_rejected_under_another():
    assert isinstance(classify("pf", "pf/printer-1/telemetry", payload(1), 1.0, MAX_BYTES),
                      Accepted)
    other = classify("other", "pf/printer-1/telemetry", payload(1), 1.0, MAX_BYTES)
    assert isinstance(other, Rejected) and other.reason == "bad_topic"


def test_server_to_device_traffic_is_ignored_every_time():
    for _ in range(2):
        assert classify("pf", "pf/printer-1/stored/down", b"{}", 1.0, MAX_BYTES) is None
