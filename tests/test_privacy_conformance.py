"""The privacy policy as a test suite: docs/privacy-conformance.md against the policy and pytest.

Fails when a quote is not the policy's own words, when a promise lists no test,
when a listed test is not collected by pytest, or when a promise-like sentence
of the policy is in none of the document's sections (so a policy change shows).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "docs" / "privacy-policy.txt"
DOCUMENT = ROOT / "docs" / "privacy-conformance.md"
PROMISES = "Promises"
STRICTER = "Promises Printfleet keeps more strictly than written"
NO_BEHAVIOUR = "Sentences that promise no behaviour"
SECTIONS = (PROMISES, STRICTER, NO_BEHAVIOUR)
# A sentence is promise-like when it speaks of what "we" do, what the user can do,
# limits ("only", days, seconds) or the data itself; questions are headings.
PROMISE_LIKE = re.compile(
    r"\b(we|our company|you can|you have the right|only|stor(?:e|ed|es)|kept|logged|"
    r"collect\w*|cookies?|share|encrypted|removed|days?|seconds?|weeks?|kilometer\w*|"
    r"third[- ]part\w*|access|delete|erase|restrict\w*|track\w*)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_TEST_ID = re.compile(r"`(tests/[\w/]+\.py::[\w:]+)`")


@dataclass
class Entry:
    """One quoted sentence of the document, with its section, tests and reason."""

    section: str
    quote: str
    tests: list[str] = field(default_factory=list)
    reason: str = ""


def normal(text: str) -> str:
    """Collapse whitespace, so a sentence broken over lines matches its one-line quote."""
    return " ".join(text.split())


def policy_sentences(policy: str) -> list[str]:
    """Split the policy into sentences (each line too: list items end without a stop)."""
    sentences = []
    for line in policy.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            sentence = sentence.strip(" -")
            if sentence:
                sentences.append(sentence)
    return sentences


def promise_like(sentence: str) -> bool:
    """Say whether a policy sentence must be accounted for in the document."""
    return not sentence.endswith("?") and bool(PROMISE_LIKE.search(sentence))


def parse(document: str) -> list[Entry]:
    """Read the entries: a '> ' quote, then its `tests/...::name` ids and 'Why:' reason."""
    entries: list[Entry] = []
    section = ""
    for line in document.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith(">"):
            entries.append(Entry(section, normal(line.lstrip("> "))))
        elif entries and entries[-1].section == section:
            entries[-1].tests += _TEST_ID.findall(line)
            if line.startswith(("Why:", "Instead:")):
                entries[-1].reason = line.partition(":")[2].strip()
    return entries


def quote_problems(entries: list[Entry], policy: str) -> list[str]:
    """Return quotes that are not the policy's exact words, or sit in no known section."""
    text = normal(policy)
    problems = [f"not in the policy: {e.quote!r}" for e in entries if e.quote not in text]
    problems += [f"unknown section {e.section!r}: {e.quote!r}" for e in entries
                 if e.section not in SECTIONS]
    return problems


def untested(entries: list[Entry]) -> list[str]:
    """Return promises without a test and explanations without a reason."""
    problems = [f"no test: {e.quote!r}" for e in entries
                if e.section in (PROMISES, STRICTER) and not e.tests]
    problems += [f"no reason: {e.quote!r}" for e in entries
                 if e.section in (STRICTER, NO_BEHAVIOUR) and not e.reason]
    return problems


def missing_sentences(entries: list[Entry], policy: str) -> list[str]:
    """Return the policy's promise-like sentences that no entry quotes."""
    quotes = [e.quote for e in entries]
    return [s for s in policy_sentences(policy)
            if promise_like(s) and not any(normal(s) in q for q in quotes)]


def collected(files: set[str]) -> set[str]:
    """Ask pytest itself which test ids the named files hold (parameters stripped)."""
    existing = sorted(f for f in files if (ROOT / f).is_file())
    if not existing:
        return set()
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *existing],
                         cwd=ROOT, capture_output=True, text=True, timeout=540, check=False)
    ids = {line.split("[", 1)[0] for line in run.stdout.splitlines() if "::" in line}
    assert ids, f"pytest collected nothing:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    return ids


def unknown_tests(entries: list[Entry]) -> list[str]:
    """Return listed test ids that pytest does not collect."""
    listed = {t for e in entries for t in e.tests}
    known = collected({t.split("::", 1)[0] for t in listed})
    return sorted(listed - known)


@pytest.fixture(scope="module")
def policy() -> str:
    return POLICY.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse(DOCUMENT.read_text(encoding="utf-8"))


def test_every_quote_is_the_policys_own_words(entries, policy):
    assert len(entries) >= 40
    assert quote_problems(entries, policy) == []


def test_every_promise_has_a_test(entries):
    assert untested(entries) == []


def test_every_listed_test_is_collected_by_pytest(entries):
    assert unknown_tests(entries) == []


def test_every_promise_like_sentence_of_the_policy_is_in_the_document(entries, policy):
    assert sum(promise_like(s) for s in policy_sentences(policy)) >= 50
    assert missing_sentences(entries, policy) == []


def test_the_checks_fail_on_a_broken_document(policy, tmp_path):
    # Each check finds the fault it exists for, so the passes above mean something.
    broken = parse("## Promises\n\n> We keep everything forever\n\n"
                   "> Your password is encrypted and stored in a safe database\n\n"
                   "- `tests/test_privacy_conformance.py::test_no_such_test`\n"
                   "- `tests/test_privacy_conformance.py::test_every_promise_has_a_test`\n\n"
                   "## Sentences that promise no behaviour\n\n> We want to be fully transparent.\n")
    assert quote_problems(broken, policy) == ["not in the policy: 'We keep everything forever'"]
    assert untested(broken) == ["no test: 'We keep everything forever'",
                                "no reason: 'We want to be fully transparent.'"]
    assert unknown_tests(broken) == ["tests/test_privacy_conformance.py::test_no_such_test"]
    changed = policy + "\nWe keep camera pictures for 30 days.\n"
    assert missing_sentences(broken, changed)[-1] == "We keep camera pictures for 30 days."
    assert "We want to be fully transparent." not in missing_sentences(broken, policy)
    assert parse("## Promises\n\n> a\n\n- `tests/x.py::test_y`\n")[0].tests == ["tests/x.py::test_y"]
