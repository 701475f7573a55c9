"""Pairing, device side: register, show a code, wait for the owner, keep the credentials.

A printer entry without a device id is paired on first start: the agent
registers with the server, shows a short code (log, console, status file and
the printer's own display), polls until a user types the code in the web UI,
then stores its credentials readable only by the agent's user.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from . import __version__
from .settings import AgentSettings, PrinterConfig

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 15.0


class PairingFailed(RuntimeError):
    """Pairing cannot go on; the message says why."""


@dataclass(frozen=True)
class Registration:
    device_id: str
    code: str
    poll_token: str
    expires_at: float


class PairingClient:
    """The agent's half of the server's /api/v1/pairing endpoints."""

    def __init__(self, server_url: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._base = server_url.rstrip("/")
        self._sleep = sleep

    def register(self) -> Registration:
        reply = self._request("POST", "/api/v1/pairing/register",
                              {"hostname": socket.gethostname(), "agent_version": __version__})
        return Registration(reply["device_id"], reply["code"], reply["poll_token"],
                            float(reply["expires_at"]))

    def wait_for_credentials(self, registration: Registration) -> dict[str, Any]:
        """Poll until the device is claimed; return its credentials."""
        while True:
            reply = self._request("GET", "/api/v1/pairing/status", None,
                                  {"Authorization": f"Bearer {registration.poll_token}"})
            if reply.get("status") == "claimed":
                return reply
            self._sleep(float(reply.get("poll_interval_s", 3.0)))

    def rotate(self, device_id: str, password: str) -> str:
        """Trade the current password for a new one; return the new one."""
        basic = base64.b64encode(f"{device_id}:{password}".encode()).decode()
        reply = self._request("POST", "/api/v1/devices/rotate-credentials", {},
                              {"Authorization": f"Basic {basic}"})
        return str(reply["password"])

    def _request(self, method: str, path: str, body: dict | None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json",
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            detail = _error_text(error)
            raise PairingFailed(f"{method} {path}: HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise PairingFailed(f"cannot reach the Printfleet server at {self._base}: "
                                f"{getattr(error, 'reason', error)}") from None


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("error", error.reason))
    except (ValueError, AttributeError):
        return str(error.reason)


def slot_file(settings: AgentSettings, index: int) -> Path:
    return settings.data_path / "pairing" / f"printer-{index}.json"


def pending_file(settings: AgentSettings, index: int) -> Path:
    """Where a printer waiting to be claimed keeps its code, for `printfleet-agent status`."""
    return settings.data_path / "pairing" / f"printer-{index}.waiting.json"


def waiting_for_claim(settings: AgentSettings) -> list[dict[str, Any]]:
    """Printers whose codes are shown and not yet claimed."""
    found = []
    for path in sorted((settings.data_path / "pairing").glob("printer-*.waiting.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found


def paired_device_id(settings: AgentSettings, index: int) -> str | None:
    try:
        return str(json.loads(slot_file(settings, index).read_text())["device_id"])
    except (OSError, ValueError, KeyError):
        return None


def with_paired_identities(settings: AgentSettings) -> AgentSettings:
    """Fill in device ids that pairing stored for printers configured without one."""
    printers = []
    for index, printer in enumerate(settings.printers):
        if not printer.device_id:
            paired = paired_device_id(settings, index)
            if paired:
                printer = msgspec.structs.replace(printer, device_id=paired)
        printers.append(printer)
    return msgspec.structs.replace(settings, printers=printers)


def store_credentials(settings: AgentSettings, index: int, device_id: str, password: str,
                      broker_ca_pem: str = "") -> Path:
    """Keep the password readable only by the agent's user, and remember the identity.

    `broker_ca_pem` is the CA the server's broker certificate is signed by
    (its own private CA); empty when it is a public CA the system trusts.
    """
    printer = msgspec.structs.replace(settings.printers[index], device_id=device_id)
    password_path = settings.password_path(printer)
    _write_private(password_path, password + "\n")
    if broker_ca_pem:
        _write_private(settings.paired_ca_path(device_id), broker_ca_pem)
    _write_private(slot_file(settings, index), json.dumps({"device_id": device_id}))
    return password_path


def pair(settings: AgentSettings, index: int, client: PairingClient,
         show: Callable[[str, PrinterConfig, Registration], None]) -> str:
    """Pair printer `index`: register, show the code, wait, store; return the device id."""
    registration = client.register()
    waiting = pending_file(settings, index)
    _write_private(waiting, json.dumps({"printer": index, "name": settings.printers[index].name,
                                        "code": registration.code,
                                        "expires_at": registration.expires_at}))
    show(registration.code, settings.printers[index], registration)
    credentials = client.wait_for_credentials(registration)
    store_credentials(settings, index, credentials["device_id"], credentials["password"],
                      str(credentials.get("broker_ca_pem") or ""))
    waiting.unlink(missing_ok=True)
    logger.info("paired as %s", credentials["device_id"])
    return str(credentials["device_id"])


def show_code_on_printer(backend: Any, code: str) -> None:
    """Put the code on the printer's display (M117) and, through the printer's echo
    (M118 A1 action:notification), in OctoPrint's notifications where OctoPrint runs."""
    backend.send_gcode([f"M117 Printfleet code {code}",
                        f"M118 A1 action:notification Printfleet pairing code {code}"])


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
