"""The walking skeleton from one command: `printfleet up` -> simulated device -> web page.

Everything is real: Mosquitto with broker-config, the worker, the scheduler and the web
server as `printfleet up` starts them, a simulated printer's agent over MQTT, SQLite, and
the printers page and its live stream read over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from .support import free_port, listening, unique_prefix, wait_until

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def stack(tmp_path):
    data = tmp_path / "data"
    ports = {"broker": free_port(), "local": free_port(), "web": free_port()}
    env = {**os.environ, "PRINTFLEET_DATA_DIR": str(data),
           "PRINTFLEET_BROKER__PORT": str(ports["broker"]),
           "PRINTFLEET_BROKER__LOCAL_PORT": str(ports["local"]),
           "PRINTFLEET_WEB__PORT": str(ports["web"]),
           "PRINTFLEET_BROKER__TOPIC_PREFIX": unique_prefix()}
    process = subprocess.Popen(
        [sys.executable, "-m", "printfleet", "up", "--printers", "1", "--job-duration-s", "20"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(ports["web"]) or process.poll() is not None, 60,
                   "the web server")
        assert process.poll() is None, process.stdout.read().decode()
        yield {"process": process, "data": data, "ports": ports}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()


def sign_in(client: httpx.Client, data) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    password = (data / "secrets" / "admin_password").read_text().strip()
    response = client.post("/login", data={"email": "admin@printfleet.local",
                                           "password": password, "csrf_token": token})
    assert response.status_code in (302, 303), response.text
    assert client.get("/printers").status_code == 200


def printing_update(client: httpx.Client, timeout_s: float) -> dict:
    """Read the live stream until a printer reports heaters and job progress."""
    deadline = time.monotonic() + timeout_s
    with client.stream("GET", "/printers/live", timeout=timeout_s) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                for printer in json.loads(line[5:]):
                    if printer.get("progress_pct") and printer.get("heaters", {}).get("bed"):
                        return printer
            if time.monotonic() > deadline:
                break
    raise AssertionError(f"no printing update on the live stream in {timeout_s}s")


def test_a_simulated_printer_shows_up_live_on_the_printers_page(stack):
    base = f"http://127.0.0.1:{stack['ports']['web']}"
    with httpx.Client(base_url=base, timeout=10) as client:
        sign_in(client, stack["data"])
        printer = printing_update(client, 90)
        assert printer["device_id"] == "sim-printer-01"
        assert printer["presence"] == "online"
        assert printer["heaters"]["bed"]["actual"] > 22
        assert 0 < printer["progress_pct"] <= 100
        page = client.get("/printers").text

    # The simulated printer got there over TLS: the device listener speaks nothing else.
    config = (stack["data"] / "broker" / "mosquitto.conf").read_text()
    device_listener = config[config.index(f"listener {stack['ports']['broker']} "):]
    tls_dir = stack["data"] / "secrets" / "tls"
    assert device_listener.split("\n\n")[0].splitlines()[2:5] == [
        f"certfile {tls_dir / 'server.pem'}", f"keyfile {tls_dir / 'server.key'}",
        "tls_version tlsv1.2"]
    assert f"listener {stack['ports']['local']} 127.0.0.1\n" in config
    assert (tls_dir / "server.key").stat().st_mode & 0o777 == 0o600

    row = re.search(r'data-device-id="sim-printer-01".*?</tr>', page, re.S).group(0)
    assert "Simulated printer 1" in page
    assert re.search(r"\d+(\.\d)?\s*/\s*\d+", row), "temperatures are shown as actual / target"
    assert re.search(r"\d+(\.\d+)?\s*%", row), "job progress is shown"

    status = subprocess.run([sys.executable, "-m", "printfleet", "status", "--json",
                             "--data-dir", str(stack["data"])], capture_output=True, text=True,
                            timeout=30, env={**os.environ, "PRINTFLEET_BROKER__PORT":
                                             str(stack["ports"]["broker"])})
    report = json.loads(status.stdout)
    assert report["connected_devices"] == 1
    assert report["workers"] and report["workers"][0]["healthy"]

    # Ctrl-C stops everything cleanly.
    stack["process"].send_signal(signal.SIGINT)
    assert stack["process"].wait(40) == 0
    assert not listening(stack["ports"]["web"])
    assert not listening(stack["ports"]["broker"])


def test_up_explains_a_port_that_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "printfleet", "up", "--data-dir", str(tmp_path),
             "--broker-port", str(port), "--web-port", str(free_port())],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "already in use" in result.stderr
    assert "--broker-port" in result.stderr


def test_up_explains_a_missing_mosquitto(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "printfleet", "up", "--data-dir", str(tmp_path),
         "--broker-port", str(free_port()), "--web-port", str(free_port())],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PRINTFLEET_BROKER__MOSQUITTO_PATH": "/nonexistent/mosquitto"})
    assert result.returncode == 1
    assert "Mosquitto was not found" in result.stderr
    assert "apt-get install mosquitto" in result.stderr
