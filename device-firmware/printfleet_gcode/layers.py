"""How many layers a G-code program prints.

Best first: the count a slicer states (Cura's ``;LAYER_COUNT:98``, Orca's
and Bambu's ``; total layer number: 98``), then the layer markers it writes
(``;LAYER_CHANGE`` from the PrusaSlicer family, ``;LAYER:n`` from Cura,
``; layer 3, Z = 0.6`` from Simplify3D), then the distinct heights at which
the program extrudes while moving (any G-code at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_STATED = re.compile(r"^;\s*(?:LAYER_COUNT\s*:|total layer number\s*:|total layers count\s*=)"
                     r"\s*(\d+)\s*$", re.IGNORECASE)
_MARKER = re.compile(r"^;(?:LAYER_CHANGE\s*$|LAYER:-?\d+\s*$|\s*layer \d+, Z = )")
_Z_WORD = re.compile(r"\bZ(-?\d*\.?\d+)")


def stated_layer_count(comments: Iterable[str]) -> int | None:
    """Return the layer count the slicer states, None where unstated."""
    for line in comments:
        match = _STATED.match(line)
        if match is not None and int(match[1]) > 0:
            return int(match[1])
    return None


class LayerCounter:
    """Feed it G-code lines in order; `count` is the best layer count so far."""

    def __init__(self) -> None:
        self.markers = 0
        self._heights: set[float] = set()
        self._z: float | None = None

    def feed(self, line: str) -> None:
        """Take one line (stripped or not)."""
        line = line.strip()
        if line.startswith(";"):
            if _MARKER.match(line):
                self.markers += 1
            return
        code = line.split(";", 1)[0].upper()
        if not code.startswith(("G0", "G1")):
            return
        words = code.split()
        if words[0] not in ("G0", "G1", "G00", "G01"):
            return
        match = _Z_WORD.search(code)
        if match is not None:
            self._z = round(float(match[1]), 3)
        # An extruding move goes somewhere; retractions and primes move E alone.
        if self._z is not None and any(w[0] == "E" for w in words[1:]) \
                and any(w[0] in "XY" for w in words[1:]) and not _retracts(words):
            self._heights.add(self._z)

    @property
    def extruded_heights(self) -> int:
        """How many distinct heights saw an extruding move."""
        return len(self._heights)

    @property
    def count(self) -> int | None:
        """Markers where the slicer wrote them, else extruded heights; None if neither."""
        return self.markers or self.extruded_heights or None


def _retracts(words: list[str]) -> bool:
    for word in words[1:]:
        if word[0] == "E":
            try:
                return float(word[1:]) < 0
            except ValueError:
                return True
    return False
