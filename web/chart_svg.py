"""Temperature charts drawn server-side as inline SVG: no script, no third-party library.

Each heater gets a solid line for its actual temperature and a dashed one
for its target. Points are averaged into one per pixel column first, so a
7-day chart of minute rollups stays a few kilobytes; a gap in the data
(printer offline) breaks the line instead of drawing across it.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from storage.charts import ChartPoint, TemperatureChart
from storage.rollups import CHART_HEATERS

WIDTH, HEIGHT = 800, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
HEATER_COLOURS = {"tool0": "#d9480f", "bed": "#2364aa", "chamber": "#2b8a3e"}

# Chart ranges the page offers: name -> (span in s, tick step in s, tick label format).
RANGES: dict[str, tuple[int, int, str]] = {
    "24h": (86400, 4 * 3600, "%H:%M"),
    "7d": (7 * 86400, 86400, "%a %d"),
    "30d": (30 * 86400, 5 * 86400, "%d %b"),
}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True, slots=True)
class Series:
    heater: str
    kind: str  # "actual" or "target"
    # (t, value) per pixel column; None values break the line
    points: list[tuple[float, float | None]]


def chart_series(chart: TemperatureChart, since: float, until: float,
                 columns: int = WIDTH - LEFT - RIGHT) -> list[Series]:
    """Average the chart's points into at most `columns` per heater, gaps kept as None."""
    width_s = (until - since) / columns
    # Raw samples come every second or so; a gap narrower than two columns is not drawn.
    gap_s = max(3 * chart.step_s, 2 * width_s, 90.0)
    series = []
    for heater in CHART_HEATERS:
        if not any(heater in p.heaters for p in chart.points):
            continue
        for kind in ("actual", "target"):
            values = _columns(chart.points, heater, kind, since, width_s, gap_s)
            if any(v is not None for _, v in values):
                series.append(Series(heater, kind, values))
    return series


def _columns(points: list[ChartPoint], heater: str, kind: str, since: float, width_s: float,
             gap_s: float) -> list[tuple[float, float | None]]:
    sums: dict[int, list[float]] = {}
    out: list[tuple[float, float | None]] = []
    last_t: float | None = None
    for point in points:
        h = point.heaters.get(heater)
        value = None if h is None else (h.avg if kind == "actual" else h.target)
        if value is None:
            continue
        if last_t is not None and point.t - last_t > gap_s:
            _flush(sums, out, since, width_s)
            out.append((point.t - 1, None))
        last_t = point.t
        column = int((point.t - since) // width_s)
        sums.setdefault(column, []).append(value)
    _flush(sums, out, since, width_s)
    return out


def _flush(sums: dict[int, list[float]], out: list[tuple[float, float | None]], since: float,
           width_s: float) -> None:
    for column in sorted(sums):
        values = sums[column]
        out.append((since + (column + 0.5) * width_s, sum(values) / len(values)))
    sums.clear()


def render_chart(chart: TemperatureChart, since: float, until: float, range_name: str) -> Markup:
    """Return the chart as an <svg> element with axes, gridlines and a legend."""
    series = chart_series(chart, since, until)
    values = [v for s in series for _, v in s.points if v is not None]
    top = max(50.0, math.ceil((max(values) if values else 0) / 50) * 50)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - since) / (until - since) * plot_w

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'data-range="{escape(range_name)}" data-source="{escape(chart.source)}" '
             f'aria-label="Temperatures over the last {escape(range_name)}">']
    parts += _grid(top, y, since, until, range_name, x)
    for s in series:
        parts.append(_polyline(s, x, y))
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                     'class="chart-empty">No temperatures recorded in this range</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _grid(top: float, y: Callable[[float], float], since: float, until: float,
          range_name: str, x: Callable[[float], float]) -> list[str]:
    parts = []
    step = 50 if top <= 300 else 100
    for value in range(0, int(top) + 1, step):
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}"/><text class="axis" x="{LEFT - 6}" '
                     f'y="{y(value) + 4:.1f}" text-anchor="end">{value}°</text>')
    _, tick_s, label = RANGES.get(range_name, RANGES[DEFAULT_RANGE])
    tick = math.ceil(since / tick_s) * tick_s
    while tick < until:
        at = datetime.datetime.fromtimestamp(tick, datetime.UTC).strftime(label)
        parts.append(f'<line class="grid" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP}" '
                     f'y2="{HEIGHT - BOTTOM}"/><text class="axis" x="{x(tick):.1f}" '
                     f'y="{HEIGHT - 8}" text-anchor="middle">{escape(at)}</text>')
        tick += tick_s
    return parts


def _polyline(series: Series, x: Callable[[float], float], y: Callable[[float], float]) -> str:
    paths: list[list[str]] = []
    current: list[str] = []
    for t, value in series.points:
        if value is None:
            if current:
                paths.append(current)
            current = []
        else:
            current.append(f"{x(t):.1f},{y(value):.1f}")
    if current:
        paths.append(current)
    colour = HEATER_COLOURS.get(series.heater, "#555")
    dash = ' stroke-dasharray="5 4"' if series.kind == "target" else ""
    # A lone point (data on both sides of it missing) is a dot, not an invisible line.
    lines = "".join(f'<polyline points="{" ".join(p)}"/>' if len(p) > 1 else
                    '<circle cx="{}" cy="{}" r="1.5" fill="{}"/>'.format(*p[0].split(","), colour)
                    for p in paths)
    return (f'<g class="series" data-heater="{series.heater}" data-kind="{series.kind}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"{dash}>'
            f"<title>{series.heater} {series.kind}</title>{lines}</g>")


def chart_to_dict(chart: TemperatureChart, since: float, until: float,
                  range_name: str) -> dict:
    """The chart as JSON: per heater the points (t, avg, min, max, target) of the range."""
    heaters: dict[str, list[list[float | None]]] = {}
    for point in chart.points:
        for name, h in point.heaters.items():
            heaters.setdefault(name, []).append([point.t, h.avg, h.min, h.max, h.target])
    return {"device_id": chart.device_id, "range": range_name, "since": since, "until": until,
            "source": chart.source, "step_s": chart.step_s,
            "columns": ["t", "avg", "min", "max", "target"], "heaters": heaters}
