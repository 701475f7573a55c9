"""`printfleet bench connections` end to end, small: every count matches, nothing crosses.

The leaky-ACL run proves the bench's isolation check can fail: the same
bench against a broker whose ACL lets every device read and write the
whole tree must report violations.
"""

from __future__ import annotations

import json
import resource

import pytest

import broker_config.render
from printfleet import settings as settings_module
from printfleet.bench import connections
from printfleet.bench.connections import ConnectionsOptions

from .test_ingest import printfleet

pytestmark = pytest.mark.timeout(240)

DEVICES = 200
SAMPLE = 20


def test_a_small_run_connects_every_device_and_nothing_crosses(tmp_path):
    result = printfleet(tmp_path, "bench", "connections", "--devices", str(DEVICES),
                        "--processes", "2", "--acl-sample", str(SAMPLE), "--hold", "1",
                        "--json", "--log-level", "WARNING")

    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads(result.stdout)
    assert (report["devices"], report["processes"]) == (DEVICES, 2)
    assert report["connected"] == report["still_connected_at_end"] == DEVICES
    assert report["connect_failures"] == 0
    # The broker's own count: every device plus the fleet account reading it.
    assert report["broker_clients_connected"] == DEVICES + 1
    assert report["messages_published"] == report["messages_received"] == DEVICES
    assert report["messages_received_of"] == f"{DEVICES}/{DEVICES}"
    assert report["acl_violations"] == 0
    assert report["passed"] is True and all(report["checks"].values())
    assert 0 < report["connect_ms_p50"] <= report["connect_ms_p99"] <= report["connect_ms_max"]
    assert report["connect_total_s"] > 0
    assert report["broker_rss_mb_connected"] > report["broker_rss_mb_idle"] > 0
    assert report["broker_kb_per_connection"] > 0
    details = report["details"]
    assert details["provisioning"]["password_file_entries"] == DEVICES + 1
    acl = details["acl"]
    assert acl["snoopers"] == SAMPLE
    # Snoopers and their victims each got the fleet's command: the inboxes were live.
    assert acl["devices_checked"] == acl["controls_delivered"] == 2 * SAMPLE
    exchange = details["exchange"]
    # Two forged publishes per snooper, each refused by the broker's PUBACK.
    assert exchange["forged_publishes_refused"] == 2 * SAMPLE
    assert exchange["forged_publishes_acked"] == 0
    assert exchange["snoop_filters_granted"] + exchange["snoop_filters_refused"] == 7 * SAMPLE
    assert not list(tmp_path.glob("printfleet-bench-*"))


def test_the_isolation_check_reports_a_leaky_acl(tmp_path, monkeypatch):
    """With `pattern readwrite <prefix>/#` every device reads and writes every other's topics."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(broker_config.render, "device_acl_patterns",
                        lambda prefix: [("readwrite", f"{prefix}/#")])
    settings = settings_module.load(None, environ={})

    report = connections.run(settings, ConnectionsOptions(20, 2, 5, 0.0), lambda text: None)

    assert report["connected"] == 20
    assert report["messages_received"] == 20
    assert report["acl_violations"] > 0
    acl = report["details"]["acl"]
    assert acl["snooped"] > 0 and acl["forged_to_devices"] > 0 and acl["forged_to_fleet"] > 0
    assert report["checks"]["acl_no_violations"] is False
    assert report["passed"] is False


def test_too_few_open_files_for_the_fleet_fails_early_and_says_why(tmp_path):
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    result = printfleet(tmp_path, "bench", "connections", "--devices", "500", "--json",
                        timeout_s=60, preexec_fn=low_limit)

    assert result.returncode == 1
    assert "open files for 500 connections" in result.stderr
    assert result.stdout == ""


def test_help_explains_every_option(tmp_path):
    result = printfleet(tmp_path, "bench", "connections", "--help", timeout_s=60)

    assert result.returncode == 0
    for option in ("--devices", "--processes", "--acl-sample", "--hold", "--json"):
        assert option in result.stdout
