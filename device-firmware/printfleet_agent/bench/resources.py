"""Memory and CPU of the agent reporting at 1 Hz, measured from /proc on its own process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from printfleet_protocol import Family, device_topic, encode
from printfleet_protocol.payloads import SCHEMA_VERSION, StoredAck

PREFIX = "bench"
DEVICE = "bench-printer"
WARMUP_S = 5.0


class BenchError(RuntimeError):
    """The bench cannot run here; the message says what is missing."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A throwaway Mosquitto on a free loopback port (anonymous: it is only ours)."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                           if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        raise BenchError("the bench needs Mosquitto: sudo apt-get install mosquitto")
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _wait_port(port, process)
    return process, port


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError("Mosquitto exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError("Mosquitto did not start listening")


class StoredAcker:
    """Plays the fleet: confirms every message so the agent's outbox drains as in production."""

    def __init__(self, port: int) -> None:
        self.received = 0
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-fleet")
        self._client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/+/+", qos=1)
        self._client.on_message = self._on_message
        self._client.connect_async("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            seq = int(msgspec.json.decode(message.payload)["seq"])
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            return
        self.received += 1
        ack = StoredAck(v=SCHEMA_VERSION, ts=time.time(), ranges=[(seq, seq)])
        client.publish(device_topic(PREFIX, DEVICE, Family.STORED), encode(ack), qos=1)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def agent_config(workdir: Path, port: int) -> Path:
    password = workdir / "password"
    password.write_text("bench\n")
    config = workdir / "agent.toml"
    config.write_text(
        f'data_dir = "{workdir / "agent"}"\ntelemetry_interval_s = 1.0\n'
        f"heartbeat_interval_s = 30\n[broker]\nport = {port}\ntopic_prefix = \"{PREFIX}\"\n"
        # The bench's own throwaway broker on loopback speaks plain MQTT, so the
        # figures leave out TLS (allowed only to a local broker; see docs/agent.md).
        "tls = false\n"
        f'[[printers]]\ndevice_id = "{DEVICE}"\npassword_file = "{password}"\n'
        f"[printers.simulated]\njob_duration_s = 120\nauto_start_after_s = 1\n"
        f"heater_time_constant_s = 2\n")
    return config


def measure_agent(workdir: Path, duration_s: float) -> dict[str, float]:
    """Run the real agent (one simulated printer, 1 Hz) and measure its RSS and CPU."""
    broker, port = start_broker(workdir)
    acker = StoredAcker(port)
    agent = subprocess.Popen([sys.executable, "-m", "printfleet_agent.cli", "--config",
                              str(agent_config(workdir, port)), "--log-level", "WARNING"])
    try:
        time.sleep(WARMUP_S)
        if agent.poll() is not None:
            raise BenchError(f"the agent exited with code {agent.returncode}")
        cpu_start, wall_start = _cpu_seconds(agent.pid), time.monotonic()
        peak_rss = 0.0
        stop = threading.Event()
        while not stop.wait(1.0):
            peak_rss = max(peak_rss, _rss_mb(agent.pid))
            if time.monotonic() - wall_start >= duration_s:
                stop.set()
        cpu = _cpu_seconds(agent.pid) - cpu_start
        wall = time.monotonic() - wall_start
        messages = acker.received
    finally:
        agent.terminate()
        agent.wait(20)
        acker.close()
        broker.terminate()
        broker.wait(10)
    return {"rss_mb": round(peak_rss, 1), "cpu_percent": round(100 * cpu / wall, 2),
            "agent_messages_per_s": round(messages / (wall + WARMUP_S), 2)}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
