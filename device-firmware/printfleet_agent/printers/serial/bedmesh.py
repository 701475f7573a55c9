"""Bed meshes from Marlin's M420 V / G29 T reports and Prusa's G81, as one BedMesh shape.

Three layouts occur in practice:
- an indexed grid (Marlin's bilinear and mesh bed leveling): a line of column
  numbers, then one row per y index from the front, "=======" for a hole;
- Unified Bed Leveling's topography map: rows "j | values" from the back,
  "." for an unprobed point, "[v]" around the nozzle's cell, and the corner
  coordinates as "(x,y)" pairs above and below the map;
- Prusa's G81: bare rows of values from the back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from printfleet_protocol.payloads import BedMesh

_GRID_HEADERS = ("Bilinear Leveling Grid:", "Mesh Bed Level data:", "Measured points:")
_TOPOGRAPHY_HEADER = "Bed Topography Report"
_INDEX_LINE = re.compile(r"^\s*\d+(?:\s+\d+)+\s*$")
_INDEXED_ROW = re.compile(r"^\s*(\d+)\s+([-+\d.=\sNnAa]+)$")
_TOPOGRAPHY_ROW = re.compile(r"^\s*(\d+)\s*\|(.*)$")
_CORNER = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")
_VALUE = re.compile(r"^[-+]?\d+(?:\.\d+)?$")

Rows = list[list[float]]


def parse_bed_mesh(lines: Sequence[str], bed_size_mm: tuple[float, float]) -> BedMesh | None:
    """Find the first mesh in a firmware's reply lines; None if there is none or it has holes."""
    texts = [line.rstrip() for line in lines]
    for index, text in enumerate(texts):
        if _TOPOGRAPHY_HEADER in text:
            return _topography(texts[index + 1:], bed_size_mm)
        if text.strip() in _GRID_HEADERS:
            mesh = _grid(texts[index + 1:], bed_size_mm)
            if mesh is not None:
                return mesh
    return None


def _grid(lines: list[str], bed_size_mm: tuple[float, float]) -> BedMesh | None:
    body = [line for line in lines if line.strip()]
    if not body:
        return None
    if _INDEX_LINE.match(body[0]):
        rows: Rows = []
        for line in body[1:]:
            match = _INDEXED_ROW.match(line)
            if match is None or int(match[1]) != len(rows):
                break
            rows.append(_values(match[2].split()))
        return _mesh(rows, _whole_bed(bed_size_mm))
    if _is_value_row(body[0]):  # Prusa's G81 prints the back row first
        rows = []
        for line in body:
            if not _is_value_row(line):
                break
            rows.append(_values(line.split()))
        return _mesh(rows[::-1], _whole_bed(bed_size_mm))
    return None


def _topography(lines: list[str], bed_size_mm: tuple[float, float]) -> BedMesh | None:
    rows_by_index: dict[int, list[float]] = {}
    corners_above: list[list[tuple[float, float]]] = []
    corners_below: list[list[tuple[float, float]]] = []
    for line in lines:
        if line.strip() == "ok" or line.startswith("echo:"):
            break
        match = _TOPOGRAPHY_ROW.match(line)
        if match is not None and match[2].strip():
            cells = match[2].replace("[", " ").replace("]", " ").split()
            rows_by_index[int(match[1])] = _values(cells)
            continue
        corners = [(float(x), float(y)) for x, y in _CORNER.findall(line)]
        if len(corners) == 2:
            (corners_below if rows_by_index else corners_above).append(corners)
    rows = [rows_by_index[j] for j in sorted(rows_by_index)]  # j counts from the front
    min_x, max_x, min_y, max_y = _whole_bed(bed_size_mm)
    if corners_above:  # the last pair above the map: (min x, max y) and (max x, max y)
        (min_x, max_y), (max_x, _) = corners_above[-1]
    if corners_below:  # the first pair below it: (min x, min y) and (max x, min y)
        min_y = corners_below[0][0][1]
    return _mesh(rows, (min_x, max_x, min_y, max_y))


def _is_value_row(line: str) -> bool:
    cells = line.split()
    return len(cells) > 1 and all(_VALUE.match(cell) for cell in cells)


def _values(cells: list[str]) -> list[float]:
    return [float(cell) if _VALUE.match(cell) else math.nan for cell in cells]


def _whole_bed(bed_size_mm: tuple[float, float]) -> tuple[float, float, float, float]:
    return 0.0, bed_size_mm[0], 0.0, bed_size_mm[1]


def _mesh(rows: Rows, bounds: tuple[float, float, float, float]) -> BedMesh | None:
    """Drop unprobed edge rows and columns, shrinking the bounds by whole grid steps."""
    if len(rows) < 2 or len({len(row) for row in rows}) != 1 or len(rows[0]) < 2:
        return None
    min_x, max_x, min_y, max_y = bounds
    step_x = (max_x - min_x) / (len(rows[0]) - 1)
    step_y = (max_y - min_y) / (len(rows) - 1)
    while len(rows) > 2 and all(math.isnan(v) for v in rows[0]):
        rows, min_y = rows[1:], min_y + step_y
    while len(rows) > 2 and all(math.isnan(v) for v in rows[-1]):
        rows, max_y = rows[:-1], max_y - step_y
    while len(rows[0]) > 2 and all(math.isnan(row[0]) for row in rows):
        rows, min_x = [row[1:] for row in rows], min_x + step_x
    while len(rows[0]) > 2 and all(math.isnan(row[-1]) for row in rows):
        rows, max_x = [row[:-1] for row in rows], max_x - step_x
    if any(math.isnan(v) for row in rows for v in row):
        return None  # a hole inside the mesh: better no mesh than a made-up one
    return BedMesh(rows=rows, min_x=round(min_x, 3), max_x=round(max_x, 3),
                   min_y=round(min_y, 3), max_y=round(max_y, 3))
