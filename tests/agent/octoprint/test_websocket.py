"""The standard-library WebSocket client's framing, against a hand-written peer on a socket pair."""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from printfleet_agent.printers.octoprint.websocket import (
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    WebSocket,
    WebSocketError,
)

pytestmark = pytest.mark.timeout(10)


def frame(opcode: int, payload: bytes, final: bool = True) -> bytes:
    """A server frame: unmasked, as RFC 6455 requires of servers."""
    head = bytes([(0x80 if final else 0) | opcode])
    if len(payload) < 126:
        return head + bytes([len(payload)]) + payload
    if len(payload) < 1 << 16:
        return head + bytes([126]) + struct.pack("!H", len(payload)) + payload
    return head + bytes([127]) + struct.pack("!Q", len(payload)) + payload


def read_client_frame(peer: socket.socket) -> tuple[int, bytes]:
    """Read one client frame, checking it is masked, and unmask it."""
    first, second = _exactly(peer, 2)
    assert second & 0x80, "client frames must be masked"
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _exactly(peer, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _exactly(peer, 8))
    mask = _exactly(peer, 4)
    payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(_exactly(peer, length)))
    return first & 0x0F, payload


def _exactly(peer: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = peer.recv(count - len(data))
        assert chunk, "peer closed"
        data += chunk
    return data


@pytest.fixture
def pair() -> Iterator[tuple[WebSocket, socket.socket]]:
    ours, peer = socket.socketpair()
    peer.settimeout(5)
    client = WebSocket(ours, b"")
    client.settimeout(5)
    yield client, peer
    client.close()
    peer.close()


def test_fragmented_message_with_a_ping_between(pair):
    client, peer = pair
    peer.sendall(frame(OP_TEXT, b'{"event": ', final=False) + frame(OP_PING, b"hi")
                 + frame(OP_CONTINUATION, b'"x"}'))
    assert client.receive() == '{"event": "x"}'
    assert read_client_frame(peer) == (OP_PONG, b"hi")


def test_large_messages_both_ways(pair):
    client, peer = pair
    big = "é" * 40_000  # 80 000 bytes: the 64-bit length form
    peer.sendall(frame(OP_TEXT, big.encode()))
    assert client.receive() == big
    client.send_text("a" * 300)  # the 16-bit length form
    assert read_client_frame(peer) == (OP_TEXT, b"a" * 300)


def test_a_timeout_mid_frame_loses_nothing(pair):
    client, peer = pair
    whole = frame(OP_TEXT, b"patience")
    peer.sendall(whole[:5])
    client.settimeout(0.05)
    with pytest.raises(TimeoutError):
        client.receive()
    peer.sendall(whole[5:])
    client.settimeout(5)
    assert client.receive() == "patience"


def test_close_from_the_server_is_answered_and_ends_receiving(pair):
    client, peer = pair
    peer.sendall(frame(OP_CLOSE, struct.pack("!H", 1001) + b"going away"))
    with pytest.raises(WebSocketError, match="1001 going away"):
        client.receive()
    assert read_client_frame(peer) == (OP_CLOSE, struct.pack("!H", 1001))


def test_a_vanished_server_ends_receiving(pair):
    client, peer = pair
    peer.close()
    with pytest.raises(WebSocketError, match="connection lost"):
        client.receive()


def serve_once(answer: Callable[[str], bytes]) -> tuple[int, threading.Thread]:
    """A one-shot server answering the handshake request with `answer(request)`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def run() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                conn.sendall(answer(request.decode()))
                conn.recv(1)  # hold the connection until the client closes it

    thread = threading.Thread(target=run)
    thread.start()
    return listener.getsockname()[1], thread


def accept_key(request: str) -> str:
    key = next(line.split(":", 1)[1].strip() for line in request.split("\r\n")
               if line.lower().startswith("sec-websocket-key:"))
    digest = hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize(("answer", "error"), [
    (lambda request: (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key(request)}\r\n\r\n"
                      ).encode() + frame(OP_TEXT, b"welcome"), None),
    (lambda request: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "403"),
    (lambda request: b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: bogus\r\n\r\n",
     "Sec-WebSocket-Accept"),
])
def test_handshake(answer, error):
    port, server = serve_once(answer)
    try:
        if error is None:
            client = WebSocket.connect(f"ws://127.0.0.1:{port}/sockjs/websocket", 5)
            assert client.receive() == "welcome"  # bytes that came with the handshake
            client.close()
        else:
            with pytest.raises(WebSocketError, match=error):
                WebSocket.connect(f"ws://127.0.0.1:{port}/sockjs/websocket", 5)
    finally:
        server.join(5)
