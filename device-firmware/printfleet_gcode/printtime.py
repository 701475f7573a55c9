"""The print time a slicer estimates, read from its comments.

Formats read:

- PrusaSlicer, SuperSlicer: ``; estimated printing time (normal mode) = 1d 2h 3m 4s``.
- OrcaSlicer, BambuStudio: ``; estimated printing time (normal mode) = 1h 2m 3s``
  in the tail, and in the header ``; model printing time: 1h 2m 3s; total
  estimated time: 1h 5m 0s``.
- Cura: ``;TIME:1234`` (seconds) in the header; ``;TIME_ELAPSED:1234.5`` at
  each layer end, the last being the whole print. CuraEngine run without
  Cura's front end leaves ``;TIME:6666`` as a placeholder, so the last
  elapsed figure wins where there is one.
- Simplify3D: ``;   Build time: 1 hours 2 minutes`` in its closing summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|h|minutes?|mins?|m|seconds?|secs?|s)\b", re.IGNORECASE)
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PRUSA = re.compile(r"^;\s*estimated printing time(?: \(normal mode\))?\s*=\s*(.+)$", re.IGNORECASE)
_ORCA_TOTAL = re.compile(r"total estimated time:\s*([^;]+)", re.IGNORECASE)
_CURA_TIME = re.compile(r"^;TIME:(\d+(?:\.\d+)?)\s*$")
_CURA_ELAPSED = re.compile(r"^;TIME_ELAPSED:(\d+(?:\.\d+)?)\s*$")
_SIMPLIFY3D = re.compile(r"^;\s*Build time:\s*(.+)$", re.IGNORECASE)


def duration_s(text: str) -> float | None:
    """Parse "1d 2h 3m 4s" or "1 hours 2 minutes" into seconds; None if nothing reads."""
    total, found = 0.0, False
    for number, unit in _DURATION_PART.findall(text):
        total += float(number) * _UNIT_S[unit[0].lower()]
        found = True
    return total if found else None


def stated_print_time(comments: Iterable[str]) -> float | None:
    """Return the slicer's estimate of the whole print, in seconds, None where unstated."""
    stated: float | None = None
    elapsed: float | None = None
    for line in comments:
        if not line.startswith(";"):
            continue
        if (match := _CURA_ELAPSED.match(line)) is not None:
            elapsed = float(match[1])  # the last one counts
            continue
        if stated is not None:
            continue
        for pattern in (_PRUSA, _CURA_TIME, _SIMPLIFY3D):
            match = pattern.match(line)
            if match is not None:
                stated = float(match[1]) if pattern is _CURA_TIME else duration_s(match[1])
                break
        else:
            match = _ORCA_TOTAL.search(line)
            if match is not None:
                stated = duration_s(match[1])
    best = elapsed if elapsed is not None else stated
    return round(best, 1) if best is not None and best > 0 else None
