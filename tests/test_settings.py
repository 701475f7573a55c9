"""Settings: one TOML file, PRINTFLEET_* overrides, every error with its key path."""

from __future__ import annotations

import subprocess
import sys

import pytest

from printfleet import settings
from printfleet_protocol.settings import SettingsError


def test_defaults_need_no_file():
    loaded = settings.load(None, environ={})
    assert loaded.storage.backend == "sqlite"
    assert loaded.broker.port == 1884
    assert loaded.sqlite_file.name == "printfleet.sqlite3"


def test_environment_overrides_the_file(tmp_path):
    config = tmp_path / "printfleet.toml"
    config.write_text('data_dir = "/srv/pf"\n[web]\nport = 9000\n[broker]\ntopic_prefix = "farm"\n')
    loaded = settings.load(config, environ={"PRINTFLEET_WEB__PORT": "9100"})
    assert loaded.web.port == 9100
    assert loaded.broker.topic_prefix == "farm"
    assert str(loaded.data_path) == "/srv/pf"


def test_every_error_is_reported_with_its_key_path(tmp_path):
    config = tmp_path / "printfleet.toml"
    config.write_text('colour = "blue"\n[web]\nport = "high"\n[fleet]\nbatch_max_rows = 0\n'
                      "[broker]\nmystery = 1\n")
    with pytest.raises(SettingsError) as caught:
        settings.load(config, environ={})
    found = {(e.key, e.reason.split(" (")[0]) for e in caught.value.errors}
    assert ("colour", "unknown setting") in found
    assert ("broker.mystery", "unknown setting") in found
    assert any(key == "web.port" for key, _ in found)
    assert any(key == "fleet.batch_max_rows" and "0" not in reason or key == "fleet.batch_max_rows"
               for key, reason in found)
    assert len(caught.value.errors) == 4


def test_missing_and_broken_files_are_clear(tmp_path):
    with pytest.raises(SettingsError, match="config file not found"):
        settings.load(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[web\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        settings.load(broken, environ={})


@pytest.mark.parametrize("command", ["up", "worker", "scheduler", "web", "simulate", "status",
                                     "migrate"])
def test_every_command_checks_config(tmp_path, command):
    ok = subprocess.run([sys.executable, "-m", "printfleet", command, "--check-config",
                         "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "configuration OK" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "printfleet", command, "--check-config"],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PRINTFLEET_WEB__PORT": "seventy"})
    assert bad.returncode == 2
    assert "web.port" in bad.stderr and "seventy" in bad.stderr


def test_agent_check_config_reports_errors(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text('telemetry_interval_s = -1\n[[printers]]\ndevice_id = "printer-01"\n'
                      'backend = "teleport"\n')
    result = subprocess.run([sys.executable, "-m", "printfleet_agent.cli", "--config", str(config),
                             "--check-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "telemetry_interval_s" in result.stderr
    assert "printers.0.backend" in result.stderr and "teleport" in result.stderr


def test_sample_configs_parse_and_show_the_defaults():
    from pathlib import Path

    from printfleet_agent import settings as agent_settings

    root = Path(__file__).resolve().parent.parent
    server = settings.load(root / "docs" / "printfleet.sample.toml", environ={})
    assert server == settings.load(None, environ={})
    agent = agent_settings.load(root / "device-firmware" / "agent.sample.toml", environ={})
    assert agent == agent_settings.load(None, environ={})
