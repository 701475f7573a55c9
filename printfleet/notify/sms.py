"""Text messages behind one interface; a real provider plugs in beside the log-only one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from printfleet.settings import NotificationsSettings

logger = logging.getLogger(__name__)


class SmsError(RuntimeError):
    """A text message the provider did not accept; the message says why."""


class SmsProvider(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send a text to an E.164 number; return the provider's reference or raise SmsError."""
        ...


class LogSmsProvider:
    """Writes each text to the log instead of sending it (for development)."""

    def send(self, phone: str, text: str) -> str:
        logger.info("SMS to %s: %s", mask_phone(phone), text)
        return "logged (log-only SMS provider)"


def mask_phone(phone: str) -> str:
    """Show a number's country code start and last three digits only, for logs."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


# Names [notifications] sms_provider may take; a real provider adds itself here.
SMS_PROVIDERS: dict[str, Callable[[NotificationsSettings], SmsProvider]] = {
    "log": lambda settings: LogSmsProvider(),
}


def sms_provider(settings: NotificationsSettings) -> SmsProvider:
    """Build the provider the settings name."""
    return SMS_PROVIDERS[settings.sms_provider](settings)
