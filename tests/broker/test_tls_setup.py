"""TLS as `printfleet up` sets it up: on by default, a generated CA, or the operator's own files."""

from __future__ import annotations

import datetime
import os
import socket
import stat
import subprocess
import sys

import pytest
from cryptography import x509

from printfleet import stack
from printfleet.broker_tls import device_ca_pem, server_names
from printfleet.context import Context
from printfleet.settings import load
from printfleet.tls_certificates import GeneratedFiles, certificate_names, ensure_server_certificate
from printfleet_protocol.settings import SettingsError

from ..support import free_port, make_settings


def rendered(context: Context) -> str:
    store = context.open_store(migrate=True)
    try:
        return stack.prepare(context, store).read_text()
    finally:
        store.stop()


def listener_block(config: str, port: int) -> str:
    """The lines from `listener <port> ...` up to the next blank line."""
    start = config.index(f"listener {port} ")
    return config[start:config.index("\n\n", start)]


def test_up_renders_tls_on_the_device_listener_by_default(tmp_path):
    context = Context(make_settings(tmp_path / "data"))
    broker = context.settings.broker
    config = rendered(context)

    generated = GeneratedFiles(context.settings.generated_tls_dir)
    device_listener = listener_block(config, broker.port)
    assert f"certfile {generated.server_cert}\n" in device_listener
    assert f"keyfile {generated.server_key}\n" in device_listener
    assert "tls_version tlsv1.2" in device_listener
    # The only other listener is the plaintext one, and it is bound to loopback.
    assert config.count("\nlistener ") == 2
    assert f"listener {broker.local_port} 127.0.0.1\n" in config
    for key in (generated.server_key, generated.ca_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE(generated.root.stat().st_mode) == 0o700
    cert = x509.load_pem_x509_certificate(generated.server_cert.read_bytes())
    assert {"localhost", "127.0.0.1", "::1", socket.gethostname().lower()} <= \
        certificate_names(cert)
    assert device_ca_pem(context.settings) == generated.ca_cert.read_text()


def test_a_local_port_of_zero_leaves_only_the_tls_listener(tmp_path):
    context = Context(make_settings(tmp_path / "data", broker={"local_port": 0}))
    config = rendered(context)
    assert config.count("\nlistener ") == 1
    assert "certfile" in listener_block(config, context.settings.broker.port)


def test_the_server_certificate_is_renewed_when_names_change_or_it_expires_soon(tmp_path):
    context = Context(make_settings(tmp_path / "data"))
    rendered(context)
    files = GeneratedFiles(context.settings.generated_tls_dir)
    ca, first = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    rendered(context)
    assert files.server_cert.read_bytes() == first, "nothing changed: kept"

    renamed = Context(make_settings(tmp_path / "data",
                                    broker={"tls_extra_names": ["printers.example.org",
                                                                "192.0.2.7"]}))
    rendered(renamed)
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    assert {"printers.example.org", "192.0.2.7"} <= certificate_names(cert)
    assert files.ca_cert.read_bytes() == ca, "the CA devices trust is kept"

    names = server_names(renamed.settings)
    in_340_days = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=340)
    assert ensure_server_certificate(files, names, now=in_340_days), "expires within 30 days"
    assert not ensure_server_certificate(files, names, now=in_340_days)
    assert files.ca_cert.read_bytes() == ca


@pytest.fixture
def own_certificate(tmp_path):
    """An operator's certificate, key and CA (made here with our generator, elsewhere by theirs)."""
    own = GeneratedFiles(tmp_path / "operator")
    ensure_server_certificate(own, ["localhost", "127.0.0.1"])
    return own


def operator_settings(tmp_path, own: GeneratedFiles, **changes):
    broker = {"tls_cert_file": str(own.server_cert), "tls_key_file": str(own.server_key),
              "tls_ca_file": str(own.ca_cert), **changes}
    return make_settings(tmp_path / "data", broker=broker)


def test_an_operators_certificate_is_used_and_never_written(tmp_path, own_certificate):
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in own_certificate.root.iterdir()}
    context = Context(operator_settings(tmp_path, own_certificate))
    config = rendered(context)
    rendered(context)

    device_listener = listener_block(config, context.settings.broker.port)
    assert f"certfile {own_certificate.server_cert}\n" in device_listener
    assert f"keyfile {own_certificate.server_key}\n" in device_listener
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in own_certificate.root.iterdir()} == before
    assert not context.settings.generated_tls_dir.exists(), "no CA of ours is made"
    assert device_ca_pem(context.settings) == own_certificate.ca_cert.read_text()


def start_up_error(tmp_path, own: GeneratedFiles, **changes) -> str:
    """Run `printfleet up` with the operator's TLS files; return its error output."""
    settings = operator_settings(tmp_path, own, **changes)
    broker = settings.broker
    env = {**os.environ, "PRINTFLEET_DATA_DIR": str(tmp_path / "data"),
           "PRINTFLEET_BROKER__PORT": str(broker.port),
           "PRINTFLEET_BROKER__LOCAL_PORT": str(broker.local_port),
           "PRINTFLEET_BROKER__TLS_CERT_FILE": broker.tls_cert_file,
           "PRINTFLEET_BROKER__TLS_KEY_FILE": broker.tls_key_file,
           "PRINTFLEET_BROKER__TLS_CA_FILE": broker.tls_ca_file,
           "PRINTFLEET_WEB__PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "printfleet", "up"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    return result.stderr


def test_a_missing_certificate_file_stops_start_up_with_its_name(tmp_path, own_certificate):
    missing = tmp_path / "nowhere" / "broker.pem"
    error = start_up_error(tmp_path, own_certificate, tls_cert_file=str(missing))
    assert f"broker.tls_cert_file: cannot read {missing}: No such file or directory" in error


def test_a_key_that_does_not_match_the_certificate_stops_start_up(tmp_path, own_certificate):
    other = GeneratedFiles(tmp_path / "other")
    ensure_server_certificate(other, ["localhost"])
    error = start_up_error(tmp_path, own_certificate, tls_key_file=str(other.server_key))
    assert (f"broker.tls_key_file: {other.server_key} is not the key of the certificate in "
            f"{own_certificate.server_cert}") in error


def test_a_file_that_is_not_a_certificate_stops_start_up(tmp_path, own_certificate):
    error = start_up_error(tmp_path, own_certificate, tls_cert_file=str(own_certificate.server_key))
    assert "broker.tls_cert_file:" in error and "holds no PEM certificate" in error


def test_check_config_reports_the_same_errors(tmp_path, own_certificate):
    other = GeneratedFiles(tmp_path / "other")
    ensure_server_certificate(other, ["localhost"])
    config = tmp_path / "printfleet.toml"
    config.write_text(f'[broker]\ntls_cert_file = "{own_certificate.server_cert}"\n'
                      f'tls_key_file = "{other.server_key}"\n')
    result = subprocess.run([sys.executable, "-m", "printfleet", "up", "--config", str(config),
                             "--check-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "broker.tls_key_file:" in result.stderr and "is not the key" in result.stderr


def test_a_certificate_without_its_key_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError, match="tls_cert_file and tls_key_file go together"):
        load(None, environ={"PRINTFLEET_BROKER__TLS_CERT_FILE": str(tmp_path / "c.pem")})
