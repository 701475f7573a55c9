"""The connections bench's ACL judgement, on hand-made inboxes."""

from __future__ import annotations

from printfleet.bench.acl_probe import Pair, choose_pairs, evaluate, forged_messages
from printfleet.bench.fleet_observer import CONTROL

PREFIX = "bench"


def test_pairs_are_spread_and_a_victim_is_never_its_own_snooper():
    devices = [f"d{n:03d}" for n in range(10)]

    pairs = choose_pairs(devices, 3)

    assert pairs == [Pair("d000", "d001"), Pair("d003", "d004"), Pair("d006", "d007")]
    assert len(choose_pairs(devices, 100)) == 5  # at most half the fleet snoops
    assert choose_pairs(devices[:1], 5) == []


def test_only_messages_from_inside_the_own_subtree_are_allowed():
    received = {
        "d000": [("bench/d000/cmd/down", CONTROL + b"d000"),  # its own command: fine
                 ("bench/d001/telemetry", b"{}")],  # the neighbour's telemetry: snooped
        "d001": [("bench/d001/cmd/down", CONTROL + b"d001"),
                 ("bench/d001/cmd/down", b"forged:d000")],  # a forged command got through
    }
    fleet_forged = [("bench/d001/telemetry", b"forged:d000")]

    findings = evaluate(PREFIX, ["d000", "d001"], received, fleet_forged)

    assert findings.snooped == ["d000 got bench/d001/telemetry"]
    assert len(findings.forged_to_devices) == 1
    assert len(findings.forged_to_fleet) == 1
    assert findings.violations == 3
    assert findings.controls_delivered == 2


def test_an_empty_inbox_has_no_violations_but_no_control_either():
    findings = evaluate(PREFIX, ["d000", "d001"], {"d000": [("bench/d000/cmd/down",
                                                             CONTROL + b"d000")]}, [])

    assert findings.violations == 0
    assert findings.controls_delivered == 1  # d001's inbox proves nothing


def test_a_control_for_another_device_does_not_count():
    findings = evaluate(PREFIX, ["d000"], {"d000": [("bench/d000/cmd/down", CONTROL + b"d001")]},
                        [])

    assert findings.controls_delivered == 0


def test_forged_messages_target_the_victims_subtree_and_name_the_snooper():
    messages = forged_messages(PREFIX, Pair("d000", "d001"))

    assert [topic for topic, _ in messages] == ["bench/d001/telemetry", "bench/d001/cmd/down"]
    assert all(payload == b"forged:d000" for _, payload in messages)
