"""`printfleet bench retention` end to end on a small fleet: both figures, their ratio, every row gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storage.postgres_server import server_dsn

pytestmark = pytest.mark.timeout(300)

PRINTERS, INTERVAL_S = 3, 60


def printfleet(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the command in a scratch directory, untouched by the caller's PRINTFLEET_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRINTFLEET_")}
    env["TMPDIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "printfleet", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_small_run_times_the_retention_run_against_a_plain_delete(tmp_path, backend):
    extra = ("--dsn", server_dsn()) if backend == "postgres" else ()
    result = printfleet(tmp_path, "bench", "retention", "--backend", backend, "--printers",
                        str(PRINTERS), "--interval-s", str(INTERVAL_S), *extra,
                        "--log-level", "WARNING")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == backend and report["mode"] in ("sqlite", "postgres", "timescale")
    assert report["rows"] == PRINTERS * 86400 // INTERVAL_S
    assert report["samples_per_printer"] == 86400 // INTERVAL_S
    assert report["retention_s"] > 0 and report["plain_delete_s"] > 0
    assert report["ratio"] == pytest.approx(report["plain_delete_s"] / report["retention_s"],
                                            rel=0.05, abs=0.01)
    timescale = report["mode"] == "timescale"
    assert report["retention_method"] == (
        "drop_chunks" if timescale else "batched per-device deletes")
    assert (report["target_ratio"] == 20.0) == timescale


def test_bad_options_are_refused_with_the_reason(tmp_path):
    result = printfleet(tmp_path, "bench", "retention", "--interval-s", "7")
    assert result.returncode == 1 and "divide a day" in result.stderr
