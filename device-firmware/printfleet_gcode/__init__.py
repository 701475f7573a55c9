"""Facts about a G-code file: the slicer that made it and the filament it uses.

Pure functions over text, shared by the agent (which has the file) and the
server (which may hold an upload); no imports beyond the standard library.
"""

from __future__ import annotations

from .extrusion import ExtrusionCounter, extruded_mm
from .facts import GcodeFacts, facts_from_text, read_facts
from .slicers import SlicerId, identify_slicer, stated_filament

__all__ = [
    "ExtrusionCounter",
    "GcodeFacts",
    "SlicerId",
    "extruded_mm",
    "facts_from_text",
    "identify_slicer",
    "read_facts",
    "stated_filament",
]
