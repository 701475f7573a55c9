"""The Pi install script, staged into a directory (no user, no systemctl)."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def test_install_script_stages_a_venv_a_config_and_a_hardened_unit(tmp_path):
    stage = tmp_path / "stage"
    result = subprocess.run(
        ["bash", str(ROOT / "device-firmware" / "install" / "install.sh"), "--destdir",
         str(stage), "--server", "https://printfleet.example.org", "--broker",
         "mqtt.example.org:8884"], capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr
    assert "configuration OK: 0 paired printer(s)" in result.stdout

    agent = stage / "opt/printfleet-agent/venv/bin/printfleet-agent"
    assert agent.exists()
    config = tomllib.loads((stage / "etc/printfleet-agent/agent.toml").read_text())
    assert config["broker"]["host"] == "mqtt.example.org"
    assert config["broker"]["port"] == 8884
    assert config["server"]["url"] == "https://printfleet.example.org"
    assert config["data_dir"] == "/var/lib/printfleet-agent"

    unit = (stage / "etc/systemd/system/printfleet-agent.service").read_text()
    lines = dict(line.split("=", 1) for line in unit.splitlines()
                 if "=" in line and not line.startswith("#"))
    assert lines["User"] == "printfleet-agent"
    assert lines["Restart"] == "on-failure"
    assert lines["NoNewPrivileges"] == "yes"
    assert lines["ExecStart"].startswith("/opt/printfleet-agent/venv/bin/printfleet-agent ")
    assert "@" not in unit, "every placeholder was filled"

    again = subprocess.run(["bash", str(ROOT / "device-firmware/install/install.sh"),
                            "--destdir", str(stage)], capture_output=True, text=True,
                           timeout=280)
    assert again.returncode == 0, again.stderr
    kept = tomllib.loads((stage / "etc/printfleet-agent/agent.toml").read_text())
    assert kept["broker"]["host"] == "mqtt.example.org", "a re-run keeps the edited config"
