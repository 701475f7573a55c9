"""`printfleet-agent bench`: every figure measured in one run, printed as one JSON object."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .octoprint_server import octoprint_bin
from .resources import measure_agent
from .streaming import measure_agent_streaming, measure_octoprint_streaming, write_gcode

RSS_TARGET_MB = 50.0


def run(seconds: float, moves: int, octoprint: Path | None,
        say=lambda text: print(text, file=sys.stderr, flush=True)) -> dict[str, Any]:
    """Measure the agent's footprint and both streamers on the same file and emulator."""
    executable = octoprint or octoprint_bin(Path.cwd())
    with tempfile.TemporaryDirectory(prefix="printfleet-bench-") as scratch:
        workdir = Path(scratch)
        say(f"bench: the agent reporting at 1 Hz for {seconds:g} s …")
        footprint = measure_agent(workdir, seconds)
        gcode = workdir / "bench.gcode"
        lines = write_gcode(gcode, moves)
        say(f"bench: the agent streaming {lines} lines to the emulator (window 1, then 4) …")
        window_1 = measure_agent_streaming(workdir, gcode, window=1)
        window_4 = measure_agent_streaming(workdir, gcode, window=4)
        say(f"bench: OctoPrint streaming the same {lines} lines to the same emulator …")
        octo = measure_octoprint_streaming(workdir, gcode, executable, lines)
    ratio = window_1 / octo["lines_per_s"]
    return {
        **footprint,
        "stream_lines_per_s": round(window_1),
        "stream_lines_per_s_window_4": round(window_4),
        "octoprint_stream_lines_per_s": round(octo["lines_per_s"]),
        "streaming_ratio_to_octoprint": round(ratio, 2),
        "octoprint_startup_s": round(octo["startup_s"], 2),
        "gcode_lines": lines,
        "measured_seconds": seconds,
        "targets": {"rss_mb_at_most": RSS_TARGET_MB, "rss_met": footprint["rss_mb"] <= RSS_TARGET_MB,
                    "streaming_at_least_octoprint": ratio >= 1.0},
        "machine": {"cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                  time.gmtime())},
    }
