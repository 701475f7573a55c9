"""A print's blurred location as pages and the API show it: rounded, with its uncertainty."""

from __future__ import annotations

from typing import Any

from storage.locations import PrintLocation

SHOWN_DECIMALS = 1  # 0.1°, about 11 km: no finer than the blur warrants


def shown_location(location: PrintLocation | None) -> dict[str, Any] | None:
    """Latitude and longitude rounded to 0.1° and the blur's radius in km, or None."""
    if location is None:
        return None
    # + 0.0 turns a rounded -0.0 into 0.0.
    return {"lat": round(location.lat, SHOWN_DECIMALS) + 0.0,
            "lon": round(location.lon, SHOWN_DECIMALS) + 0.0,
            "within_km": round(location.blur_km)}
