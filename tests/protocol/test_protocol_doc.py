"""docs/protocol.md is part of the contract: its examples must be valid payloads.

Every ```json block in the document is an example. The nearest ``### <family
level>`` heading above it names its family, and there is exactly one example
per Family.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from printfleet_protocol import Family, decode, device_topic, encode, parse_topic
from printfleet_protocol.topics import FAMILY_BY_LEVEL, Direction

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


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return parse_examples(DOC_PATH.read_text(encoding="utf-8"))


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


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_example_names_its_topic(
    family: Family, example_by_family: dict[Family, Example]
) -> None:
    example = example_by_family.get(family)
    assert example is not None, f"no example for {family.value}"
    topic = device_topic(EXAMPLE_PREFIX, EXAMPLE_DEVICE, family)
    assert f"`{topic}`" in example.prose
    assert parse_topic(EXAMPLE_PREFIX, topic).family is family


@pytest.mark.parametrize("family", list(Family), ids=lambda f: f.value)
def test_family_table_matches_topics_module(family: Family) -> None:
    rows = [
        line for line in DOC_PATH.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{family.value}` |")
    ]
    assert len(rows) >= 1, f"family table has no row for {family.value}"
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    _level, member, direction, qos, retained = cells[:5]
    assert member == f"`{family.name}`"
    expected_direction = {
        Direction.DEVICE_TO_SERVER: "device → server",
        Direction.SERVER_TO_DEVICE: "server → device",
    }[family.direction]
    assert direction == expected_direction
    assert qos == "1"
    assert ("yes" in retained) is family.retained


def test_parser_flags_blocks_outside_family_sections() -> None:
    text = "## Envelope\n\n```json\n{}\n```\n\n### telemetry\n\n```json\n{\"v\": 1}\n```\n"
    found = parse_examples(text)
    assert [e.heading for e in found] == [None, "telemetry"]
    assert found[1].body == '{"v": 1}'
