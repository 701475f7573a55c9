"""Numbered, forward-only SQL migrations, one folder per backend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_NAME = re.compile(r"^(?P<version>\d{4})_(?P<title>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sql: str


def migrations_for(backend: str) -> list[Migration]:
    """Return a backend's migrations in version order; refuse gaps or duplicates."""
    found = []
    for path in sorted((_HERE / backend).glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_title.sql")
        found.append(Migration(int(match["version"]), match["title"], path.read_text("utf-8")))
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{backend} migrations must be numbered 1..n without gaps: {versions}")
    return found
