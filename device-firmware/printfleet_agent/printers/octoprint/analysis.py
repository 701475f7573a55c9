"""What OctoPrint's analysis of a file says about the filament a print of it uses."""

from __future__ import annotations

from typing import Any

from printfleet_gcode import GcodeFacts


def facts_from_file_info(info: Any) -> GcodeFacts | None:
    """Facts from /api/files/<location>/<path>: gcodeAnalysis.filament, summed over tools."""
    if not isinstance(info, dict):
        return None
    analysis = info.get("gcodeAnalysis")
    filament = analysis.get("filament") if isinstance(analysis, dict) else None
    if not isinstance(filament, dict):
        return None
    lengths = [tool.get("length") for tool in filament.values() if isinstance(tool, dict)]
    total = sum(length for length in lengths
                if isinstance(length, int | float) and not isinstance(length, bool) and length > 0)
    if total <= 0:
        return None
    return GcodeFacts(filament_mm=round(float(total), 2), filament_from="octoprint")
