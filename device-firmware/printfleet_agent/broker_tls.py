"""The TLS context the agent's MQTT link connects with, and why a handshake failed.

paho retries a failed connection by itself but does not say why it failed;
a certificate problem would look like a broker that is down. The context
built here reports each failed handshake with OpenSSL's reason (through the
standard library's `sslsocket_class` hook), so the agent can log it. There
is no fallback: the link is configured for TLS once and paho never drops it.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

HandshakeFailed = Callable[[str], None]


class BrokerTlsContext(ssl.SSLContext):
    """A TLS 1.2+ client context that checks the broker's certificate and name."""

    server_name: str = ""
    on_handshake_failed: HandshakeFailed | None = None

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        if self.server_name:
            kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


class _ReportingSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except OSError as error:  # ssl.SSLError and certificate errors are OSErrors
            report = getattr(self.context, "on_handshake_failed", None)
            if report is not None:
                report(describe(error))
            # paho drops the socket without closing it when the handshake fails;
            # close it here so retries do not leave descriptors to the garbage collector.
            self.close()
            raise


def client_context(ca_file: Path | None, server_name: str = "",
                   on_handshake_failed: HandshakeFailed | None = None) -> BrokerTlsContext:
    """Trust `ca_file` (None: the system's CAs); check the certificate names `server_name`."""
    context = BrokerTlsContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    else:
        context.load_default_certs()
    context.server_name = server_name
    context.on_handshake_failed = on_handshake_failed
    context.sslsocket_class = _ReportingSocket
    return context


def describe(error: OSError) -> str:
    """One line a person can act on."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the broker's certificate was not accepted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"{error.reason or error}"
    return f"{error.strerror or error} (does this port speak TLS?)"
