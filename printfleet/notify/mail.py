"""Sending mail through the configured SMTP server with the standard library's smtplib."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from printfleet.settings import MailSettings

logger = logging.getLogger(__name__)


class MailError(RuntimeError):
    """Mail that could not be handed to the SMTP server; the message says why."""


class Mailer:
    """Hands messages to the SMTP server of [mail]; one connection per message."""

    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        return bool(self._settings.host)

    def send(self, to: str, subject: str, body: str) -> str:
        """Send a plain-text message; return the server's reply, or raise MailError."""
        if not self.configured:
            raise MailError("mail is not configured ([mail] host is empty)")
        message = EmailMessage()
        message["From"] = self._settings.from_address
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            with self._connect() as smtp:
                self._log_in(smtp)
                refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"{type(error).__name__}: {error}") from error
        if refused:
            raise MailError(f"refused by the server: {refused}")
        return f"accepted by {self._settings.host}:{self._settings.port}"

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        if s.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _log_in(self, smtp: smtplib.SMTP) -> None:
        if self._settings.username:
            smtp.login(self._settings.username, read_password(self._settings))


def read_password(settings: MailSettings) -> str:
    """Read the SMTP password from its file or environment variable (at send time)."""
    if settings.password_file:
        try:
            return Path(settings.password_file).read_text("utf-8").strip()
        except OSError as error:
            raise MailError(f"cannot read the SMTP password file: {error}") from error
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise MailError(f"the environment variable {settings.password_env} is not set")
        return value
    raise MailError("an SMTP username is set but no password_file or password_env")
