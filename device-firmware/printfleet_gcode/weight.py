"""Filament weight from its length, for slicers that state no grams."""

from __future__ import annotations

import math

PLA_DENSITY_G_CM3 = 1.24
DEFAULT_DIAMETER_MM = 1.75


def filament_grams(length_mm: float, diameter_mm: float = DEFAULT_DIAMETER_MM,
                   density_g_cm3: float = PLA_DENSITY_G_CM3) -> float:
    """Return the weight (g) of a length of round filament."""
    if diameter_mm <= 0 or density_g_cm3 <= 0:
        raise ValueError(f"filament diameter ({diameter_mm} mm) and density "
                         f"({density_g_cm3} g/cm3) must be positive")
    volume_mm3 = math.pi * (diameter_mm / 2) ** 2 * max(0.0, length_mm)
    return round(volume_mm3 / 1000 * density_g_cm3, 2)
