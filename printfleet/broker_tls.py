"""The device listener's certificate: the operator's own (checked) or a generated one.

An operator-supplied certificate is read, never written: Printfleet only
checks at start-up that it can be used, so a mistake is one clear sentence
instead of a broker that will not start or devices that cannot connect.
"""

from __future__ import annotations

import datetime
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from broker_config import ListenerTls

from .settings import Settings
from .tls_certificates import GeneratedFiles, certificate_names, ensure_server_certificate


class BrokerTlsError(ValueError):
    """The TLS settings cannot be used; the message names the setting and the fix."""


def listener_tls(settings: Settings) -> ListenerTls:
    """The device listener's certificate and key, generating or renewing ours if needed."""
    broker = settings.broker
    if broker.tls_cert_file:
        check_operator_certificate(settings)
        return ListenerTls(Path(broker.tls_cert_file).resolve(),
                           Path(broker.tls_key_file).resolve())
    files = GeneratedFiles(settings.generated_tls_dir)
    ensure_server_certificate(files, server_names(settings))
    return ListenerTls(files.server_cert, files.server_key)


def server_names(settings: Settings) -> list[str]:
    """Names the generated certificate carries: loopback, this host, and the configured extras."""
    # The host name, not getfqdn(): that asks DNS, which may be slow or answer
    # differently from one start to the next (and so churn the certificate).
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(),
             *settings.broker.tls_extra_names]
    return list(dict.fromkeys(name.strip().lower() for name in names if name.strip()))


def device_ca_file(settings: Settings) -> Path | None:
    """The CA certificate devices must trust, or None where they trust their system's CAs."""
    broker = settings.broker
    if broker.tls_ca_file:
        return Path(broker.tls_ca_file)
    if broker.tls_cert_file:
        return None
    return GeneratedFiles(settings.generated_tls_dir).ca_cert


def device_ca_pem(settings: Settings) -> str:
    """The PEM text handed to a device at pairing ('' for system CAs or none made yet)."""
    path = device_ca_file(settings)
    try:
        return path.read_text(encoding="ascii") if path is not None else ""
    except FileNotFoundError:
        return ""


def check_operator_certificate_if_any(settings: Settings) -> None:
    """Check the operator's certificate where one is configured (the generated one is ours)."""
    if settings.broker.tls_cert_file:
        check_operator_certificate(settings)


def check_operator_certificate(settings: Settings,
                               now: datetime.datetime | None = None) -> None:
    """Raise BrokerTlsError unless the configured certificate, key and CA can serve devices."""
    broker = settings.broker
    cert = _load_certificate(Path(broker.tls_cert_file), "broker.tls_cert_file")
    key = _load_key(Path(broker.tls_key_file))
    if key.public_key().public_bytes(*_SPKI) != cert.public_key().public_bytes(*_SPKI):
        raise BrokerTlsError(
            f"broker.tls_key_file: {broker.tls_key_file} is not the key of the certificate in "
            f"{broker.tls_cert_file} (their public keys differ); point both at the same pair")
    now = now or datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc <= now:
        raise BrokerTlsError(
            f"broker.tls_cert_file: the certificate in {broker.tls_cert_file} expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d}; renew it (devices refuse an expired one)")
    if broker.tls_ca_file:
        _load_certificate(Path(broker.tls_ca_file), "broker.tls_ca_file")
    if not certificate_names(cert):
        raise BrokerTlsError(
            f"broker.tls_cert_file: the certificate in {broker.tls_cert_file} names no host "
            "(no subjectAltName); devices check the broker's name against that list")


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _load_certificate(path: Path, setting: str) -> x509.Certificate:
    data = _read(path, setting)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise BrokerTlsError(f"{setting}: {path} holds no PEM certificate "
                             "(expected a '-----BEGIN CERTIFICATE-----' block)") from None


def _load_key(path: Path) -> PrivateKeyTypes:
    data = _read(path, "broker.tls_key_file")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise BrokerTlsError(f"broker.tls_key_file: {path} holds no unencrypted PEM private "
                             f"key ({error}); Mosquitto cannot ask for a passphrase") from None


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise BrokerTlsError(f"{setting}: cannot read {path}: "
                             f"{error.strerror or error}") from None
