"""The agent stands alone: it must run on a Pi without the server's dependencies."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("flask", "psycopg", "gmqtt", "waitress", "apscheduler", "argon2", "fleet",
               "storage", "web", "printfleet")


def test_agent_modules_import_nothing_from_the_server_side():
    script = (
        "import importlib, pkgutil, sys\n"
        "import printfleet_agent, printfleet_gcode, printfleet_protocol\n"
        "for package in (printfleet_agent, printfleet_gcode, printfleet_protocol):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=True)
    loaded = set(result.stdout.split())
    assert {"paho", "msgspec", "printfleet_agent", "printfleet_gcode", "printfleet_protocol"} <= loaded
    assert loaded.isdisjoint(SERVER_ONLY), loaded & set(SERVER_ONLY)


def test_agent_distribution_declares_only_what_a_pi_needs():
    project = tomllib.loads((ROOT / "device-firmware" / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("<")[0].split("=")[0].strip().lower()
             for dep in project["dependencies"]}
    assert names == {"paho-mqtt", "pyserial", "aiosqlite", "msgspec"}
    assert project["scripts"]["printfleet-agent"] == "printfleet_agent.cli:main"


def test_agent_refuses_an_invalid_device_id(tmp_path):
    password = tmp_path / "password"
    password.write_text("secret")
    config = tmp_path / "agent.toml"
    config.write_text(f'[[printers]]\ndevice_id = "Bad/Id"\npassword_file = "{password}"\n')
    result = subprocess.run([sys.executable, "-m", "printfleet_agent.cli", "--config",
                             str(config), "--check-config"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "device_id" in result.stderr and "Bad/Id" in result.stderr
