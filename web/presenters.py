"""Turn stored printer rows into what the page and the JSON API show."""

from __future__ import annotations

import dataclasses
from typing import Any

from storage import PrinterRow

DASH = "—"


def printer_to_dict(row: PrinterRow, now: float) -> dict[str, Any]:
    """Return one printer as plain JSON-ready values, with its last-seen age."""
    values = dataclasses.asdict(row)
    values["online"] = row.presence == "online"
    values["last_seen_age_s"] = (
        None if row.last_seen_at is None else round(max(0.0, now - row.last_seen_at), 1)
    )
    return values


def printers_to_dicts(rows: list[PrinterRow], now: float) -> list[dict[str, Any]]:
    """Return every printer as plain values (see printer_to_dict)."""
    return [printer_to_dict(row, now) for row in rows]


def format_heater(heater: dict[str, float | None]) -> str:
    """Format a heater as 'actual / target °C'."""
    actual, target = heater.get("actual"), heater.get("target")
    shown_actual = DASH if actual is None else f"{actual:.1f}"
    shown_target = DASH if target is None else f"{target:.0f}"
    return f"{shown_actual} / {shown_target} °C"


def format_percent(value: float | None) -> str:
    """Format a progress percentage, or a dash when unknown."""
    return DASH if value is None else f"{value:.0f}%"


def format_time_left(seconds: float | None) -> str:
    """Format a duration as '1 h 05 min', '12 min' or '45 s', or a dash when unknown."""
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds) // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_age(seconds: float | None) -> str:
    """Format how long ago something happened, coarsely."""
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


TEMPLATE_FILTERS = {
    "heater": format_heater,
    "percent": format_percent,
    "time_left": format_time_left,
    "age": format_age,
}
