"""Where Printfleet's own processes (worker, scheduler, web) reach the broker.

On the broker's machine they use the plaintext listener on 127.0.0.1
(`broker.local_port`): loopback traffic never leaves the machine, and the
ingest path pays no TLS cost. With `local_port = 0` (a worker on another
machine) they use the device listener, over TLS with certificate checks.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from .broker_tls import device_ca_file
from .settings import Settings

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class BrokerEndpoint:
    host: str
    port: int
    # None: plaintext (loopback only).
    ssl_context: ssl.SSLContext | None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" + (" (TLS)" if self.ssl_context else "")


def fleet_endpoint(settings: Settings) -> BrokerEndpoint:
    """The broker address and TLS context for Printfleet's own MQTT clients."""
    broker = settings.broker
    if broker.local_port:
        return BrokerEndpoint(LOOPBACK, broker.local_port, None)
    return BrokerEndpoint(broker.host, broker.port, client_context(settings))


def client_context(settings: Settings) -> ssl.SSLContext:
    """A TLS 1.2+ client context trusting the devices' CA (or the system's CAs)."""
    ca_file = device_ca_file(settings)
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
