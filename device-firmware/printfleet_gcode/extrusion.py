"""Filament a G-code program pushes, summed from its E words.

Follows Marlin's rules: E is absolute after M82 or G90, relative after M83
or G91; G92 E sets the current position; G20/G21 switch inches and mm.
What counts is the filament drawn from the spool: the furthest the net
advance has reached. A retraction and the move that undoes it cancel out,
and a retraction never undone (the last one, before the end G-code) does not
give back filament that was already drawn, which is how PrusaSlicer, Slic3r
and CuraEngine count their own figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MOVES = frozenset({"G0", "G1", "G2", "G3", "G00", "G01", "G02", "G03"})
INCH_MM = 25.4


class ExtrusionCounter:
    """Feed it G-code lines in order; `used_mm` is the filament drawn so far."""

    def __init__(self) -> None:
        self.used_mm = 0.0  # the furthest `advance_mm` has reached
        self.advance_mm = 0.0  # net: every extrusion less every retraction
        self._position = 0.0
        self._relative = False
        self._scale = 1.0

    def feed(self, line: str) -> None:
        """Take one line of G-code (comments, line numbers and checksums allowed)."""
        words = command_words(line)
        if not words:
            return
        command = words[0]
        if command in MOVES:
            e = _e_word(words)
            if e is not None:
                self._move(e * self._scale)
        elif command == "G92":
            e = _e_word(words)
            if e is not None:
                self._position = e * self._scale
            elif len(words) == 1:  # a bare G92 zeroes every axis
                self._position = 0.0
        elif command in ("M82", "G90"):
            self._relative = False
        elif command in ("M83", "G91"):
            self._relative = True
        elif command == "G20":
            self._scale = INCH_MM
        elif command == "G21":
            self._scale = 1.0

    def _move(self, e_mm: float) -> None:
        if self._relative:
            self.advance_mm += e_mm
            self._position += e_mm
        else:
            self.advance_mm += e_mm - self._position
            self._position = e_mm
        self.used_mm = max(self.used_mm, self.advance_mm)


def command_words(line: str) -> list[str]:
    """Split a line into upper-case words, command first, without its number or checksum."""
    code = line.split(";", 1)[0]
    if not code or code.isspace():
        return []
    words = code.split("*", 1)[0].upper().split()
    if words and words[0].startswith("N") and len(words) > 1:
        words = words[1:]
    return words


def axis_word(words: list[str], axis: str) -> float | None:
    """The value of one axis (or parameter) word of a command, None if absent or unreadable."""
    for word in words[1:]:
        if word.startswith(axis):
            try:
                return float(word[1:])
            except ValueError:
                return None
    return None


def _e_word(words: list[str]) -> float | None:
    return axis_word(words, "E")


def extruded_mm(lines: Iterable[str]) -> float:
    """Return the filament (mm) the given G-code lines draw from the spool."""
    counter = ExtrusionCounter()
    for line in lines:
        counter.feed(line)
    return round(max(0.0, counter.used_mm), 2)


def extruded_mm_in_file(path: Path) -> float:
    """Return the filament (mm) a G-code file draws, reading it once, line by line."""
    with Path(path).open(encoding="utf-8", errors="replace") as lines:
        return extruded_mm(lines)
