"""Facts about the machine the agent runs on: host, network, Raspberry Pi model."""

from __future__ import annotations

import platform
import shutil
import socket
import subprocess
from pathlib import Path

PI_MODEL_FILE = Path("/proc/device-tree/model")


def hostname() -> str:
    return socket.gethostname()


def local_ip() -> str | None:
    """The address the default route uses; a UDP connect sends no packet."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, nothing is sent
        return str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()


def wifi_ssid() -> str | None:
    """The Wi-Fi network name, if the machine is on Wi-Fi and iwgetid exists."""
    tool = shutil.which("iwgetid")
    if tool is None:
        return None
    try:
        result = subprocess.run([tool, "-r"], capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None


def pi_model(model_file: Path = PI_MODEL_FILE) -> str | None:
    """The Raspberry Pi model, or None when this is not a Pi."""
    try:
        model = model_file.read_bytes().rstrip(b"\x00").decode("utf-8", "replace").strip()
    except OSError:
        return None
    return model if model.startswith("Raspberry Pi") else None


def os_description() -> str:
    try:
        release = platform.freedesktop_os_release()
        return release.get("PRETTY_NAME", platform.platform())
    except OSError:
        return platform.platform()
