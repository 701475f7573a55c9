"""G-code analysis checked against real slicers, run here on a part this test makes.

Each slicer (Debian's prusa-slicer, cura-engine and slic3r, installed by
scripts/install-slicers.sh) slices a small cylinder at coarse layers; the
analysis must name the slicer and the version its binary reports, and the
filament it sums from the E moves must land within 1 % of the figure the
slicer reports itself. The slicer's figures are read here with this file's
own patterns, never through the code under test.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from printfleet_gcode import GcodeAnalysis, LayerCounter, MoveTimer, analyse_file, filament_grams

FIXTURES = Path(__file__).parent / "fixtures"
DIAMETER_MM, DENSITY_G_CM3 = 1.75, 1.24  # as the fixtures configure every slicer
HEIGHT_MM, LAYER_MM = 9.0, 0.3
LAYERS = round(HEIGHT_MM / LAYER_MM)
RUN_TIMEOUT_S = 60


@dataclass(frozen=True)
class Reported:
    """What a slicer says about its own output."""

    version: str  # as its binary prints it
    filament_mm: float
    filament_g: float | None
    print_time_s: float | None


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/install-slicers.sh", pytrace=False)
    return path


def run(*args: str | Path) -> str:
    """Run a slicer; its stdout and stderr together, or a failure that shows them."""
    done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {done.returncode}:\n{output[-3000:]}")
    return output


def cylinder_stl(path: Path, diameter_mm: float = 20.0, sides: int = 48) -> Path:
    """Write an ASCII STL of a closed cylinder HEIGHT_MM tall."""
    radius, centre = diameter_mm / 2, diameter_mm / 2
    rim = [(centre + radius * math.cos(2 * math.pi * k / sides),
            centre + radius * math.sin(2 * math.pi * k / sides)) for k in range(sides)]
    facets = []
    for k, (ax, ay) in enumerate(rim):
        bx, by = rim[(k + 1) % sides]
        facets += [((centre, centre, 0), (bx, by, 0), (ax, ay, 0)),
                   ((centre, centre, HEIGHT_MM), (ax, ay, HEIGHT_MM), (bx, by, HEIGHT_MM)),
                   ((ax, ay, 0), (bx, by, 0), (bx, by, HEIGHT_MM)),
                   ((ax, ay, 0), (bx, by, HEIGHT_MM), (ax, ay, HEIGHT_MM))]
    lines = ["solid cylinder"]
    for facet in facets:
        lines += ["facet normal 0 0 0", " outer loop"]
        lines += [f"  vertex {x:.6f} {y:.6f} {z:.6f}" for x, y, z in facet]
        lines += [" endloop", "endfacet"]
    path.write_text("\n".join([*lines, "endsolid cylinder", ""]), encoding="ascii")
    return path


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, f"the slicer's output has no {pattern!r}"
    return float(match[1])


def seconds(duration: str) -> float:
    """PrusaSlicer's "1h 5m 57s"."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", duration))


def prusaslicer(stl: Path, gcode: Path, relative_e: bool) -> Reported:
    slicer = binary("prusa-slicer")
    version = re.search(r"PrusaSlicer-(\d+\.\d+\.\d+)", run(slicer, "--help"))
    assert version is not None
    run(slicer, "--load", FIXTURES / "prusaslicer.ini",
        "--use-relative-e-distances" if relative_e else "--no-use-relative-e-distances",
        "--export-gcode", stl, "--output", gcode)
    text = gcode.read_text()
    time = re.search(r"^; estimated printing time \(normal mode\) = (.+)$", text, re.MULTILINE)
    assert time is not None
    return Reported(version[1], number(r"^; filament used \[mm\] = ([\d.]+)$", text),
                    number(r"^; total filament used \[g\] = ([\d.]+)$", text), seconds(time[1]))


def curaengine(stl: Path, gcode: Path, relative_e: bool) -> Reported:
    slicer = binary("CuraEngine")
    version = re.search(r"Cura_SteamEngine version (\S+)", run(slicer, "help"))
    assert version is not None
    # -v: run outside Cura's front end, the engine leaves the file's header a
    # placeholder (";Filament used: 0m") and logs the filled one instead.
    log = run(slicer, "slice", "-v", "-j", FIXTURES / "cura" / "printfleet_test_printer.def.json",
              "-s", f"relative_extrusion={str(relative_e).lower()}", "-l", stl, "-o", gcode)
    header = log.split("Gcode header after slicing:", 1)[-1]
    return Reported(version[1], number(r"^;Filament used: ([\d.]+)m$", header) * 1000, None,
                    number(r"^;TIME:(\d+)$", header))


def slic3r(stl: Path, gcode: Path, relative_e: bool) -> Reported:
    slicer = binary("slic3r")
    version = run(slicer, "--version").strip()
    run(slicer, "--no-gui", "--load", FIXTURES / "slic3r.ini",
        *(["--use-relative-e-distances"] if relative_e else []), stl, "--output", gcode)
    text = gcode.read_text()
    return Reported(version, number(r"^; filament used = ([\d.]+)mm", text),
                    number(r"^; filament used = ([\d.]+)g$", text), None)


SLICERS = {"PrusaSlicer": prusaslicer, "Cura": curaengine, "Slic3r": slic3r}
CASES = [(name, relative) for name in SLICERS for relative in (False, True)]


@pytest.fixture(scope="module", params=CASES,
                ids=[f"{n}-{'relative' if r else 'absolute'}-E" for n, r in CASES])
def sliced(request, tmp_path_factory) -> tuple[str, Reported, Path, GcodeAnalysis]:
    """Slice once per slicer and extrusion mode; every test below reads the result."""
    name, relative_e = request.param
    folder = tmp_path_factory.mktemp(name)
    gcode = folder / "cylinder.gcode"
    reported = SLICERS[name](cylinder_stl(folder / "cylinder.stl"), gcode, relative_e)
    text = gcode.read_text()
    assert bool(re.search(r"^M83\b", text, re.MULTILINE)) == relative_e  # the mode asked for
    return name, reported, gcode, analyse_file(gcode, DIAMETER_MM, DENSITY_G_CM3)


def test_the_slicer_and_the_version_its_binary_reports_are_detected(sliced):
    name, reported, _, result = sliced
    assert (result.slicer, result.slicer_version) == (name, reported.version)


def test_the_filament_summed_from_the_moves_is_within_1_percent_of_the_slicers(sliced):
    _, reported, _, result = sliced
    assert result.extruded_mm is not None
    assert result.extruded_mm == pytest.approx(reported.filament_mm, rel=0.01)
    # CuraEngine's figure leaves out the 3 mm its start G-code primes; the
    # others count exactly what their moves draw.
    assert result.extruded_mm >= reported.filament_mm - 0.1


def test_the_weight_is_within_1_percent_of_the_slicers_where_it_reports_one(sliced):
    _, reported, _, result = sliced
    assert result.extruded_mm is not None
    ours = filament_grams(result.extruded_mm, DIAMETER_MM, DENSITY_G_CM3)
    if reported.filament_g is None:  # CuraEngine states no weight
        assert (result.filament_g, result.filament_g_from) == (
            filament_grams(result.extruded_mm, DIAMETER_MM, DENSITY_G_CM3), "length")
        return
    assert ours == pytest.approx(reported.filament_g, rel=0.01)
    assert (result.filament_g, result.filament_g_from) == (reported.filament_g, "slicer")


def test_print_time_is_the_slicers_where_it_estimates_one_and_sane_where_not(sliced):
    _, reported, gcode, result = sliced
    timer = MoveTimer()
    with gcode.open() as lines:
        for line in lines:
            timer.feed(line)
    assert result.print_time_s is not None
    if reported.print_time_s is None:  # Slic3r 1.3 estimates nothing
        assert result.print_time_from == "moves"
        assert result.print_time_s == round(timer.seconds, 1)
        assert 60 < result.print_time_s < 1800  # a 20 mm cylinder, 9 mm tall
        return
    assert result.print_time_from == "slicer"
    assert result.print_time_s == pytest.approx(reported.print_time_s, abs=1)
    # Moves at their feed rates, without acceleration, come in a little under
    # the slicer's own estimate: the fallback for slicers that give none.
    assert 0.85 * reported.print_time_s < timer.seconds < reported.print_time_s


def test_the_layer_count_matches_the_part_and_the_slicer(sliced):
    _, _, gcode, result = sliced
    counter = LayerCounter()
    with gcode.open() as lines:
        for line in lines:
            counter.feed(line)
    stated = re.search(r"^;LAYER_COUNT:(\d+)$", gcode.read_text(), re.MULTILINE)
    assert result.layers == counter.extruded_heights == LAYERS
    if stated is not None:  # Cura states it
        assert int(stated[1]) == LAYERS
