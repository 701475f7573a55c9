"""The user's notification settings: events, channels, phone for SMS, webhooks, marketing opt-in.

Nothing is sent from here: the scheduler's scan and dispatcher do that. A
webhook that is not the user's answers 404, like one that does not exist.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from printfleet.notify.scan import queue_test_delivery
from printfleet.notify.webhooks import WebhookUrlError, check_url, new_secret
from storage.notifications import NotificationSettings, Webhook

from .context import store, web_state

logger = logging.getLogger(__name__)

bp = Blueprint("notifications", __name__, url_prefix="/account/notifications")

MAX_WEBHOOKS = 10
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_phone(raw: str) -> str | None:
    """Return an international number as +<digits>, or None if it is not one."""
    phone = _PHONE_SEPARATORS.sub("", raw)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    return phone if _PHONE.match(phone) else None


@bp.get("")
@login_required
def page() -> ResponseReturnValue:
    """Show the settings form and the user's webhooks."""
    return _render(store().notification_settings(current_user.id))


@bp.post("")
@login_required
def save() -> ResponseReturnValue:
    """Save the settings; the phone number is kept only while SMS is on."""
    form = request.form
    by_sms = form.get("by_sms") == "on"
    phone = normalise_phone(form.get("phone", "")) if by_sms else None
    before = store().notification_settings(current_user.id)
    marketing = form.get("marketing") == "on"
    wanted = NotificationSettings(
        on_finished=form.get("on_finished") == "on", on_failed=form.get("on_failed") == "on",
        on_offline=form.get("on_offline") == "on", by_email=form.get("by_email") == "on",
        by_sms=by_sms, phone=phone,
        # The time of the opt-in is kept as its record; unticking withdraws it.
        marketing_opt_in_at=(before.marketing_opt_in_at or time.time()) if marketing else None)
    if by_sms and phone is None:
        return _render(wanted, status=400, errors=[
            "Enter the phone number for text messages in international form, e.g. +45 12 34 56 78."],
            phone_input=form.get("phone", ""))
    store().save_notification_settings(current_user.id, wanted, time.time())
    logger.info("user %d saved notification settings (sms %s, marketing %s)", current_user.id,
                "on" if by_sms else "off", "on" if marketing else "off")
    return _render(wanted, saved=True)


@bp.post("/webhooks")
@login_required
def add_webhook() -> ResponseReturnValue:
    """Add a webhook and show its signing secret, this once."""
    settings = store().notification_settings(current_user.id)
    if len(store().webhooks_for_user(current_user.id)) >= MAX_WEBHOOKS:
        return _render(settings, status=400, errors=[f"At most {MAX_WEBHOOKS} webhooks."])
    try:
        url = check_url(request.form.get("url", ""),
                        web_state().settings.notifications.webhook_allow_private)
    except WebhookUrlError as error:
        return _render(settings, status=400, errors=[f"This webhook address cannot be used: {error}."],
                       url_input=request.form.get("url", ""))
    hook = store().add_webhook(current_user.id, url, new_secret(), time.time())
    logger.info("user %d added webhook %d", current_user.id, hook.id)
    return _render(settings, status=201, new_webhook=hook)


@bp.get("/webhooks/<int:webhook_id>")
@login_required
def webhook(webhook_id: int) -> ResponseReturnValue:
    """Show one of the user's webhooks with its delivery log."""
    hook = _own_webhook(webhook_id)
    attempts = store().webhook_attempts(current_user.id, hook.id)
    return render_template("webhook.html", hook=hook, attempts=attempts,
                           queued=request.args.get("queued") == "1")


@bp.post("/webhooks/<int:webhook_id>/delete")
@login_required
def delete_webhook(webhook_id: int) -> ResponseReturnValue:
    """Remove one of the user's webhooks, with its delivery log."""
    if not store().delete_webhook(current_user.id, webhook_id):
        abort(404)
    logger.info("user %d removed webhook %d", current_user.id, webhook_id)
    return redirect(url_for("notifications.page"))


@bp.post("/webhooks/<int:webhook_id>/test")
@login_required
def test_webhook(webhook_id: int) -> ResponseReturnValue:
    """Queue a test delivery; the scheduler sends it and its attempts show in the log."""
    queue_test_delivery(store(), _own_webhook(webhook_id), time.time())
    return redirect(url_for("notifications.webhook", webhook_id=webhook_id, queued=1))


def _own_webhook(webhook_id: int) -> Webhook:
    hook = store().webhook(current_user.id, webhook_id)
    if hook is None:
        abort(404)
    return hook


def _render(settings: NotificationSettings, status: int = 200, **context: object
            ) -> ResponseReturnValue:
    values = {"settings": settings, "webhooks": store().webhooks_for_user(current_user.id),
              "errors": [], "saved": False, "new_webhook": None, "url_input": "",
              "phone_input": settings.phone or "", "max_webhooks": MAX_WEBHOOKS}
    values.update(context)
    headers = {"Cache-Control": "no-store"} if values["new_webhook"] else {}
    return render_template("notifications.html", **values), status, headers
