"""A real OctoPrint for tests: its own basedir and loopback port, offline, with the Virtual Printer."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from printfleet_agent.printers.octoprint.rest import OctoPrintError, OctoPrintRest

from ...support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[3]
BIN_ENV = "PRINTFLEET_OCTOPRINT_BIN"
DEFAULT_BIN = ROOT / ".octoprint-venv" / "bin" / "octoprint"
ADMIN = "admin"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

# Offline, headless and quick. The online check is off ("assume online")
# because a failing one costs seconds of retries at every start; every
# plugin that would fetch from the internet is disabled or pointed nowhere.
CONFIG = {
    "server": {
        "firstRun": False,
        "onlineCheck": {"enabled": False},
        "pluginBlacklist": {"enabled": False},
        "pythonEolCheck": {"enabled": False},
    },
    "plugins": {
        "_disabled": ["announcements", "tracking", "errortracking", "softwareupdate", "discovery"],
        "health_check": {"disabled": ["octoprint_freshness", "python_eol"]},
        "pluginmanager": {"repository": "", "notices": ""},
        # Moves take their simulated time, so a test's G-code sets a print's
        # length with feed rates. An idle Virtual Printer says "wait" twice a
        # second, as Marlin does, which unsticks OctoPrint should an "ok" go
        # astray while it pauses.
        "virtual_printer": {"enabled": True, "sendWait": True, "waitInterval": 0.5,
                            "simulateReset": False},
    },
    "serial": {"autoconnect": False, "log": False},
}


def octoprint_bin() -> Path:
    """The octoprint executable, or a test failure saying how to install it."""
    path = Path(os.environ.get(BIN_ENV) or DEFAULT_BIN)
    if not os.access(path, os.X_OK):
        pytest.fail(f"OctoPrint is not installed at {path}: run scripts/install-octoprint.sh "
                    f"(or point {BIN_ENV} at an octoprint executable)", pytrace=False)
    return path


def octoprint_env() -> dict[str, str]:
    # OctoPrint runs in its own virtualenv: none of ours may leak in.
    return {name: value for name, value in os.environ.items()
            if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONWARNINGS")}


def make_template(executable: Path, basedir: Path) -> None:
    """Create a basedir with an admin user, through OctoPrint's own CLI."""
    subprocess.run([str(executable), "--basedir", str(basedir), "user", "add", ADMIN,
                    "--password", secrets.token_hex(16), "--admin"],
                   check=True, capture_output=True, timeout=60, env=octoprint_env())


class OctoPrintExited(AssertionError):
    """OctoPrint stopped before it answered."""


@dataclass
class RunningOctoPrint:
    """One OctoPrint process and the way to talk to it."""

    process: subprocess.Popen[bytes]
    url: str
    api_key: str
    basedir: Path
    log_path: Path
    startup_s: float

    @property
    def rest(self) -> OctoPrintRest:
        return OctoPrintRest(self.url, self.api_key, timeout_s=10)

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


def start_octoprint(executable: Path, template: Path, basedir: Path) -> RunningOctoPrint:
    """Start OctoPrint on a free loopback port; return once its API answers our key."""
    shutil.copytree(template, basedir)
    api_key = secrets.token_urlsafe(24)
    # The Application Keys plugin keeps its keys in this file; a key issued
    # through its UI or API lands here just the same.
    keys = basedir / "data" / "appkeys" / "keys.yaml"
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_bytes(msgspec.json.encode({ADMIN: [{"app_id": "Printfleet", "api_key": api_key}]}))
    (basedir / "config.yaml").write_bytes(msgspec.json.encode(CONFIG))  # JSON is valid YAML
    for _ in range(2):
        try:
            return _launch(executable, basedir, api_key, free_port())
        except OctoPrintExited:
            pass  # most likely another process took the free port first: try another
    return _launch(executable, basedir, api_key, free_port())


def restart_octoprint(executable: Path, running: RunningOctoPrint) -> None:
    """Stop OctoPrint and start it again with the same basedir, key and port."""
    running.stop()
    port = int(running.url.rsplit(":", 1)[1])
    fresh = _launch(executable, running.basedir, running.api_key, port)
    running.process, running.startup_s = fresh.process, fresh.startup_s


def _launch(executable: Path, basedir: Path, api_key: str, port: int) -> RunningOctoPrint:
    command = [str(executable), "--basedir", str(basedir), "serve", "--host", "127.0.0.1",
               "--port", str(port)]
    if os.geteuid() == 0:
        command.append("--iknowwhatimdoing")  # OctoPrint refuses root without it
    log_path = basedir / "console.log"
    started = time.monotonic()
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=octoprint_env())
    running = RunningOctoPrint(process, f"http://127.0.0.1:{port}", api_key, basedir, log_path, 0.0)
    try:
        wait_until(lambda: _answers(running), STARTUP_TIMEOUT_S, "OctoPrint to answer /api/version")
    except AssertionError as error:
        running.stop()
        raise type(error)(f"{error}\n--- OctoPrint's console ---\n{running.log_tail()}") from None
    except BaseException:
        running.stop()
        raise
    running.startup_s = time.monotonic() - started
    return running


def connect_virtual_printer(running: RunningOctoPrint) -> None:
    """Connect OctoPrint to its Virtual Printer through the REST API; wait until operational."""
    running.rest.post("/api/connection", {"command": "connect", "port": "VIRTUAL",
                                          "baudrate": 115200, "autoconnect": False})
    wait_until(lambda: running.rest.get("/api/connection")["current"]["state"] == "Operational",
               30, "the Virtual Printer to become operational")


def _answers(running: RunningOctoPrint) -> bool:
    if running.process.poll() is not None:
        raise OctoPrintExited(f"OctoPrint exited with {running.process.returncode}")
    try:
        return running.rest.get("/api/version") is not None
    except OctoPrintError:
        return False  # not listening yet, or its startup page answering 404
