"""The device listener speaks TLS only, with a certificate devices can verify (real Mosquitto)."""

from __future__ import annotations

import socket
import ssl
import struct
import warnings

import pytest

from printfleet.tls_certificates import GeneratedFiles, ensure_server_certificate

from ..support import RunningBroker, connect_client, wait_until


def mqtt_connect_packet(client_id: str, username: str, password: str) -> bytes:
    """A plain MQTT 3.1.1 CONNECT with username and password, as any plaintext client sends."""
    def field(text: str) -> bytes:
        return struct.pack("!H", len(text)) + text.encode()

    body = (field("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30)
            + field(client_id) + field(username) + field(password))
    return bytes([0x10, len(body)]) + body


@pytest.fixture
def credentials(context, store):
    return context.provisioner(store).provision("printer-tls", "TLS", None)


def test_a_plaintext_mqtt_connect_gets_no_connack_and_is_dropped(broker, credentials):
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as plain:
        plain.sendall(mqtt_connect_packet("printer-tls", credentials.username,
                                          credentials.password))
        try:
            answer = plain.recv(1024)
        except ConnectionResetError:
            answer = b""
    assert answer[:1] != b"\x20", "the broker answered a plaintext CONNECT with a CONNACK"
    # Mosquitto reads the CONNECT as a broken TLS record: it may send a TLS
    # alert, then it closes the connection. Either way, no MQTT.
    assert answer == b"" or answer[:1] == b"\x15", answer

    # The same credentials over TLS are accepted, so the refusal above is the plaintext.
    device = broker.connect_device(credentials.username, credentials.password, "printer-tls")
    assert not device.connect_result[0].is_failure
    device.close()


def test_a_plaintext_paho_client_never_connects(broker, credentials):
    client = connect_client(broker.port, credentials.username, credentials.password, wait=False)
    try:
        with pytest.raises(AssertionError, match="timed out"):
            wait_until(lambda: client.connect_result, 3, "a CONNACK")
        assert not client.client.is_connected()
    finally:
        client.close()


def tls_handshake(port: int, context: ssl.SSLContext, server_name: str = "127.0.0.1") -> str:
    """Open TLS to the device listener; return the negotiated version."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return str(tls.version())


def test_a_client_that_does_not_trust_the_ca_is_refused(broker: RunningBroker, tmp_path):
    # Trusting the broker's CA works, with TLS 1.2 or newer...
    assert tls_handshake(broker.port, ssl.create_default_context(cafile=broker.ca_file)) in (
        "TLSv1.2", "TLSv1.3")
    # ...the system's CAs do not know a private CA...
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        tls_handshake(broker.port, ssl.create_default_context())
    # ...nor does another private CA...
    other = GeneratedFiles(tmp_path / "other")
    ensure_server_certificate(other, ["localhost"])
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        tls_handshake(broker.port, ssl.create_default_context(cafile=other.ca_cert))
    # ...and the right CA for the wrong name fails too: the name is checked.
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        tls_handshake(broker.port, ssl.create_default_context(cafile=broker.ca_file),
                      server_name="printfleet.invalid")


def test_a_paho_client_that_does_not_trust_the_ca_never_connects(broker, credentials, tmp_path):
    other = GeneratedFiles(tmp_path / "other")
    ensure_server_certificate(other, ["localhost"])
    client = connect_client(broker.port, credentials.username, credentials.password,
                            wait=False, ca_file=other.ca_cert)
    try:
        with pytest.raises(AssertionError, match="timed out"):
            wait_until(lambda: client.connect_result, 3, "a CONNACK")
    finally:
        client.close()
    assert "as printer-tls" not in broker.log(), "the broker never saw its CONNECT"


def test_tls_older_than_1_2_is_refused(broker):
    context = ssl.create_default_context(cafile=broker.ca_file)
    with warnings.catch_warnings():  # offering TLS 1.1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("ALL:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    # The broker's refusal, not this client's: a protocol-version alert from the server.
    with pytest.raises(ssl.SSLError, match="(?i)alert protocol version"):
        tls_handshake(broker.port, context)


def test_the_local_listener_is_plaintext_on_loopback_only(broker):
    config = broker.paths.config.read_text()
    assert f"listener {broker.local_port} 127.0.0.1\n" in config
    fleet = broker.connect_fleet()
    assert not fleet.connect_result[0].is_failure
    fleet.close()
