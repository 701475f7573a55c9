"""`printfleet bench ingest` end to end: a small SQLite run prints every figure, loses nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)

REQUIRED_KEYS = {
    "bare_drain_msgs_per_s", "copy_rows_per_s", "committed_msgs_per_s", "ratio_to_bare_drain",
    "ratio_to_copy", "latency_ms_p50", "latency_ms_p99", "lost", "duplicated", "worker_rss_mb",
    "devices", "seconds", "backend", "machine", "targets",
}
POSITIVE = ("bare_drain_msgs_per_s", "copy_rows_per_s", "committed_msgs_per_s",
            "ratio_to_bare_drain", "ratio_to_copy", "latency_ms_p50", "latency_ms_p99",
            "worker_rss_mb")


def printfleet(tmp_path: Path, *args: str, timeout_s: float = 200,
               preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    """Run the command in a scratch directory, untouched by the caller's PRINTFLEET_* settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PRINTFLEET_")}
    environ["TMPDIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "printfleet", *args], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=timeout_s,
                          preexec_fn=preexec_fn)


def test_a_small_sqlite_run_reports_every_figure_and_loses_nothing(tmp_path):
    result = printfleet(tmp_path, "bench", "ingest", "--backend", "sqlite", "--devices", "20",
                        "--seconds", "2", "--log-level", "WARNING")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert REQUIRED_KEYS <= report.keys()
    assert (report["backend"], report["devices"], report["seconds"]) == ("sqlite", 20, 2.0)
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    for key in POSITIVE:
        assert report[key] > 0, key
    assert report["latency_ms_p99"] >= report["latency_ms_p50"]
    assert report["machine"]["cpus"] >= 1
    assert report["targets"]["lost"]["met"] is True
    check = report["details"]["storage_check"]
    assert check["acknowledged"] == check["stored"] > 0
    assert check["stored_but_not_published"] == 0
    # Progress goes to stderr, so stdout is nothing but the JSON object.
    assert "bench: checking every acknowledged seq" in result.stderr
    # The bench cleaned up after itself.
    assert not list(tmp_path.glob("printfleet-bench-*"))


def test_two_workers_share_the_load_and_lose_nothing(tmp_path):
    result = printfleet(tmp_path, "bench", "ingest", "--backend", "sqlite", "--devices", "20",
                        "--seconds", "2", "--workers", "2", "--log-level", "WARNING")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["details"]["connections"]["worker_processes"] == 2
    assert "bench: 2 fleet workers" in result.stderr
    assert report["committed_msgs_per_s"] > 0
    assert (report["lost"], report["duplicated"]) == (0, 0)
    check = report["details"]["storage_check"]
    assert check["acknowledged"] == check["stored"] > 0
    # Both workers' commits are counted: all the flood phase published was committed.
    assert report["details"]["max_rate"]["committed"] == report["details"]["max_rate"]["published"]
    assert report["details"]["max_rate"]["cpu_percent"]["worker"] > 0


def test_postgres_without_a_server_url_fails_with_a_clear_message(tmp_path):
    environ_var = "PF_BENCH_TEST_UNSET_URL"
    result = printfleet(tmp_path, "bench", "ingest", "--backend", "postgres", "--devices", "2",
                        "--seconds", "1", f"--config={_config(tmp_path, environ_var)}",
                        timeout_s=60)

    assert result.returncode == 1
    assert f"set {environ_var}" in result.stderr
    assert result.stdout == ""


def test_help_explains_every_option(tmp_path):
    result = printfleet(tmp_path, "bench", "ingest", "--help", timeout_s=60)

    assert result.returncode == 0
    for option in ("--backend", "--devices", "--seconds", "--generators", "--workers"):
        assert option in result.stdout


def _config(tmp_path: Path, dsn_variable: str) -> Path:
    config = tmp_path / "printfleet.toml"
    config.write_text(f'[storage]\npostgres_dsn_env = "{dsn_variable}"\n')
    return config
