"""Camera snapshots: from an HTTP snapshot URL or a command, bounded in size.

Live view runs only while the server asks for it (it stops by itself when
the server stops asking), and a disabled camera takes no picture at all.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
import urllib.request
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_LIVE_S = 600.0
MIN_INTERVAL_S = 0.5


class CameraError(RuntimeError):
    """No usable picture; the message says why."""


@dataclass(frozen=True)
class CameraSettings:
    enabled: bool = False
    snapshot_url: str = ""
    command: tuple[str, ...] = ()
    max_bytes: int = 180 * 1024
    timeout_s: float = 10.0
    live_interval_s: float = 2.0


def take_snapshot(settings: CameraSettings) -> tuple[bytes, str]:
    """Take one picture (blocking); return its bytes and content type."""
    if not settings.enabled:
        raise CameraError("the camera is disabled")
    if settings.snapshot_url:
        return _from_url(settings)
    if settings.command:
        return _from_command(settings)
    raise CameraError("no camera source configured (snapshot_url or command)")


def _from_url(settings: CameraSettings) -> tuple[bytes, str]:
    try:
        with urllib.request.urlopen(settings.snapshot_url, timeout=settings.timeout_s) as reply:
            content_type = reply.headers.get_content_type() or "image/jpeg"
            image = reply.read(settings.max_bytes + 1)
    except OSError as error:
        raise CameraError(f"snapshot from {settings.snapshot_url} failed: {error}") from None
    return _bounded(image, settings), content_type


def _from_command(settings: CameraSettings) -> tuple[bytes, str]:
    try:
        result = subprocess.run(list(settings.command), capture_output=True,
                                timeout=settings.timeout_s, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        raise CameraError(f"camera command failed: {error}") from None
    return _bounded(result.stdout, settings), "image/jpeg"


def _bounded(image: bytes, settings: CameraSettings) -> bytes:
    if not image:
        raise CameraError("the camera returned an empty picture")
    if len(image) > settings.max_bytes:
        raise CameraError(f"picture of more than {settings.max_bytes} bytes refused; "
                          "lower the camera's resolution or quality")
    return image


class LiveView:
    """When the server wants live pictures, and how often."""

    def __init__(self, default_interval_s: float) -> None:
        self.interval_s = default_interval_s
        self._until = 0.0
        self.changed = asyncio.Event()

    def request(self, enabled: bool, interval_s: float | None, duration_s: float | None) -> None:
        """Start (for at most duration_s) or stop live pictures."""
        if interval_s is not None:
            self.interval_s = max(MIN_INTERVAL_S, float(interval_s))
        duration = min(MAX_LIVE_S, float(duration_s or 60.0))
        self._until = time.monotonic() + duration if enabled else 0.0
        self.changed.set()

    @property
    def active(self) -> bool:
        return time.monotonic() < self._until
