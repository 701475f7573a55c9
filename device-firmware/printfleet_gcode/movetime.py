"""How long a G-code program's moves take at their feed rates.

The fallback where a slicer states no estimate (Slic3r 1.x, ideaMaker,
hand-written G-code). Acceleration, jerk and heating waits are not modelled,
so the figure runs short of a slicer's own estimate; it is a floor, not a
forecast. Follows Marlin's rules: G90/G91 switch every axis between absolute
and relative, M82/M83 only E; G92 sets positions; F is in mm per minute and
stays until changed; G4 waits P milliseconds or S seconds.
"""

from __future__ import annotations

import math

from .extrusion import INCH_MM, MOVES, axis_word, command_words

_ARCS = frozenset({"G2", "G3", "G02", "G03"})
_AXES = "XYZE"


class MoveTimer:
    """Feed it G-code lines in order; `seconds` is how long the moves so far take."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._position = dict.fromkeys(_AXES, 0.0)
        self._relative_xyz = False
        self._relative_e = False
        self._feed_mm_s = 0.0  # unknown until the first F word: such moves are not timed
        self._scale = 1.0

    def feed(self, line: str) -> None:
        """Take one line of G-code (comments, line numbers and checksums allowed)."""
        words = command_words(line)
        if not words:
            return
        command = words[0]
        if command in MOVES:
            self._move(words, command in _ARCS, command in ("G2", "G02"))
        elif command in ("G4", "G04"):
            self._dwell(words)
        elif command == "G92":
            self._set_position(words)
        elif command == "G28":
            named = [axis for axis in "XYZ" if any(w.startswith(axis) for w in words[1:])]
            for axis in named or "XYZ":  # homing takes a while, but not one we can know
                self._position[axis] = 0.0
        elif command in ("G90", "G91"):
            self._relative_xyz = self._relative_e = command == "G91"
        elif command in ("M82", "M83"):
            self._relative_e = command == "M83"
        elif command in ("G20", "G21"):
            self._scale = INCH_MM if command == "G20" else 1.0

    def _move(self, words: list[str], arc: bool, clockwise: bool) -> None:
        feed = axis_word(words, "F")
        if feed is not None and feed > 0:
            self._feed_mm_s = feed * self._scale / 60
        start = dict(self._position)
        for axis in _AXES:
            value = axis_word(words, axis)
            if value is not None:
                relative = self._relative_e if axis == "E" else self._relative_xyz
                self._position[axis] = value * self._scale + (start[axis] if relative else 0.0)
        delta = {axis: self._position[axis] - start[axis] for axis in _AXES}
        if arc:
            length = self._arc_length(words, start, delta, clockwise)
        else:
            length = math.sqrt(delta["X"] ** 2 + delta["Y"] ** 2 + delta["Z"] ** 2)
        length = length or abs(delta["E"])  # a retraction or prime moves E alone
        if self._feed_mm_s > 0:
            self.seconds += length / self._feed_mm_s

    def _arc_length(self, words: list[str], start: dict[str, float], delta: dict[str, float],
                    clockwise: bool) -> float:
        """Length of a G2/G3 arc given by its centre offset (I, J); the chord if given by R."""
        i, j = axis_word(words, "I"), axis_word(words, "J")
        chord = math.sqrt(delta["X"] ** 2 + delta["Y"] ** 2 + delta["Z"] ** 2)
        if i is None and j is None:
            return chord
        cx, cy = start["X"] + (i or 0.0) * self._scale, start["Y"] + (j or 0.0) * self._scale
        radius = math.hypot(start["X"] - cx, start["Y"] - cy)
        begin = math.atan2(start["Y"] - cy, start["X"] - cx)
        end = math.atan2(self._position["Y"] - cy, self._position["X"] - cx)
        sweep = (begin - end) if clockwise else (end - begin)
        sweep %= 2 * math.pi
        if sweep == 0:  # the same start and end point: a full circle
            sweep = 2 * math.pi
        return math.hypot(radius * sweep, delta["Z"])

    def _set_position(self, words: list[str]) -> None:
        for axis in _AXES:
            value = 0.0 if len(words) == 1 else axis_word(words, axis)  # a bare G92 zeroes all
            if value is not None:
                self._position[axis] = value * self._scale

    def _dwell(self, words: list[str]) -> None:
        milliseconds, seconds = axis_word(words, "P"), axis_word(words, "S")
        if seconds is not None:
            self.seconds += max(0.0, seconds)
        elif milliseconds is not None:
            self.seconds += max(0.0, milliseconds) / 1000
