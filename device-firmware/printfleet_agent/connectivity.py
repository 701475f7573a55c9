"""Why the agent is offline: network, broker, TLS or credentials, checked in that order."""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass

from printfleet_protocol.payloads import DowntimeCause

from . import system_facts

PROBE_TIMEOUT_S = 3.0


class Step(enum.StrEnum):
    NETWORK = "network"
    BROKER = "broker"
    TLS = "tls"
    AUTH = "auth"
    CONNECTED = "connected"


@dataclass(frozen=True)
class Diagnosis:
    failing_step: Step
    detail: str

    @property
    def cause(self) -> DowntimeCause:
        # A broker whose certificate cannot be trusted is, to the device, no broker.
        return {Step.NETWORK: DowntimeCause.NETWORK, Step.BROKER: DowntimeCause.BROKER,
                Step.TLS: DowntimeCause.BROKER,
                Step.AUTH: DowntimeCause.AUTH}.get(self.failing_step, DowntimeCause.UNKNOWN)


def diagnose(host: str, port: int, auth_refused: bool, tls_error: str | None = None) -> Diagnosis:
    """Find the first failing step between this machine and the broker (blocking)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return Diagnosis(Step.NETWORK, f"cannot resolve {host}: {error}")
    if not _is_loopback(addresses) and system_facts.local_ip() is None:
        return Diagnosis(Step.NETWORK, "no network route (no local address)")
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            pass
    except ConnectionRefusedError:
        return Diagnosis(Step.BROKER, f"{host}:{port} refused the connection")
    except OSError as error:
        step = Step.BROKER if _is_loopback(addresses) else Step.NETWORK
        return Diagnosis(step, f"cannot reach {host}:{port}: {error}")
    if tls_error:
        return Diagnosis(Step.TLS, f"TLS with {host}:{port} failed: {tls_error}")
    if auth_refused:
        return Diagnosis(Step.AUTH, "the broker refused this device's credentials")
    return Diagnosis(Step.CONNECTED, "the broker is reachable")


def _is_loopback(addresses: list) -> bool:
    return all(str(info[4][0]).startswith(("127.", "::1")) for info in addresses)
