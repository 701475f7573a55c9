"""The parser on files real slicers made (see files/README.md for how)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from printfleet_gcode import extruded_mm, read_facts

FILES = Path(__file__).parent / "files"


def unpacked(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name.removesuffix(".gz")
    target.write_bytes(gzip.decompress((FILES / name).read_bytes()))
    return target


def test_prusaslicer_states_its_version_and_filament_and_the_moves_agree(tmp_path):
    path = unpacked("prusaslicer-2.5.0-cube.gcode.gz", tmp_path)
    facts = read_facts(path)
    assert (facts.slicer, facts.slicer_version) == ("PrusaSlicer", "2.5.0")
    assert (facts.filament_mm, facts.filament_g, facts.filament_from) == (426.99, 1.27, "slicer")
    # The summed E moves draw what the slicer says (its last retraction gives nothing back).
    with path.open() as lines:
        assert extruded_mm(lines) == 426.99


def test_curaengine_alone_leaves_filament_unstated_so_it_is_summed(tmp_path):
    facts = read_facts(unpacked("curaengine-4.13.0-cube.gcode.gz", tmp_path))
    assert (facts.slicer, facts.slicer_version) == ("Cura", "4.13.0")
    assert facts.filament_from == "extrusion" and facts.filament_g is None
    # CuraEngine logged 806 mm³ of material; its default filament is 2.85 mm across.
    # Its figure leaves out the 3 mm its start G-code primes (G1 F200 E3).
    engine_mm = 806 / (math.pi * (2.85 / 2) ** 2)
    assert facts.filament_mm is not None
    assert facts.filament_mm - 3 == pytest.approx(engine_mm, rel=0.005)
