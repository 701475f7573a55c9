"""`printfleet bench retention` end to end on a small fleet: both figures, their ratio, every row gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storage.postgres_server import server_dsn, timescale_server
from tests.storage.test_timescale import needs_timescale

pytestmark = pytest.mark.timeout(300)

PRINTERS, INTERVAL_S = 3, 60


def printfleet(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the command in a scratch directory, untouched by the caller's PRINTFLEET_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRINTFLEET_")}
    env["TMPDIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "printfleet", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)


def run_small_bench(tmp_path: Path, backend: str, dsn: str | None) -> dict:
    extra = ("--dsn", dsn) if dsn else ()
    result = printfleet(tmp_path, "bench", "retention", "--backend", backend, "--printers",
                        str(PRINTERS), "--interval-s", str(INTERVAL_S), "--repeats", "2",
                        "--settle-s", "0", *extra, "--log-level", "WARNING")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == backend
    assert report["rows"] == PRINTERS * 86400 // INTERVAL_S
    assert report["samples_per_printer"] == 86400 // INTERVAL_S
    assert report["repeats"] == 2
    assert len(report["plain_delete_each_s"]) == len(report["retention_each_s"]) == 2
    assert report["plain_delete_s"] == pytest.approx(
        sum(report["plain_delete_each_s"]) / 2, abs=1e-3)  # the median of two
    assert report["retention_s"] > 0 and report["plain_delete_s"] > 0
    assert report["ratio"] == pytest.approx(report["plain_delete_s"] / report["retention_s"],
                                            rel=0.05, abs=0.01)
    return report


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_small_run_times_the_retention_run_against_a_plain_delete(tmp_path, backend):
    report = run_small_bench(tmp_path, backend, server_dsn() if backend == "postgres" else None)
    assert report["mode"] in ("sqlite", "postgres", "timescale")
    timescale = report["mode"] == "timescale"
    assert report["retention_method"] == (
        "drop_chunks" if timescale else "batched per-device deletes")
    assert (report["target_ratio"] == 20.0) == timescale


@needs_timescale
def test_on_timescaledb_the_run_drops_compressed_chunks_and_both_states_are_compared(tmp_path):
    report = run_small_bench(tmp_path, "postgres", timescale_server())
    assert report["mode"] == "timescale" and report["retention_method"] == "drop_chunks"
    assert report["retention_state"].startswith("compressed")
    assert report["prepared_before_run"]["compress_s"] > 0
    same = report["same_state"]
    assert same["compressed"]["retention_s"] == report["retention_s"]
    assert same["uncompressed"]["plain_delete_s"] == report["plain_delete_s"]
    assert same["uncompressed"]["retention_s"] > 0 and same["compressed"]["plain_delete_s"] > 0
    assert report["meets_target"] == (report["ratio"] >= 20.0)


def test_bad_options_are_refused_with_the_reason(tmp_path):
    result = printfleet(tmp_path, "bench", "retention", "--interval-s", "7")
    assert result.returncode == 1 and "divide a day" in result.stderr
