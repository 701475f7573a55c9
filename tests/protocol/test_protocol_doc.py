"""docs/protocol.md is part of the contract: its examples must be valid payloads.

Every ```json block in the document is an example. The nearest ``### <family
level>`` heading above it names its family, and there is exactly one example
per Family. The family table, the broker ACL, the subscriptions, the command
kinds, the reject reasons and the outbox classes are checked against the code
too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from printfleet_agent.outbox import LATEST_ONLY, MUST_DELIVER
from printfleet_protocol import (
    PAYLOAD_TYPES,
    DeviceTopic,
    Family,
    PayloadError,
    TopicError,
    decode,
    device_topic,
    encode,
    parse_topic,
)
from printfleet_protocol.payloads import CommandKind
from printfleet_protocol.topics import (
    FAMILY_BY_LEVEL,
    Direction,
    device_acl_patterns,
    fleet_acl_topic,
    fleet_subscription,
)

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
EXAMPLE_PREFIX = "printfleet"
EXAMPLE_DEVICE = "printer-01"

_SUBSECTION = re.compile(r"^### (?P<name>\S.*?)\s*$")
_SECTION = re.compile(r"^#{1,2} ")


@dataclass(frozen=True)
class Example:
    heading: str | None  # None: a json block outside any ### section
    prose: str  # the text between the heading and the block
    body: str


def parse_examples(text: str) -> list[Example]:
    """Return every ```json block with the ### heading it sits under."""
    examples: list[Example] = []
    heading: str | None = None
    prose: list[str] = []
    lines = iter(text.splitlines())
    for line in lines:
        if _SECTION.match(line):
            heading, prose = None, []
        elif match := _SUBSECTION.match(line):
            heading, prose = match["name"], []
        elif line.strip() == "```json":
            body = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                body.append(inner)
            else:
                raise AssertionError(f"unterminated ```json block under {heading!r}")
            examples.append(Example(heading, "\n".join(prose), "\n".join(body)))
        else:
            prose.append(line)
    return examples


def parse_table(text: str, header_start: str, only_one: bool = True) -> list[list[str]]:
    """Return the cells of each body row of the table(s) whose header starts so."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header_start)]
    assert starts, f"no table starting {header_start!r}"
    assert not only_one or len(starts) == 1, f"{len(starts)} tables start {header_start!r}"
    rows = []
    for start in starts:
        for line in lines[start + 2:]:  # skip the header and the |---| line
            if not line.startswith("|"):
                break
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def placeholder_topic(family: Family) -> str:
    """The topic of a family with <prefix> and <device_id> in place."""
    return str(DeviceTopic("<prefix>", "<device_id>", family))


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def examples(doc: str) -> list[Example]:
    return parse_examples(doc)


@pytest.fixture(scope="module")
def example_by_family(examples: list[Example]) -> dict[Family, Example]:
    return {FAMILY_BY_LEVEL[e.heading]: e for e in examples if e.heading in FAMILY_BY_LEVEL}


def test_every_json_block_sits_under_a_known_family_heading(examples: list[Example]) -> None:
    unknown = [e.heading for e in examples if e.heading not in FAMILY_BY_LEVEL]
    assert not unknown, f"json examples under headings that are not family levels: {unknown}"


def test_exactly_one_example_per_family(examples: list[Example]) -> None:
    counts = Counter(e.heading for e in examples)
    missing = [f.value for f in Family if counts[f.value] == 0]
    repeated = [level for level, count in counts.items() if count > 1]
    assert not missing, f"families without an example: {missing}"
    assert not repeated, f"families with more than one example: {repeated}"


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_example_decodes_and_round_trips(
    family: Family, example_by_family: dict[Family, Example]
) -> None:
    example = example_by_family.get(family)
    assert example is not None, f"no example for {family.value}"
    message = decode(family, example.body.encode("utf-8"))

    encoded = encode(message)
    assert decode(family, encoded) == message
    # Nothing in the example is lost or altered on the way through the struct.
    original = msgspec.json.decode(example.body)
    again = msgspec.json.decode(encoded)
    assert {key: again[key] for key in original} == original


@pytest.mark.parametrize("family", [Family.HEARTBEAT, Family.STORED], ids=lambda f: f.value)
def test_example_shows_every_field(
    family: Family, example_by_family: dict[Family, Example]
) -> None:
    """These examples show the whole payload, the newest fields included."""
    example = example_by_family[family]
    fields = {f.encode_name for f in msgspec.structs.fields(PAYLOAD_TYPES[family])}
    assert set(msgspec.json.decode(example.body)) == fields


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_example_names_its_topic(
    family: Family, example_by_family: dict[Family, Example]
) -> None:
    example = example_by_family.get(family)
    assert example is not None, f"no example for {family.value}"
    topic = device_topic(EXAMPLE_PREFIX, EXAMPLE_DEVICE, family)
    assert f"`{topic}`" in example.prose
    assert parse_topic(EXAMPLE_PREFIX, topic).family is family


DIRECTION_TEXT = {
    Direction.DEVICE_TO_SERVER: "device → server",
    Direction.SERVER_TO_DEVICE: "server → device",
}


@pytest.fixture(scope="module")
def family_rows(doc: str) -> list[list[str]]:
    return parse_table(doc, "| family level |")


def test_family_table_has_one_row_per_family_in_order(family_rows: list[list[str]]) -> None:
    assert [row[0] for row in family_rows] == [f"`{family.value}`" for family in Family]


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_family_table_matches_topics_module(
    family: Family, family_rows: list[list[str]]
) -> None:
    rows = [row for row in family_rows if row[0] == f"`{family.value}`"]
    assert len(rows) == 1, f"family table has {len(rows)} rows for {family.value}"
    _level, member, topic, direction, qos, retained, _by, payload_type = rows[0]
    assert member == f"`{family.name}`"
    assert topic == f"`{placeholder_topic(family)}`"
    assert direction == DIRECTION_TEXT[family.direction]
    assert qos == "1"
    assert ("yes" in retained) is family.retained
    assert payload_type == f"`{PAYLOAD_TYPES[family].__name__}`"


def test_doc_states_the_device_acl_patterns(doc: str) -> None:
    for access, pattern in device_acl_patterns(EXAMPLE_PREFIX):
        line = f"pattern {access} {pattern.replace(EXAMPLE_PREFIX, '<prefix>', 1)}"
        assert line in doc.splitlines(), f"ACL line {line!r} missing from the doc"
    assert f"`{fleet_acl_topic(EXAMPLE_PREFIX).replace(EXAMPLE_PREFIX, '<prefix>', 1)}`" in doc


def test_doc_states_the_subscriptions(doc: str) -> None:
    shared = fleet_subscription(EXAMPLE_PREFIX, "<group>")
    assert f"`{shared.replace(EXAMPLE_PREFIX, '<prefix>')}`" in doc
    assert f"`{fleet_subscription(EXAMPLE_PREFIX, None).replace(EXAMPLE_PREFIX, '<prefix>')}`" in doc
    for family in Family:
        if family.direction is Direction.SERVER_TO_DEVICE:
            assert f"`{placeholder_topic(family)}`" in doc


def test_doc_lists_every_command_kind(doc: str) -> None:
    kinds_row = [row for row in parse_table(doc, "| field | meaning |", only_one=False)
                 if row[0] == "`kind`"]
    assert len(kinds_row) == 1
    listed = re.findall(r"`([a-z_]+)`", kinds_row[0][1])
    assert listed == [kind.value for kind in CommandKind]


def test_command_arguments_table_covers_every_kind(doc: str) -> None:
    rows = parse_table(doc, "| `kind` | `args` |")
    described = [kind for row in rows for kind in re.findall(r"`([a-z_]+)`", row[0])]
    assert sorted(described) == sorted(kind.value for kind in CommandKind)


# One input per reason the protocol module gives; the doc must explain each.
REASON_SAMPLES = [
    ("bad_topic", lambda: parse_topic(EXAMPLE_PREFIX, "printfleet/printer-01/cmd/up")),
    ("unknown_family", lambda: parse_topic(EXAMPLE_PREFIX, "printfleet/printer-01/x")),
    ("wrong_direction", lambda: parse_topic(EXAMPLE_PREFIX, "printfleet/printer-01/cmd")),
    ("oversize", lambda: decode(Family.PRESENCE, b" " * 300_000)),
    ("malformed", lambda: decode(Family.PRESENCE, b"{")),
    ("unsupported_version", lambda: decode(Family.PRESENCE, b'{"v": 2}')),
    ("invalid", lambda: decode(Family.PRESENCE, b'{"v": 1}')),
]


@pytest.mark.parametrize(("reason", "produce"), REASON_SAMPLES, ids=[r for r, _ in REASON_SAMPLES])
def test_reject_reason_is_documented(reason: str, produce: Callable[[], object], doc: str) -> None:
    with pytest.raises((TopicError, PayloadError)) as caught:
        produce()
    assert caught.value.reason == reason
    documented = [row[0] for row in parse_table(doc, "| reason | meaning |")]
    assert f"`{reason}`" in documented


def test_outbox_classes_match_the_agent(doc: str) -> None:
    listed: dict[str, set[str]] = {}
    for row in parse_table(doc, "| family | class |"):
        listed.setdefault(row[1], set()).update(re.findall(r"`([a-z_]+)`", row[0]))
    device_families = {f for f in Family if f.direction is Direction.DEVICE_TO_SERVER}
    assert listed["must-deliver"] == {family.value for family in MUST_DELIVER}
    assert listed["may-drop"] == {
        family.value for family in device_families - MUST_DELIVER - {Family.PRESENCE}}
    # Presence is the one family outside the outbox.
    assert listed["—"] == {Family.PRESENCE.value}
    # "only the newest unsent heartbeat is kept"
    assert LATEST_ONLY == {Family.HEARTBEAT}


def test_parser_flags_blocks_outside_family_sections() -> None:
    text = "## Envelope\n\n```json\n{}\n```\n\n### telemetry\n\n```json\n{\"v\": 1}\n```\n"
    found = parse_examples(text)
    assert [e.heading for e in found] == [None, "telemetry"]
    assert found[1].body == '{"v": 1}'
