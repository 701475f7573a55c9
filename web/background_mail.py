"""Mail sent from the web app on a background thread, so no answer waits for (or times) SMTP."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from flask import current_app

from printfleet.notify.mail import Mailer, MailError

from .context import web_state

logger = logging.getLogger(__name__)

_SENDER_KEY = "printfleet.background_mail"
_sender_lock = threading.Lock()


def mail_configured() -> bool:
    """Whether [mail] names an SMTP server to send through."""
    return Mailer(web_state().settings.mail).configured


def send_later(to: str, subject: str, body: str, what: str) -> Future[None]:
    """Queue a plain-text mail; `what` names it in the log (never the address or the body)."""
    mailer = Mailer(web_state().settings.mail)
    return _sender().submit(_deliver, mailer, to, subject, body, what)


def _deliver(mailer: Mailer, to: str, subject: str, body: str, what: str) -> None:
    try:
        mailer.send(to, subject, body)
        logger.info("%s mailed", what)
    except MailError as error:
        logger.warning("%s not mailed: %s", what, error)


def _sender() -> ThreadPoolExecutor:
    with _sender_lock:
        sender = current_app.extensions.get(_SENDER_KEY)
        if sender is None:
            sender = ThreadPoolExecutor(max_workers=2, thread_name_prefix="web-mail")
            current_app.extensions[_SENDER_KEY] = sender
        return sender
