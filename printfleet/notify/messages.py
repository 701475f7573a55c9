"""What a notification says: the mail, the text message and the webhook's JSON body."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from storage.notification_outbox import DueDelivery

_HEADLINES = {
    "finished": "Print finished",
    "failed": "Print failed",
    "offline": "Printer offline during a print",
    "test": "Test notification",
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str


def headline(delivery: DueDelivery) -> str:
    """Return one line saying what happened and where."""
    what = _HEADLINES.get(delivery.event_kind, delivery.event_kind)
    if delivery.event_kind == "test":
        return f"{what} from Printfleet"
    return f"{what}: {delivery.file_name or 'a print'} on {delivery.device_name}"


def email_message(delivery: DueDelivery, link_base_url: str) -> Message:
    """Return the subject and plain-text body of a notification mail."""
    lines = [headline(delivery) + ".", ""]
    if delivery.reason:
        lines.append(f"Reason: {delivery.reason}")
    lines.append(f"When: {_utc(delivery.occurred_at)}")
    if delivery.device_id:
        lines += ["", f"See the printer: {link_base_url}/printers"]
    lines += ["", "You get this mail because of your notification settings:",
              f"{link_base_url}/account/notifications"]
    return Message(f"[Printfleet] {headline(delivery)}", "\n".join(lines) + "\n")


def sms_text(delivery: DueDelivery) -> str:
    """Return a text message short enough for one SMS where names allow."""
    text = f"Printfleet: {headline(delivery)}"
    if delivery.reason:
        text += f" ({delivery.reason})"
    return text[:300]


def webhook_body(delivery: DueDelivery) -> bytes:
    """Return the JSON a webhook receives; `delivery_id` lets a receiver drop repeats."""
    test = delivery.event_kind == "test"
    return json.dumps({
        "event": delivery.event_kind,
        "delivery_id": delivery.id,
        "occurred_at": delivery.occurred_at,
        "printer": None if test or not delivery.device_id else {
            "device_id": delivery.device_id, "name": delivery.device_name},
        "job": None if test or delivery.job_id is None else {
            "job_id": delivery.job_id, "file_name": delivery.file_name,
            "reason": delivery.reason},
    }, separators=(",", ":"), sort_keys=True).encode()


def _utc(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
