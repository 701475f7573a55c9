"""`printfleet bench queries` end to end on a small history: every figure, answers that agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.storage.postgres_server import server_dsn

pytestmark = pytest.mark.timeout(300)

PRINTERS, DAYS = 3, 2
SMALL = ("--printers", str(PRINTERS), "--days", str(DAYS), "--repeats", "5")
READS = ("chart_24h", "chart_30d", "fleet_overview")


def printfleet(tmp_path: Path, *args: str, timeout_s: float = 240,
               environ: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the command in a scratch directory, untouched by the caller's PRINTFLEET_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRINTFLEET_")}
    env["TMPDIR"] = str(tmp_path)
    env.update(environ or {})
    return subprocess.run([sys.executable, "-m", "printfleet", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout_s)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_small_run_reports_every_read_and_the_answers_agree(tmp_path, backend):
    extra = ("--dsn", server_dsn()) if backend == "postgres" else ()
    result = printfleet(tmp_path, "bench", "queries", "--backend", backend, *SMALL, *extra,
                        "--json", "--log-level", "WARNING")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == backend
    modes = {"sqlite"} if backend == "sqlite" else {"postgres", "timescale"}
    assert report["mode"] in modes
    assert (report["printers"], report["days"], report["full_size"]) == (PRINTERS, DAYS, False)

    samples_per_day = 86400 // 10
    load = report["load"]
    assert load["telemetry_rows"] == PRINTERS * DAYS * samples_per_day
    assert load["rollup_rows"] == {"telemetry_1m": PRINTERS * DAYS * 1440,
                                   "telemetry_1h": PRINTERS * DAYS * 24}

    checks = report["consistency"]
    assert checks["chart_24h"]["source"] == "telemetry_1m"
    assert checks["chart_24h"]["store_points"] == checks["chart_24h"]["direct_points"] == [1440] * 2
    assert checks["chart_30d"]["source"] == "telemetry_1h"
    assert checks["chart_30d"]["store_points"] == checks["chart_30d"]["direct_points"] == [
        DAYS * 24] * 2
    assert checks["chart_24h"]["same_points"] and checks["chart_30d"]["same_points"]
    assert checks["fleet_overview"] == {"store_rows": PRINTERS, "direct_rows": PRINTERS,
                                        "same_printers": True}
    raw = checks["raw_scan_30d"]
    assert raw["raw_buckets"] == raw["rollup_buckets"] == 2 * DAYS * 24
    assert raw["equal"] is True

    for name in READS:
        for side in ("store_ms", "direct_ms"):
            timing = report["reads"][name][side]
            assert timing["runs"] == 5
            assert 0 < timing["p50"] <= timing["p95"] <= timing["max"], (name, side)
    scan = report["raw_scan_30d"]
    assert scan["raw_ms"]["runs"] == scan["rollup_ms"]["runs"] == 5
    assert scan["speedup_p50"] == pytest.approx(scan["raw_ms"]["p50"] / scan["rollup_ms"]["p50"],
                                                rel=0.05)
    assert set(report["targets"]) == {
        "chart_24h_p95_ms", "chart_30d_p95_ms", "fleet_overview_p95_ms",
        "chart_24h_store_vs_direct_p95_ms", "chart_30d_store_vs_direct_p95_ms",
        "fleet_overview_store_vs_direct_p95_ms", "rollup_speedup_p50"}
    assert all(isinstance(target["met"], bool) for target in report["targets"].values())
    # Progress goes to stderr; the bench cleaned up after itself.
    assert "rows/s" in result.stderr
    assert not list(tmp_path.glob("printfleet-bench-*"))


def test_without_json_it_prints_a_summary(tmp_path):
    result = printfleet(tmp_path, "bench", "queries", "--backend", "sqlite", "--printers", "2",
                        "--days", "1", "--repeats", "3", "--log-level", "WARNING")

    assert result.returncode == 0, result.stderr
    for name in (*READS, "raw scan", "rollup_speedup_p50"):
        assert name in result.stdout


def test_an_interval_that_does_not_divide_a_day_is_refused(tmp_path):
    result = printfleet(tmp_path, "bench", "queries", "--backend", "sqlite", "--interval-s", "7",
                        timeout_s=60)

    assert result.returncode == 1
    assert "--interval-s must divide a day" in result.stderr
    assert result.stdout == ""


def test_help_explains_every_option(tmp_path):
    result = printfleet(tmp_path, "bench", "queries", "--help", timeout_s=60)

    assert result.returncode == 0
    for option in ("--backend", "--dsn", "--printers", "--days", "--interval-s", "--repeats",
                   "--json"):
        assert option in result.stdout
