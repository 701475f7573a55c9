"""`printfleet-agent bench` runs end to end and reports every figure (values are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(240)

KEYS = {"rss_mb", "cpu_percent", "stream_lines_per_s", "octoprint_stream_lines_per_s",
        "streaming_ratio_to_octoprint"}


def test_bench_prints_one_json_object_with_every_figure(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "printfleet_agent.cli", "bench", "--json", "--seconds", "3",
         "--moves", "400"], capture_output=True, text=True, timeout=220,
        env={"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(tmp_path)}, cwd=_repo_root())
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert KEYS <= set(report)
    assert report["rss_mb"] > 0 and report["stream_lines_per_s"] > 0
    assert report["octoprint_stream_lines_per_s"] > 0
    expected = report["stream_lines_per_s"] / report["octoprint_stream_lines_per_s"]
    assert abs(report["streaming_ratio_to_octoprint"] - expected) < 0.02
    assert report["gcode_lines"] == 403


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
