"""Payload schemas: classification of bad input, envelopes, family lookup."""

from __future__ import annotations

import base64
import random
from typing import Any

import msgspec
import pytest

from printfleet_protocol import PAYLOAD_TYPES, Family, PayloadError, decode, encode, family_of
from printfleet_protocol.payloads import (
    MAX_IMAGE_BYTES,
    MAX_PAYLOAD_BYTES,
    SUPPORTED_VERSIONS,
    CameraSnapshot,
    CommandKind,
    Heartbeat,
    Heater,
    StoredAck,
    Telemetry,
)
from printfleet_protocol.topics import Direction

TS = 1795932000.0

# The smallest valid payload of each family: only required fields.
MINIMAL: dict[Family, dict[str, Any]] = {
    Family.PRESENCE: {"v": 1, "ts": TS, "seq": 1, "status": "online"},
    Family.TELEMETRY: {"v": 1, "ts": TS, "seq": 2, "state": "idle"},
    Family.JOB: {"v": 1, "ts": TS, "seq": 3, "job_id": "job-1", "event": "started",
                 "file_name": "cube_0.4n_0.2mm_PLA_MK3S_12m.gcode", "origin": "sd_card"},
    Family.HEARTBEAT: {"v": 1, "ts": TS, "seq": 4, "interval_s": 30.0, "uptime_s": 12.0},
    Family.DOWNTIME: {"v": 1, "ts": TS, "seq": 5, "started_at": TS - 60, "ended_at": TS - 5},
    Family.FACTS: {"v": 1, "ts": TS, "seq": 6, "hostname": "printer-01", "agent_version": "0.1.0"},
    Family.CAMERA: {"v": 1, "ts": TS, "seq": 7, "reason": "live", "image": "AAEC"},
    Family.ACK: {"v": 1, "ts": TS, "seq": 8, "transaction": "cmd-1", "status": "accepted"},
    Family.COMMAND: {"v": 1, "ts": TS, "transaction": "cmd-1", "kind": "pause",
                     "expires_at": TS + 120},
    Family.STORED: {"v": 1, "ts": TS, "ranges": [[1, 8]]},
    Family.WATCH: {"v": 1, "ts": TS, "watch_s": 15.0},
}

FAMILIES = list(Family)
FAMILY_IDS = [f.value for f in FAMILIES]


def payload(family: Family, **changes: Any) -> bytes:
    """Encode the minimal payload of a family with some fields changed."""
    return msgspec.json.encode({**MINIMAL[family], **changes})


def without(family: Family, field: str) -> bytes:
    document = dict(MINIMAL[family])
    del document[field]
    return msgspec.json.encode(document)


def reason_of(family: Family, raw: bytes, **kwargs: Any) -> str:
    with pytest.raises(PayloadError) as caught:
        decode(family, raw, **kwargs)
    return caught.value.reason


# --- the valid baseline -----------------------------------------------------

def test_minimal_table_covers_every_family() -> None:
    assert set(MINIMAL) == set(Family) == set(PAYLOAD_TYPES)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_minimal_payload_decodes_and_round_trips(family: Family) -> None:
    message = decode(family, payload(family))
    assert type(message) is PAYLOAD_TYPES[family]
    assert message.v == 1 and message.ts == TS
    assert decode(family, encode(message)) == message


# --- classification of failures ---------------------------------------------

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{not json}", id="not-json"),
    pytest.param(b'{"v": 1, "ts": 1', id="truncated-object"),
    pytest.param(b'{"v": 2, "ts": 1', id="truncated-v2"),
    pytest.param(b"[1, 2", id="truncated-array"),
    pytest.param(b'{"v": 1,}', id="trailing-comma"),
    pytest.param(b'{"v": 1} {"v": 1}', id="two-documents"),
    pytest.param(b'{"v": 1, "status": "\xff\xfe"}', id="not-utf8"),
    pytest.param(b'{"v": 1, "ts": 1.0, "seq": 1, "status": "\xff"}', id="not-utf8-in-field"),
    pytest.param(b'{"v": 1, "ts": 1.0, "seq": 1, "\xfd": 1}', id="not-utf8-in-key"),
    pytest.param(b'{"v": 1, "ts": 1.0, "seq": 1, "job_id": "\xed\xa0\x80"}', id="surrogate"),
    pytest.param(b"[" * 100_000, id="deeply-nested-truncated"),
    pytest.param(b"[" * 5_000 + b"]" * 5_000, id="deeply-nested"),
    pytest.param(b'{"v": 2, "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", id="deeply-nested-v2"),
    pytest.param(b"online", id="bare-word"),
]


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed(family: Family, raw: bytes) -> None:
    assert reason_of(family, raw) == "malformed"


NOT_AN_OBJECT = [
    pytest.param(b"[]", id="array"),
    pytest.param(b'"online"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
]


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
def test_well_formed_json_that_is_not_an_object_is_invalid(raw: bytes) -> None:
    assert reason_of(Family.TELEMETRY, raw) == "invalid"


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_version_2_is_unsupported_even_when_valid_otherwise(family: Family) -> None:
    assert reason_of(family, payload(family, v=2)) == "unsupported_version"


UNSUPPORTED_VERSION = [
    pytest.param({"v": 2, "ts": TS, "seq": 9, "state": "idle", "nozzles": [1]},
                 id="v2-with-new-field"),
    pytest.param({"v": 2, "temperature": {"hotend": 215}}, id="v2-different-shape"),
    pytest.param({"v": 2}, id="v2-only"),
    pytest.param({"v": 0, "ts": TS, "seq": 9, "state": "idle"}, id="v0"),
    pytest.param({"v": -1, "ts": TS, "seq": 9, "state": "idle"}, id="negative"),
    pytest.param({"v": "1", "ts": TS, "seq": 9, "state": "idle"}, id="string-1"),
    pytest.param({"v": 1.5, "ts": TS, "seq": 9, "state": "idle"}, id="float"),
    pytest.param({"v": True, "ts": TS, "seq": 9, "state": "idle"}, id="bool"),
    pytest.param({"v": None, "ts": TS, "seq": 9, "state": "idle"}, id="null"),
    pytest.param({"v": [1], "ts": TS}, id="list"),  # unhashable: must not crash
    pytest.param({"v": {"major": 1}, "ts": TS}, id="object"),
]


@pytest.mark.parametrize("document", UNSUPPORTED_VERSION)
def test_unsupported_version(document: dict[str, Any]) -> None:
    assert reason_of(Family.TELEMETRY, msgspec.json.encode(document)) == "unsupported_version"


def _required_fields(family: Family) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(PAYLOAD_TYPES[family]) if f.required]


MISSING_FIELD = [
    pytest.param(family, name, id=f"{family.value}-{name}")
    for family in FAMILIES
    for name in _required_fields(family)
]


@pytest.mark.parametrize(("family", "field"), MISSING_FIELD)
def test_missing_required_field_is_invalid(family: Family, field: str) -> None:
    assert reason_of(family, without(family, field)) == "invalid"


INVALID = [
    pytest.param(Family.TELEMETRY, {"progress_pct": 101}, id="progress-101"),
    pytest.param(Family.TELEMETRY, {"progress_pct": -0.5}, id="progress-negative"),
    pytest.param(Family.JOB, {"progress_pct": 100.01}, id="job-progress-over-100"),
    pytest.param(Family.TELEMETRY, {"fans_pct": {"part": 120}}, id="fan-over-100"),
    pytest.param(Family.TELEMETRY, {"time_left_s": -1}, id="time-left-negative"),
    pytest.param(Family.TELEMETRY, {"seq": -1}, id="seq-negative"),
    pytest.param(Family.TELEMETRY, {"ts": "2026-11-29T06:00:00Z"}, id="ts-string"),
    pytest.param(Family.TELEMETRY, {"seq": 1.5}, id="seq-float"),
    pytest.param(Family.TELEMETRY, {"state": "melting"}, id="unknown-state"),
    pytest.param(Family.TELEMETRY, {"humidity": 40}, id="unknown-field"),
    pytest.param(Family.TELEMETRY, {"heaters": {"tool0": {"actual": 200, "power": 0.4}}},
                 id="unknown-nested-field"),
    pytest.param(Family.TELEMETRY, {"job_id": "j" * 257}, id="text-too-long"),
    pytest.param(Family.PRESENCE, {"status": "sleeping"}, id="unknown-presence"),
    pytest.param(Family.HEARTBEAT, {"interval_s": 0}, id="heartbeat-interval-zero"),
    pytest.param(Family.CAMERA, {"image": "not base64!"}, id="image-not-base64"),
    pytest.param(Family.ACK, {"status": "ok"}, id="unknown-ack-status"),
    pytest.param(Family.COMMAND, {"kind": "self_destruct"}, id="unknown-command"),
    pytest.param(Family.COMMAND, {"seq": 1}, id="command-has-no-seq"),
    pytest.param(Family.COMMAND, {"args": ["M104 S0"]}, id="command-args-not-object"),
    pytest.param(Family.HEARTBEAT, {"outbox_depth": -1}, id="outbox-depth-negative"),
    pytest.param(Family.HEARTBEAT, {"telemetry_thinned_total": -1}, id="thinned-negative"),
    pytest.param(Family.HEARTBEAT, {"undeliverable_total": -1}, id="undeliverable-negative"),
    pytest.param(Family.HEARTBEAT, {"outbox_depth": 2.5}, id="outbox-depth-float"),
    pytest.param(Family.HEARTBEAT, {"telemetry_thinned_total": "3"}, id="thinned-string"),
    pytest.param(Family.HEARTBEAT, {"undeliverable_total": True}, id="undeliverable-bool"),
    pytest.param(Family.HEARTBEAT, {"outbox_depth": None}, id="outbox-depth-null"),
    pytest.param(Family.COMMAND, {"kind": "CONFIGURE"}, id="command-kind-case"),
    pytest.param(Family.WATCH, {"watch_s": 0}, id="watch-zero"),
    pytest.param(Family.WATCH, {"watch_s": 601}, id="watch-over-ten-minutes"),
    pytest.param(Family.WATCH, {"interval_s": -1}, id="watch-interval-negative"),
    pytest.param(Family.WATCH, {"seq": 1}, id="watch-has-no-seq"),
    pytest.param(Family.STORED, {"stored_seq": 8}, id="stored-seq-is-gone"),
    pytest.param(Family.STORED, {"seq": 1}, id="stored-has-no-seq"),
    pytest.param(Family.STORED, {"ranges": [[1]]}, id="range-one-number"),
    pytest.param(Family.STORED, {"ranges": [[1, 2, 3]]}, id="range-three-numbers"),
    pytest.param(Family.STORED, {"ranges": [[]]}, id="range-empty"),
    pytest.param(Family.STORED, {"ranges": [1, 8]}, id="ranges-flat"),
    pytest.param(Family.STORED, {"ranges": [[1, 8], 9]}, id="ranges-mixed"),
    pytest.param(Family.STORED, {"ranges": 8}, id="ranges-number"),
    pytest.param(Family.STORED, {"ranges": None}, id="ranges-null"),
    pytest.param(Family.STORED, {"ranges": [{"first": 1, "last": 8}]}, id="range-object"),
    pytest.param(Family.STORED, {"ranges": {"1": 8}}, id="ranges-object"),
    pytest.param(Family.STORED, {"ranges": [[-1, 8]]}, id="range-first-negative"),
    pytest.param(Family.STORED, {"ranges": [[1, -8]]}, id="range-last-negative"),
    pytest.param(Family.STORED, {"ranges": [[1.0, 8]]}, id="range-float"),
    pytest.param(Family.STORED, {"ranges": [["1", "8"]]}, id="range-strings"),
    pytest.param(Family.STORED, {"ranges": [[1, None]]}, id="range-open-ended"),
    pytest.param(Family.STORED, {"ranges": [[True, 8]]}, id="range-bool"),
]


@pytest.mark.parametrize(("family", "changes"), INVALID)
def test_invalid(family: Family, changes: dict[str, Any]) -> None:
    assert reason_of(family, payload(family, **changes)) == "invalid"


# --- job: the file's slicer and the filament --------------------------------

JOB_FILE_FIELDS = ("filament_used_g", "slicer", "slicer_version")


def test_job_file_facts_are_optional_and_left_out_when_unset() -> None:
    event = decode(Family.JOB, payload(Family.JOB))
    assert [getattr(event, name) for name in JOB_FILE_FIELDS] == [None, None, None]
    # Unset, they are not sent: a server from before them accepts the event.
    assert not set(JOB_FILE_FIELDS) & set(msgspec.json.decode(encode(event)))


def test_an_event_as_earlier_agents_sent_it_still_decodes() -> None:
    # Earlier agents sent every optional field, unset ones as null.
    raw = payload(Family.JOB, progress_pct=None, time_left_s=None, reason=None,
                  filament_used_mm=None, command_transaction=None)
    assert decode(Family.JOB, raw).filament_used_mm is None


def test_job_carries_slicer_and_filament() -> None:
    raw = payload(Family.JOB, filament_used_mm=1532.67, filament_used_g=4.57,
                  slicer="PrusaSlicer", slicer_version="2.7.1")
    event = decode(Family.JOB, raw)
    assert (event.slicer, event.slicer_version, event.filament_used_g) == ("PrusaSlicer", "2.7.1",
                                                                           4.57)
    assert decode(Family.JOB, encode(event)) == event


@pytest.mark.parametrize("changes", [{"filament_used_g": -1.0}, {"slicer": "x" * 257},
                                     {"slicer_version": 2.7}])
def test_job_file_facts_are_checked(changes: dict[str, Any]) -> None:
    with pytest.raises(PayloadError) as error:
        decode(Family.JOB, payload(Family.JOB, **changes))
    assert error.value.reason == "invalid"


# --- heartbeat: the outbox counters ----------------------------------------

OUTBOX_COUNTERS = ("outbox_depth", "telemetry_thinned_total", "undeliverable_total")


def test_heartbeat_outbox_counters_default_to_zero() -> None:
    heartbeat = decode(Family.HEARTBEAT, payload(Family.HEARTBEAT))
    assert [getattr(heartbeat, name) for name in OUTBOX_COUNTERS] == [0, 0, 0]


def test_heartbeat_outbox_counters_are_optional_ints() -> None:
    fields = {f.name: f for f in msgspec.structs.fields(Heartbeat)}
    for name in OUTBOX_COUNTERS:
        assert not fields[name].required
        assert fields[name].default == 0


def test_heartbeat_carries_outbox_counters() -> None:
    raw = payload(Family.HEARTBEAT, outbox_depth=12, telemetry_thinned_total=1440,
                  undeliverable_total=3)
    heartbeat = decode(Family.HEARTBEAT, raw)
    assert (heartbeat.outbox_depth, heartbeat.telemetry_thinned_total,
            heartbeat.undeliverable_total) == (12, 1440, 3)
    assert decode(Family.HEARTBEAT, encode(heartbeat)) == heartbeat


def test_heartbeat_counters_accept_large_totals() -> None:
    heartbeat = decode(Family.HEARTBEAT, payload(Family.HEARTBEAT, telemetry_thinned_total=2**40))
    assert heartbeat.telemetry_thinned_total == 2**40


# --- stored: seq ranges -----------------------------------------------------

@pytest.mark.parametrize(("ranges", "expected"), [
    pytest.param([[0, 0]], [(0, 0)], id="seq-zero"),
    pytest.param([[7, 7]], [(7, 7)], id="single-seq"),
    pytest.param([[48190, 48214], [48220, 48220]], [(48190, 48214), (48220, 48220)],
                 id="two-ranges"),
    pytest.param([[48220, 48220], [48190, 48214]], [(48220, 48220), (48190, 48214)],
                 id="any-order"),
    pytest.param([[0, 2**63 - 1]], [(0, 2**63 - 1)], id="largest-seq"),
])
def test_stored_ranges_decode_as_inclusive_pairs(ranges: list, expected: list) -> None:
    ack = decode(Family.STORED, payload(Family.STORED, ranges=ranges))
    assert type(ack) is StoredAck
    assert ack.ranges == expected


def test_stored_ranges_encode_as_json_pairs() -> None:
    ack = StoredAck(v=1, ts=TS, ranges=[(48190, 48214), (48220, 48220)])
    assert msgspec.json.decode(encode(ack))["ranges"] == [[48190, 48214], [48220, 48220]]
    assert decode(Family.STORED, encode(ack)) == ack


def test_stored_ranges_are_required() -> None:
    assert reason_of(Family.STORED, without(Family.STORED, "ranges")) == "invalid"


def test_stored_range_count_is_bounded() -> None:
    many = [[seq, seq] for seq in range(0, 20_000, 2)]
    assert len(decode(Family.STORED, payload(Family.STORED, ranges=many)).ranges) == 10_000
    too_many = [*many, [20_001, 20_001]]
    assert reason_of(Family.STORED, payload(Family.STORED, ranges=too_many)) == "invalid"


# --- commands ---------------------------------------------------------------

def test_command_kinds() -> None:
    assert {kind.value for kind in CommandKind} == {
        "start_print", "pause", "resume", "cancel", "send_gcode", "connect", "disconnect",
        "camera_live", "configure",
    }


@pytest.mark.parametrize("kind", list(CommandKind), ids=lambda k: k.value)
def test_every_command_kind_decodes(kind: CommandKind) -> None:
    command = decode(Family.COMMAND, payload(Family.COMMAND, kind=kind.value))
    assert command.kind is kind


@pytest.mark.parametrize(("kind", "args"), [
    pytest.param("configure", {"downtime_logging": True}, id="configure"),
    pytest.param("camera_live", {"enabled": True, "interval_s": 0.5, "duration_s": 600.0},
                 id="camera-live"),
    pytest.param("camera_live", {"enabled": False}, id="camera-live-off"),
    pytest.param("start_print", {"file_name": "cube.gcode"}, id="start-print-on-printer"),
    pytest.param("start_print", {"file_name": "cube.gcode", "url": "https://fleet.example/f/1",
                                 "sha256": "ab" * 32, "size_bytes": 1024}, id="start-print-url"),
])
def test_command_args_are_carried_as_sent(kind: str, args: dict[str, Any]) -> None:
    command = decode(Family.COMMAND, payload(Family.COMMAND, kind=kind, args=args))
    assert command.args == args


def test_deeply_nested_free_form_data_is_malformed() -> None:
    data = b'{"a": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    raw = payload(Family.ACK)[:-1] + b', "data": ' + data + b"}"
    assert reason_of(Family.ACK, raw) == "malformed"


def test_oversize_is_checked_before_parsing() -> None:
    raw = b"x" * (MAX_PAYLOAD_BYTES + 1)
    assert reason_of(Family.TELEMETRY, raw) == "oversize"


def test_oversize_limit_is_inclusive() -> None:
    valid = payload(Family.TELEMETRY)
    padded = valid[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(valid)) + b"}"
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert decode(Family.TELEMETRY, padded).state == "idle"
    assert reason_of(Family.TELEMETRY, padded + b" ") == "oversize"


def test_oversize_honours_max_bytes() -> None:
    valid = payload(Family.PRESENCE)
    assert decode(Family.PRESENCE, valid, max_bytes=len(valid)).status == "online"
    assert reason_of(Family.PRESENCE, valid, max_bytes=len(valid) - 1) == "oversize"


def test_largest_valid_camera_payload_is_not_oversize() -> None:
    # Control characters are escaped as \u00XX: six bytes for every character.
    worst_text = "\x01" * 256
    snapshot = CameraSnapshot(
        v=1, ts=-1.2345678901234567e300, seq=2**63 - 1, reason=worst_text,
        image=b"\xff" * MAX_IMAGE_BYTES, content_type=worst_text, job_id=worst_text,
    )
    raw = encode(snapshot)
    assert len(raw) <= MAX_PAYLOAD_BYTES
    assert decode(Family.CAMERA, raw) == snapshot


def test_camera_image_over_limit_is_invalid() -> None:
    image = base64.b64encode(b"\x00" * (MAX_IMAGE_BYTES + 1)).decode()
    assert reason_of(Family.CAMERA, payload(Family.CAMERA, image=image)) == "invalid"


JUNK = [b"{}", b'{"v": 1}', b'{"v": 1, "ts": null}', b"[[[[[]]]]]", b'{"v": {"v": 1}}',
        b'{"v": 1e400}', b'{"v": 18446744073709551616}', b"\x00", b"\xef\xbb\xbf{}"]


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@pytest.mark.parametrize("raw", JUNK)
def test_junk_only_ever_raises_payload_error(family: Family, raw: bytes) -> None:
    with pytest.raises(PayloadError) as caught:
        decode(family, raw)
    assert caught.value.reason in {"malformed", "invalid", "unsupported_version"}


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_mutated_payloads_only_ever_raise_payload_error(family: Family) -> None:
    rng = random.Random(family.value)
    valid = payload(family)
    rejected = 0
    for _ in range(2_000):
        mutated = bytearray(valid)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:  # any other exception fails the test
            decode(family, bytes(mutated))
        except PayloadError:
            rejected += 1
    assert rejected > 0, "the mutations were real"


def test_payload_error_carries_reason() -> None:
    error = PayloadError("invalid", "Object missing required field `seq`")
    assert isinstance(error, ValueError)
    assert error.reason == "invalid"
    assert str(error) == "invalid: Object missing required field `seq`"


# --- envelopes --------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_every_payload_requires_version_and_timestamp(family: Family) -> None:
    fields = {f.name: f for f in msgspec.structs.fields(PAYLOAD_TYPES[family])}
    assert fields["v"].required and fields["v"].type is int
    assert fields["ts"].required and fields["ts"].type is float


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_seq_required_exactly_on_device_payloads(family: Family) -> None:
    fields = {f.name: f for f in msgspec.structs.fields(PAYLOAD_TYPES[family])}
    if family.direction is Direction.DEVICE_TO_SERVER:
        assert fields["seq"].required
    else:
        assert "seq" not in fields


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_every_payload_forbids_unknown_fields(family: Family) -> None:
    assert PAYLOAD_TYPES[family].__struct_config__.forbid_unknown_fields


def test_command_and_ack_share_the_transaction_field() -> None:
    names = {f.name for f in msgspec.structs.fields(PAYLOAD_TYPES[Family.ACK])}
    assert {"transaction", "status", "data", "error"} <= names
    names = {f.name for f in msgspec.structs.fields(PAYLOAD_TYPES[Family.COMMAND])}
    assert {"transaction", "kind", "expires_at", "args"} <= names


def test_only_version_1_is_supported() -> None:
    assert SUPPORTED_VERSIONS == {1}


# --- family_of --------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_family_of_decoded_payload(family: Family) -> None:
    assert family_of(decode(family, payload(family))) is family


def test_family_of_refuses_non_payloads() -> None:
    with pytest.raises(TypeError):
        family_of(Heater(actual=21.0))


def test_family_of_refuses_subclasses() -> None:
    class PatchedTelemetry(Telemetry):
        pass

    message = PatchedTelemetry(v=1, ts=TS, seq=1, state="idle")
    with pytest.raises(TypeError):
        family_of(message)


def test_a_sequence_number_beyond_64_bits_is_invalid_not_a_poison_batch():
    from printfleet_protocol import Family, PayloadError, decode

    too_big = b'{"v": 1, "ts": 1.0, "seq": 9223372036854775808, "state": "idle"}'
    with pytest.raises(PayloadError) as caught:
        decode(Family.TELEMETRY, too_big)
    assert caught.value.reason == "invalid"
    largest = b'{"v": 1, "ts": 1.0, "seq": 9223372036854775807, "state": "idle"}'
    assert decode(Family.TELEMETRY, largest).seq == 2**63 - 1
