"""Preview images slicers embed in G-code comments.

PrusaSlicer, SuperSlicer, OrcaSlicer and BambuStudio write::

    ; thumbnail begin 220x124 12345
    ; iVBORw0KGgo...   (base64, 78 characters a line)
    ; thumbnail end

with ``thumbnail_JPG`` and ``thumbnail_QOI`` in place of ``thumbnail`` for
those formats (the plain one is PNG). 12345 is the base64 text's length.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_BEGIN = re.compile(r"^;\s*thumbnail(?:_(?P<format>[A-Za-z]+))?\s+begin\s+"
                    r"(?P<width>\d+)x(?P<height>\d+)\s+(?P<length>\d+)\s*$")
_END = re.compile(r"^;\s*thumbnail(?:_[A-Za-z]+)?\s+end\s*$")
_FORMATS = {None: "png", "PNG": "png", "JPG": "jpg", "JPEG": "jpg", "QOI": "qoi"}
# Guards against a hostile file: no slicer writes anything near these.
MAX_THUMBNAIL_BASE64 = 4 * 1024 * 1024
MAX_THUMBNAILS = 16


@dataclass(frozen=True, slots=True)
class Thumbnail:
    format: str  # "png", "jpg" or "qoi"
    width: int
    height: int
    data: bytes


class ThumbnailReader:
    """Feed it G-code lines in order; `thumbnails` holds each complete, valid image."""

    def __init__(self) -> None:
        self.thumbnails: list[Thumbnail] = []
        self.problems: list[str] = []
        self._open: re.Match[str] | None = None
        self._parts: list[str] = []
        self._size = 0

    def feed(self, line: str) -> None:
        """Take one line (stripped or not)."""
        if not line.startswith(";"):
            line = line.strip()
            if not line.startswith(";"):
                return
        if self._open is None:
            if "thumbnail" in line and (match := _BEGIN.match(line.strip())) is not None:
                self._open, self._parts, self._size = match, [], 0
            return
        stripped = line.strip()
        if _END.match(stripped):
            self._close()
            return
        part = stripped[1:].strip()
        self._size += len(part)
        if self._size > MAX_THUMBNAIL_BASE64:
            self._refuse(f"is larger than {MAX_THUMBNAIL_BASE64} bytes of base64")
            return
        self._parts.append(part)

    def _close(self) -> None:
        assert self._open is not None
        match, text = self._open, "".join(self._parts)
        self._open, self._parts = None, []
        fmt = _FORMATS.get(match["format"].upper() if match["format"] else None)
        if fmt is None:
            self.problems.append(f"thumbnail format {match['format']!r} is unknown")
            return
        if len(text) != int(match["length"]):
            self.problems.append(f"thumbnail {match['width']}x{match['height']} has "
                                 f"{len(text)} base64 characters, its header says "
                                 f"{match['length']}")
            return
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as error:
            self.problems.append(f"thumbnail {match['width']}x{match['height']} is not "
                                 f"valid base64: {error}")
            return
        if len(self.thumbnails) >= MAX_THUMBNAILS:
            self.problems.append(f"more than {MAX_THUMBNAILS} thumbnails; the rest ignored")
            return
        self.thumbnails.append(Thumbnail(fmt, int(match["width"]), int(match["height"]), data))

    def _refuse(self, why: str) -> None:
        assert self._open is not None
        self.problems.append(f"thumbnail {self._open['width']}x{self._open['height']} {why}")
        self._open, self._parts = None, []


def embedded_thumbnails(lines: Iterable[str]) -> list[Thumbnail]:
    """Return the complete, valid thumbnails among the lines, in file order."""
    reader = ThumbnailReader()
    for line in lines:
        reader.feed(line)
    for problem in reader.problems:
        logger.warning("skipped a thumbnail: %s", problem)
    return reader.thumbnails
