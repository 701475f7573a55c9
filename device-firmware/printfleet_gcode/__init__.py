"""Facts about a G-code file: its slicer, filament, print time, layers and thumbnails.

Pure functions over text, shared by the agent (which has the file) and the
server (which may hold an upload); no imports beyond the standard library.
"""

from __future__ import annotations

from .analysis import GcodeAnalysis, analyse_file, analyse_text
from .extrusion import ExtrusionCounter, extruded_mm
from .facts import GcodeFacts, facts_from_text, read_facts
from .layers import LayerCounter, stated_layer_count
from .movetime import MoveTimer
from .printtime import duration_s, stated_print_time
from .slicers import SlicerId, identify_slicer, stated_filament
from .thumbnails import Thumbnail, ThumbnailReader, embedded_thumbnails
from .weight import DEFAULT_DIAMETER_MM, PLA_DENSITY_G_CM3, filament_grams

__all__ = [
    "DEFAULT_DIAMETER_MM",
    "PLA_DENSITY_G_CM3",
    "ExtrusionCounter",
    "GcodeAnalysis",
    "LayerCounter",
    "MoveTimer",
    "Thumbnail",
    "ThumbnailReader",
    "analyse_file",
    "analyse_text",
    "duration_s",
    "embedded_thumbnails",
    "filament_grams",
    "stated_layer_count",
    "stated_print_time",
    "GcodeFacts",
    "SlicerId",
    "extruded_mm",
    "facts_from_text",
    "identify_slicer",
    "read_facts",
    "stated_filament",
]
