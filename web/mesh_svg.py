"""The bed mesh (auto bed levelling probe data) as an SVG heatmap with a colour scale.

Blue is below zero, red above, white at zero; the scale is
symmetric around zero so the same colour means the same height on every
printer. Rows arrive front (min y) first and are drawn with the front at
the bottom, as one looks at the printer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

CELL_MAX, GRID_PX = 48, 320
LEGEND_W = 70
LOW, MID, HIGH = (35, 100, 170), (255, 255, 255), (200, 40, 30)


@dataclass(frozen=True, slots=True)
class MeshFigures:
    rows: list[list[float]]
    min_mm: float
    max_mm: float
    range_mm: float
    min_x: float
    max_x: float
    min_y: float
    max_y: float

    @property
    def size(self) -> str:
        return f"{len(self.rows[0])} × {len(self.rows)}"


def mesh_figures(mesh: dict[str, Any] | None) -> MeshFigures | None:
    """Min, max and range of a stored bed mesh; None when there is none (or it is empty)."""
    if not mesh or not mesh.get("rows") or not all(mesh["rows"]):
        return None
    rows = [[float(v) for v in row] for row in mesh["rows"]]
    values = [v for row in rows for v in row]
    low, high = min(values), max(values)
    return MeshFigures(rows, low, high, high - low, float(mesh["min_x"]), float(mesh["max_x"]),
                       float(mesh["min_y"]), float(mesh["max_y"]))


def colour(value: float, limit: float) -> str:
    """The heatmap colour of a height, on a scale from -limit (blue) to +limit (red)."""
    share = 0.0 if limit <= 0 else max(-1.0, min(1.0, value / limit))
    end = HIGH if share > 0 else LOW
    mixed = [round(m + (e - m) * abs(share)) for m, e in zip(MID, end, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def render_mesh(figures: MeshFigures) -> Markup:
    """Return the mesh as an <svg>: one cell per probe point, labelled in mm, and a legend."""
    columns, count = len(figures.rows[0]), len(figures.rows)
    cell = min(CELL_MAX, GRID_PX // max(columns, count))
    width, height = columns * cell + LEGEND_W + 10, count * cell + 20
    limit = max(abs(figures.min_mm), abs(figures.max_mm)) or 0.01
    parts = [f'<svg class="mesh" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Bed mesh, {escape(figures.size)} points">']
    for index, row in enumerate(figures.rows):
        y = (count - 1 - index) * cell  # front row at the bottom
        for column, value in enumerate(row[:columns]):
            x = column * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                         f'fill="{colour(value, limit)}" data-z="{value:.3f}">'
                         f"<title>{value:+.3f} mm</title></rect>")
            if cell >= 30:
                parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" '
                             f'text-anchor="middle" class="mesh-value">{value:+.2f}</text>')
    parts += _legend(columns * cell + 10, count * cell, limit)
    parts.append(f'<text x="0" y="{count * cell + 15}" class="axis">front</text></svg>')
    return Markup("".join(parts))


def _legend(x: int, height: int, limit: float) -> list[str]:
    steps = 10
    band = height / steps
    parts = []
    for step in range(steps):
        value = limit - (2 * limit) * (step + 0.5) / steps
        parts.append(f'<rect x="{x}" y="{step * band:.1f}" width="14" height="{band + 0.5:.1f}" '
                     f'fill="{colour(value, limit)}"/>')
    for label, y in ((f"{limit:+.2f}", 10), ("0", height / 2 + 4), (f"{-limit:+.2f}", height)):
        parts.append(f'<text x="{x + 18}" y="{y}" class="axis">{label} mm</text>')
    return parts
