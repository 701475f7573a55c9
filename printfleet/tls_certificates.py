"""A private CA and the broker's server certificate, generated when the operator brings none.

`printfleet up` calls `ensure_server_certificate` on every start: the CA is
made once and kept (devices were handed it at pairing, so replacing it would
cut them off); the server certificate is made again when it is missing, is
about to expire, does not name every host devices may use, or was not issued
by the CA on disk. Keys are ECDSA P-256: small, and cheap for a Pi's handshake.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

CA_VALIDITY = datetime.timedelta(days=3650)
SERVER_VALIDITY = datetime.timedelta(days=365)
# Made again this long before it expires (checked at each start).
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class GeneratedFiles:
    """Where the generated CA and server certificate live (e.g. <data_dir>/secrets/tls/)."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"


def ensure_server_certificate(files: GeneratedFiles, names: list[str],
                              now: datetime.datetime | None = None) -> bool:
    """Create the CA and server certificate if needed; return True when the server's was made."""
    now = now or datetime.datetime.now(datetime.UTC)
    files.root.mkdir(parents=True, exist_ok=True)
    os.chmod(files.root, 0o700)
    ca_cert, ca_key = _load_or_create_ca(files, now)
    reason = _why_renew(files, ca_cert, names, now)
    if reason is None:
        return False
    logger.info("making the broker's TLS certificate (%s) for %s", reason, ", ".join(names))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(ca_cert.subject, key, "Printfleet MQTT broker", now, SERVER_VALIDITY)
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           False)
            .sign(ca_key, hashes.SHA256()))
    _write(files.server_key, _key_pem(key), 0o600)
    _write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return True


def certificate_names(cert: x509.Certificate) -> set[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    try:
        alternative = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return ({str(n) for n in alternative.get_values_for_type(x509.DNSName)}
            | {str(a) for a in alternative.get_values_for_type(x509.IPAddress)})


def _load_or_create_ca(files: GeneratedFiles, now: datetime.datetime
                       ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if files.ca_cert.exists() and files.ca_key.exists():
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{files.ca_key}: not the EC key Printfleet generates")
        return x509.load_pem_x509_certificate(files.ca_cert.read_bytes()), key
    logger.info("making a private certificate authority for the broker in %s", files.root)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Printfleet private CA")])
    cert = (_builder(subject, key, "Printfleet private CA", now, CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(files.ca_key, _key_pem(key), 0o600)
    _write(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _why_renew(files: GeneratedFiles, ca_cert: x509.Certificate, names: list[str],
               now: datetime.datetime) -> str | None:
    """Why the server certificate must be made (again), or None when it is fine."""
    if not files.server_cert.exists() or not files.server_key.exists():
        return "none yet"
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    if certificate_names(cert) != {_canonical(n) for n in names}:
        return "the host names changed"
    if cert.issuer != ca_cert.subject:
        return "the CA changed"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return "the CA changed"
    return None


def _builder(issuer: x509.Name, key: ec.EllipticCurvePrivateKey, common_name: str,
             now: datetime.datetime, validity: datetime.timedelta) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # A little in the past, for devices whose clocks run slightly behind.
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + validity)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with the given mode (keys: 0600, from the first byte)."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)
    os.replace(temporary, path)
