"""Everything the web app shows about an uploaded G-code file, from one read of it."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .extrusion import ExtrusionCounter
from .facts import _ends, _facts
from .layers import LayerCounter, stated_layer_count
from .movetime import MoveTimer
from .printtime import stated_print_time
from .thumbnails import Thumbnail, ThumbnailReader
from .weight import DEFAULT_DIAMETER_MM, PLA_DENSITY_G_CM3, filament_grams

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GcodeAnalysis:
    slicer: str | None = None
    slicer_version: str | None = None
    print_time_s: float | None = None
    print_time_from: str | None = None  # "slicer" (its estimate) or "moves" (feed rates only)
    filament_mm: float | None = None
    filament_from: str | None = None  # "slicer" or "extrusion" (E moves summed)
    extruded_mm: float | None = None  # always summed from the E moves, to check the slicer by
    filament_g: float | None = None
    filament_g_from: str | None = None  # "slicer" or "length" (diameter and density)
    layers: int | None = None
    layers_from: str | None = None  # "slicer", "markers" or "heights"
    thumbnails: list[Thumbnail] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def analyse_file(path: Path, diameter_mm: float = DEFAULT_DIAMETER_MM,
                 density_g_cm3: float = PLA_DENSITY_G_CM3) -> GcodeAnalysis:
    """Analyse a G-code file: its ends for the slicer's comments, then all of it once."""
    path = Path(path)
    comments = _ends(path)
    layers, thumbnails, extrusion = LayerCounter(), ThumbnailReader(), ExtrusionCounter()
    timer = MoveTimer()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            thumbnails.feed(line)
            layers.feed(line)
            extrusion.feed(line)
            timer.feed(line)
    summed = round(max(0.0, extrusion.used_mm), 2)
    print_time_s, print_time_from = stated_print_time(comments), "slicer"
    if print_time_s is None and timer.seconds > 0:
        print_time_s, print_time_from = round(timer.seconds, 1), "moves"
    facts = _facts(comments, lambda: summed)
    grams, grams_from = facts.filament_g, "slicer" if facts.filament_g else None
    if grams is None and facts.filament_mm:
        grams, grams_from = filament_grams(facts.filament_mm, diameter_mm, density_g_cm3), "length"
    stated_layers = stated_layer_count(comments)
    if stated_layers is not None:
        layer_count, layers_from = stated_layers, "slicer"
    elif layers.markers:
        layer_count, layers_from = layers.markers, "markers"
    elif layers.extruded_heights:
        layer_count, layers_from = layers.extruded_heights, "heights"
    else:
        layer_count, layers_from = None, None
    return GcodeAnalysis(
        slicer=facts.slicer, slicer_version=facts.slicer_version,
        print_time_s=print_time_s,
        print_time_from=print_time_from if print_time_s is not None else None,
        filament_mm=facts.filament_mm, filament_from=facts.filament_from,
        extruded_mm=summed if summed > 0 else None,
        filament_g=grams, filament_g_from=grams_from if grams is not None else None,
        layers=layer_count, layers_from=layers_from,
        thumbnails=thumbnails.thumbnails, problems=list(thumbnails.problems))


def analyse_text(text: str, diameter_mm: float = DEFAULT_DIAMETER_MM,
                 density_g_cm3: float = PLA_DENSITY_G_CM3, directory: Path | None = None
                 ) -> GcodeAnalysis:
    """Analyse G-code held in memory (tests, small uploads) through a temporary file."""
    with tempfile.TemporaryDirectory(dir=directory) as folder:
        path = Path(folder) / "program.gcode"
        path.write_text(text, encoding="utf-8")
        return analyse_file(path, diameter_mm, density_g_cm3)

