"""Run a real OctoPrint (from its own virtualenv) on loopback, offline, for the bench and tests."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..printers.octoprint.rest import OctoPrintError, OctoPrintRest

BIN_ENV = "PRINTFLEET_OCTOPRINT_BIN"
ADMIN = "admin"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

# Offline and headless: no online check, and every plugin that would reach
# the internet is disabled or pointed nowhere.
BASE_CONFIG: dict[str, Any] = {
    "server": {"firstRun": False, "onlineCheck": {"enabled": False},
               "pluginBlacklist": {"enabled": False}, "pythonEolCheck": {"enabled": False}},
    "plugins": {
        "_disabled": ["announcements", "tracking", "errortracking", "softwareupdate",
                      "discovery"],
        "health_check": {"disabled": ["octoprint_freshness", "python_eol"]},
        "pluginmanager": {"repository": "", "notices": ""},
    },
    "serial": {"autoconnect": False, "log": False},
}


class OctoPrintUnavailable(RuntimeError):
    """OctoPrint is not installed or did not start; the message says what to do."""


def octoprint_bin(repo_root: Path) -> Path:
    """The octoprint executable (PRINTFLEET_OCTOPRINT_BIN, else .octoprint-venv)."""
    path = Path(os.environ.get(BIN_ENV) or repo_root / ".octoprint-venv" / "bin" / "octoprint")
    if not os.access(path, os.X_OK):
        raise OctoPrintUnavailable(
            f"OctoPrint is not installed at {path}: run scripts/install-octoprint.sh (or point "
            f"{BIN_ENV} at an octoprint executable)")
    return path


@dataclass
class RunningOctoPrint:
    process: subprocess.Popen[bytes]
    url: str
    api_key: str
    basedir: Path
    startup_s: float

    @property
    def rest(self) -> OctoPrintRest:
        return OctoPrintRest(self.url, self.api_key, timeout_s=10)

    @property
    def log_path(self) -> Path:
        return self.basedir / "console.log"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)


def octoprint_env() -> dict[str, str]:
    """OctoPrint runs in its own virtualenv: none of ours may leak in."""
    return {name: value for name, value in os.environ.items()
            if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONWARNINGS")}


def add_admin(executable: Path, basedir: Path) -> None:
    """Create the admin user through OctoPrint's own command line."""
    subprocess.run([str(executable), "--basedir", str(basedir), "user", "add", ADMIN,
                    "--password", secrets.token_hex(16), "--admin"], check=True,
                   capture_output=True, timeout=60, env=octoprint_env())


def write_config(basedir: Path, extra_config: dict[str, Any]) -> str:
    """Write config.yaml (offline, headless, plus extra_config) and an API key; return the key."""
    api_key = secrets.token_urlsafe(24)
    # The Application Keys plugin keeps its keys here; a key issued in its UI lands here too.
    keys = basedir / "data" / "appkeys" / "keys.yaml"
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_text(json.dumps({ADMIN: [{"app_id": "Printfleet", "api_key": api_key}]}))
    config = _merged(BASE_CONFIG, extra_config)
    (basedir / "config.yaml").write_text(json.dumps(config))  # JSON is valid YAML
    return api_key


def launch(executable: Path, basedir: Path, api_key: str, port: int | None = None
           ) -> RunningOctoPrint:
    """Start OctoPrint on loopback; return once its API answers the key."""
    port = port or _free_port()
    command = [str(executable), "--basedir", str(basedir), "serve", "--host", "127.0.0.1",
               "--port", str(port)]
    if os.geteuid() == 0:
        command.append("--iknowwhatimdoing")  # OctoPrint refuses root without it
    started = time.monotonic()
    with (basedir / "console.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env=octoprint_env())
    running = RunningOctoPrint(process, f"http://127.0.0.1:{port}", api_key, basedir, 0.0)
    deadline = started + STARTUP_TIMEOUT_S
    while not _answers(running):
        if process.poll() is not None or time.monotonic() > deadline:
            running.stop()
            raise OctoPrintUnavailable(f"OctoPrint did not start on port {port}:\n"
                                       f"{running.log_tail()}")
        time.sleep(0.1)
    running.startup_s = time.monotonic() - started
    return running


def start_octoprint(executable: Path, basedir: Path, extra_config: dict[str, Any]
                    ) -> RunningOctoPrint:
    """A new OctoPrint in basedir: admin user, API key, config, started."""
    basedir.mkdir(parents=True, exist_ok=True)
    add_admin(executable, basedir)
    return launch(executable, basedir, write_config(basedir, extra_config))


def _answers(running: RunningOctoPrint) -> bool:
    try:
        return running.rest.get("/api/version") is not None
    except OctoPrintError:
        return False


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


