"""A real SMTP server for tests (aiosmtpd on a free port) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from printfleet.settings import Settings, load

from .support import free_port, wait_until


class MailSink:
    """Keeps every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        content = envelope.content.replace(b"\r\n", b"\n")
        message = email.message_from_bytes(content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        """Wait until `count` messages to `address` arrived; return them."""
        wait_until(lambda: len(self.to(address)) >= count, timeout,
                   f"{count} mail(s) to {address}")
        return self.to(address)


@contextmanager
def smtp_server() -> Iterator[MailSink]:
    """Run an SMTP server on 127.0.0.1 for the duration of a test."""
    sink = MailSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


LINK_BASE_URL = "https://print.example.com"


def web_settings_sending_to(sink: MailSink, data_dir: Path, **more: str) -> Settings:
    """Web settings whose mail goes to this test SMTP server, links under LINK_BASE_URL."""
    return load(None, environ={
        "PRINTFLEET_DATA_DIR": str(data_dir), "PRINTFLEET_WEB__PORT": "0",
        "PRINTFLEET_MAIL__HOST": "127.0.0.1", "PRINTFLEET_MAIL__PORT": str(sink.port),
        "PRINTFLEET_MAIL__SECURITY": "none", "PRINTFLEET_MAIL__FROM_ADDRESS": "fleet@example.com",
        "PRINTFLEET_MAIL__LINK_BASE_URL": LINK_BASE_URL, **more})
