"""A real OctoPrint for tests: its own basedir and loopback port, offline, with the Virtual Printer.

The launcher itself is the bench's (printfleet_agent.bench.octoprint_server);
this adds what only tests need: a template basedir made once, quick
restarts on the same port, and the Virtual Printer.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from printfleet_agent.bench.octoprint_server import (
    BIN_ENV,
    OctoPrintUnavailable,
    RunningOctoPrint,
    add_admin,
    launch,
    write_config,
)

from ...support import wait_until

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BIN = ROOT / ".octoprint-venv" / "bin" / "octoprint"

# Moves take their simulated time, so a test's G-code sets a print's length
# with feed rates. An idle Virtual Printer says "wait" twice a second, as
# Marlin does, which unsticks OctoPrint should an "ok" go astray while it pauses.
CONFIG: dict[str, Any] = {
    "plugins": {"virtual_printer": {"enabled": True, "sendWait": True, "waitInterval": 0.5,
                                    "simulateReset": False}},
}

__all__ = ["RunningOctoPrint", "connect_virtual_printer", "make_template", "octoprint_bin",
           "restart_octoprint", "start_octoprint"]


def octoprint_bin() -> Path:
    """The octoprint executable, or a test failure saying how to install it."""
    path = Path(os.environ.get(BIN_ENV) or DEFAULT_BIN)
    if not os.access(path, os.X_OK):
        pytest.fail(f"OctoPrint is not installed at {path}: run scripts/install-octoprint.sh "
                    f"(or point {BIN_ENV} at an octoprint executable)", pytrace=False)
    return path


def make_template(executable: Path, basedir: Path) -> None:
    """A basedir with the admin user, made once per session (user creation costs a start)."""
    add_admin(executable, basedir)


def start_octoprint(executable: Path, template: Path, basedir: Path) -> RunningOctoPrint:
    """Start OctoPrint from a copy of the template; retry if another process took the port."""
    shutil.copytree(template, basedir)
    api_key = write_config(basedir, CONFIG)
    for attempt in range(3):
        try:
            return launch(executable, basedir, api_key)
        except OctoPrintUnavailable:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def restart_octoprint(executable: Path, running: RunningOctoPrint) -> None:
    """Stop OctoPrint and start it again with the same basedir, key and port."""
    running.stop()
    port = int(running.url.rsplit(":", 1)[1])
    fresh = launch(executable, running.basedir, running.api_key, port)
    running.process, running.startup_s = fresh.process, fresh.startup_s


def connect_virtual_printer(running: RunningOctoPrint) -> None:
    """Connect OctoPrint to its Virtual Printer through the REST API; wait until operational."""
    running.rest.post("/api/connection", {"command": "connect", "port": "VIRTUAL",
                                          "baudrate": 115200, "autoconnect": False})
    wait_until(lambda: running.rest.get("/api/connection")["current"]["state"] == "Operational",
               30, "the Virtual Printer to become operational")
