"""A small WebSocket client (RFC 6455) on the standard library, enough for OctoPrint's push socket.

Text messages only, no extensions (we offer none, so the server uses none),
client frames masked as the RFC requires, pings answered, fragmented
messages joined. The agent may not depend on a third-party WebSocket library.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import ssl
import struct
import time
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# RFC 6455 section 1.3: the server proves it speaks WebSocket with this GUID.
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADER_BYTES = 16 * 1024
# OctoPrint's largest messages (history with temperatures) are well below this.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class WebSocketError(ConnectionError):
    """The WebSocket handshake failed or the connection broke or closed."""


class WebSocket:
    """One client connection; `receive` from one thread, `send` and `close` from any."""

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self._sock = sock
        self._buffer = bytearray(leftover)
        self._fragments: list[bytes] = []
        # When the last frame of any kind (pongs too) arrived, for liveness checks.
        self.last_frame_at = time.monotonic()

    @classmethod
    def connect(cls, url: str, timeout_s: float, headers: dict[str, str] | None = None) -> WebSocket:
        """Open a connection to a ws:// or wss:// URL and complete the handshake."""
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise WebSocketError(f"not a WebSocket URL: {url}")
        port = parts.port or (443 if secure else 80)
        sock = socket.create_connection((parts.hostname, port), timeout=timeout_s)
        try:
            if secure:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
            key = base64.b64encode(os.urandom(16)).decode()
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket",
                     "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
            lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            leftover = _read_handshake(sock, key)
        except BaseException:
            sock.close()
            raise
        return cls(sock, leftover)

    def settimeout(self, timeout_s: float | None) -> None:
        self._sock.settimeout(timeout_s)

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode())

    def ping(self) -> None:
        self._send_frame(OP_PING, b"")

    def receive(self) -> str:
        """Return the next text message; raise WebSocketError once the connection ends.

        A socket timeout propagates as TimeoutError and loses nothing: a frame
        is consumed only when complete, and fragments wait for their message.
        """
        while True:
            final, opcode, payload = self._read_frame()
            if opcode == OP_PING:
                self._send_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self._answer_close(payload)
                raise WebSocketError(f"server closed the connection ({_close_reason(payload)})")
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                self._fragments.append(payload)
                if sum(len(part) for part in self._fragments) > MAX_MESSAGE_BYTES:
                    raise WebSocketError(f"message larger than {MAX_MESSAGE_BYTES} bytes")
                if final:
                    message, self._fragments = b"".join(self._fragments), []
                    return message.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Close at once; a reader blocked in `receive` wakes with WebSocketError."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _answer_close(self, payload: bytes) -> None:
        try:
            self._send_frame(OP_CLOSE, payload[:2])
        except OSError:
            pass

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytearray([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack("!H", length)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", length)
        mask = os.urandom(4)
        try:
            self._sock.sendall(bytes(header) + mask + _apply_mask(payload, mask))
        except OSError as error:
            raise WebSocketError(f"sending failed: {error}") from error

    def _read_frame(self) -> tuple[bool, int, bytes]:
        self._fill(2)
        first, second = self._buffer[0], self._buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            self._fill(4)
            (length,), offset = struct.unpack_from("!H", self._buffer, 2), 4
        elif length == 127:
            self._fill(10)
            (length,), offset = struct.unpack_from("!Q", self._buffer, 2), 10
        if length > MAX_MESSAGE_BYTES:
            raise WebSocketError(f"frame larger than {MAX_MESSAGE_BYTES} bytes")
        mask_size = 4 if second & 0x80 else 0
        total = offset + mask_size + length
        self._fill(total)
        frame = bytes(self._buffer[:total])
        del self._buffer[:total]
        self.last_frame_at = time.monotonic()
        payload = frame[offset + mask_size:]
        if mask_size:
            payload = _apply_mask(payload, frame[offset:offset + mask_size])
        return bool(first & 0x80), first & 0x0F, payload

    def _fill(self, count: int) -> None:
        while len(self._buffer) < count:
            try:
                chunk = self._sock.recv(max(65536, count - len(self._buffer)))
            except TimeoutError:
                raise  # an OSError too, but the connection is still good
            except OSError as error:
                raise WebSocketError(f"connection lost: {error}") from error
            if not chunk:
                raise WebSocketError("connection lost: the server went away")
            self._buffer += chunk


def _read_handshake(sock: socket.socket, key: str) -> bytes:
    """Check the server's 101 answer; return any bytes that followed it."""
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise WebSocketError("the server closed the connection during the handshake")
        response += chunk
        if len(response) > _MAX_HEADER_BYTES:
            raise WebSocketError("handshake response too large")
    head, _, leftover = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    if status_line.split(" ")[1:2] != ["101"]:
        raise WebSocketError(f"handshake refused: {status_line}")
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in header_lines)}
    expected = base64.b64encode(hashlib.sha1(key.encode() + _ACCEPT_GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != expected:
        raise WebSocketError("handshake answer has a wrong Sec-WebSocket-Accept")
    return leftover


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    # XOR as one big integer: far faster in pure Python than a byte loop.
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[:len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


def _close_reason(payload: bytes) -> str:
    if len(payload) < 2:
        return "no status"
    (code,) = struct.unpack("!H", payload[:2])
    text = payload[2:].decode("utf-8", errors="replace")
    return f"{code} {text}".strip()
