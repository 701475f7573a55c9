"""The dispatcher: sends the outbox's due deliveries and retries failures with back-off.

Run by the scheduler process only. Every attempt, sent or not, is logged
with what the other side said; a delivery that keeps failing is retried
after first_retry_s, then twice as long each time, and given up after
max_attempts. What retrying cannot fix (a channel turned off, an address
refused, mail not configured) is given up at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from printfleet.settings import Settings
from storage import SyncStore
from storage.notification_outbox import DueDelivery

from .mail import Mailer, MailError
from .messages import email_message, sms_text, webhook_body
from .sms import SmsError, SmsProvider, sms_provider
from .webhooks import post

logger = logging.getLogger(__name__)

# The longest wait between two attempts, however many came before.
MAX_RETRY_DELAY_S = 6 * 3600.0
BATCH = 100


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str
    status_code: int | None = None
    final: bool = False  # no point in trying again


class Dispatcher:
    """Sends what is due over email, SMS and webhooks."""

    def __init__(self, store: SyncStore, settings: Settings, mailer: Mailer | None = None,
                 sms: SmsProvider | None = None) -> None:
        self._store = store
        self._settings = settings
        self._mailer = mailer or Mailer(settings.mail)
        self._sms = sms or sms_provider(settings.notifications)

    def dispatch_due(self, now: float | None = None) -> int:
        """Attempt every delivery that is due; return how many attempts were made."""
        now = time.time() if now is None else now
        due = self._store.due_deliveries(now, BATCH)
        for delivery in due:
            outcome = self._attempt(delivery, now)
            self._store.record_delivery_attempt(
                delivery, outcome.ok, outcome.status_code, outcome.detail, now,
                None if outcome.ok else self.next_attempt_at(delivery, outcome, now))
            log = logger.info if outcome.ok else logger.warning
            log("%s delivery %d (attempt %d): %s", delivery.channel, delivery.id,
                delivery.attempts + 1, outcome.detail)
        return len(due)

    def next_attempt_at(self, delivery: DueDelivery, outcome: Outcome, now: float
                        ) -> float | None:
        """When to try a failed delivery again; None to give it up."""
        attempts = delivery.attempts + 1
        if outcome.final or attempts >= self._settings.notifications.max_attempts:
            return None
        delay = self._settings.notifications.first_retry_s * 2 ** (attempts - 1)
        return now + min(delay, MAX_RETRY_DELAY_S)

    def _attempt(self, delivery: DueDelivery, now: float) -> Outcome:
        try:
            if delivery.channel == "email":
                return self._email(delivery)
            if delivery.channel == "sms":
                return self._text(delivery)
            if delivery.channel == "webhook":
                return self._webhook(delivery)
        except Exception as error:  # a bug in one channel must not stop the others
            logger.exception("delivery %d failed unexpectedly", delivery.id)
            return Outcome(False, f"internal error: {type(error).__name__}")
        return Outcome(False, f"unknown channel {delivery.channel!r}", final=True)

    def _email(self, delivery: DueDelivery) -> Outcome:
        if not delivery.settings.by_email:
            return Outcome(False, "email notifications were turned off", final=True)
        if not self._mailer.configured:
            return Outcome(False, "mail is not configured ([mail] host is empty)", final=True)
        message = email_message(delivery, self._settings.link_base_url)
        try:
            return Outcome(True, self._mailer.send(delivery.email, message.subject, message.body))
        except MailError as error:
            return Outcome(False, str(error))

    def _text(self, delivery: DueDelivery) -> Outcome:
        phone = delivery.settings.phone
        if not delivery.settings.by_sms or not phone:
            return Outcome(False, "SMS notifications were turned off", final=True)
        try:
            return Outcome(True, self._sms.send(phone, sms_text(delivery)))
        except SmsError as error:
            return Outcome(False, str(error))

    def _webhook(self, delivery: DueDelivery) -> Outcome:
        if delivery.webhook_url is None or delivery.webhook_secret is None:
            return Outcome(False, "the webhook was removed", final=True)
        config = self._settings.notifications
        result = post(delivery.webhook_url, delivery.webhook_secret, webhook_body(delivery),
                      delivery.event_kind, delivery.id, config.webhook_timeout_s,
                      config.webhook_allow_private)
        return Outcome(result.ok, result.detail, result.status_code,
                       final=result.detail.startswith("refused:"))
