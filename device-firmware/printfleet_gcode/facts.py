"""Read a G-code file's facts from its head and tail, falling back to summing its E moves."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .extrusion import extruded_mm, extruded_mm_in_file
from .slicers import identify_slicer, stated_filament

# Slicers state their facts in the first lines (after any thumbnails) or in
# the last ones (before PrusaSlicer's and OrcaSlicer's settings dump).
HEAD_BYTES = 256 * 1024
TAIL_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class GcodeFacts:
    slicer: str | None = None
    slicer_version: str | None = None
    filament_mm: float | None = None  # the whole print
    filament_g: float | None = None  # only where the slicer states it
    filament_from: str | None = None  # "slicer" (its comment) or "extrusion" (E moves summed)

    def grams_for(self, used_mm: float | None) -> float | None:
        """Convert a length of this file's filament to grams, by the slicer's stated weight."""
        if used_mm is None or not self.filament_g or not self.filament_mm:
            return None
        return round(used_mm * self.filament_g / self.filament_mm, 2)


def facts_from_text(text: str) -> GcodeFacts:
    """Facts of a whole G-code program held in memory."""
    lines = text.splitlines()
    return _facts(_comments(lines), lambda: extruded_mm(lines))


def read_facts(path: Path) -> GcodeFacts:
    """Facts of a G-code file; reads its ends, and all of it only if no comment states filament."""
    path = Path(path)
    return _facts(_ends(path), lambda: extruded_mm_in_file(path))


def _facts(comments: list[str], count: Callable[[], float]) -> GcodeFacts:
    slicer = identify_slicer(comments)
    length_mm, weight_g = stated_filament(comments)
    source = "slicer" if length_mm is not None else None
    if length_mm is None:
        summed = count()
        if summed > 0:
            length_mm, source = summed, "extrusion"
    return GcodeFacts(slicer.name if slicer else None, slicer.version if slicer else None,
                      length_mm, weight_g if length_mm is not None else None, source)


def _ends(path: Path) -> list[str]:
    """The comment lines of the file's head and tail (all of a small file)."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size <= HEAD_BYTES + TAIL_BYTES:
            return _comments(_decode(file.read()).splitlines())
        head = _decode(file.read(HEAD_BYTES)).splitlines()[:-1]  # the last line is cut
        file.seek(size - TAIL_BYTES)
        tail = _decode(file.read()).splitlines()[1:]  # and so is the first
    return _comments(head + tail)


def _decode(chunk: bytes) -> str:
    return chunk.decode("utf-8", errors="replace")


def _comments(lines: Iterable[str]) -> list[str]:
    return [stripped for line in lines if (stripped := line.strip()).startswith(";")]
