"""Controls on a printer's page: commands, their acknowledgements, the downtime switch.

Each command goes through printfleet.device_commands.issue_command with the
signed-in user's id, after web/access.py granted Need.COMMAND. Forms post
here and come back to the page; the page's script posts the same forms with
an Accept: application/json header and polls the command's state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from printfleet.context import Context
from printfleet.device_commands import (
    DEFAULT_TTL_S,
    CommandError,
    Publisher,
    fleet_publisher,
    issue_command,
)
from printfleet.device_settings import CONFIGURE_TTL_S, configure_args
from storage import PrinterRow

from .access import Need, printer_or_404
from .actions import record_action
from .context import store, web_state
from .device_files import download_url
from .file_space import printer_file_owner
from .presenters import format_age
from .printer_presenters import command_to_dict, settings_to_dict
from .undo import downtime_logging_payload

logger = logging.getLogger(__name__)

bp = Blueprint("printer_commands", __name__)

SIMPLE_KINDS = ("pause", "resume", "cancel")
MAX_GCODE_LINES = 100
MAX_GCODE_LINE_CHARS = 256


class Refused(ValueError):
    """A command not sent; the message says why, the status is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def command_publisher() -> Publisher:
    """The app's publisher, connected as the fleet's service account on first use."""
    state = web_state()
    with state.publisher_lock:
        if state.publisher is None:
            state.publisher = fleet_publisher(Context(state.settings))
        return state.publisher


def send(printer: PrinterRow, kind: str, args: dict[str, Any], ttl_s: float | None = None
         ) -> str:
    """Issue a command for the signed-in user; return its transaction id or raise Refused."""
    if printer.presence != "online":
        raise Refused(f"{printer.name} is offline (last seen "
                      f"{format_age(_age(printer))}): the command was not sent. "
                      "Try again once it is back online.", status=409)
    settings = web_state().settings
    try:
        issued = issue_command(store(), command_publisher(), settings.broker.topic_prefix,
                               printer.device_id, kind, args, user_id=current_user.id,
                               ttl_s=DEFAULT_TTL_S if ttl_s is None else ttl_s)
    except CommandError as error:
        logger.warning("user %d: %s to %s not sent: %s", current_user.id, kind,
                       printer.device_id, error)
        raise Refused(f"The command was not sent: {error}", status=503) from None
    return issued.transaction_id


def _age(printer: PrinterRow) -> float | None:
    return None if printer.last_seen_at is None else max(0.0, time.time() - printer.last_seen_at)


def _command_args(printer: PrinterRow, kind: str, form: Any) -> dict[str, Any]:
    if kind in SIMPLE_KINDS:
        return {}
    if kind == "send_gcode":
        sent = form.get("lines")  # an API client's list; a form's textarea otherwise
        text = "\n".join(map(str, sent)) if isinstance(sent, list) else str(form.get("gcode", ""))
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            raise Refused("Type at least one line of G-code to send.")
        if len(lines) > MAX_GCODE_LINES or any(len(ln) > MAX_GCODE_LINE_CHARS for ln in lines):
            raise Refused(f"Send at most {MAX_GCODE_LINES} lines of at most "
                          f"{MAX_GCODE_LINE_CHARS} characters at once.")
        return {"lines": lines}
    if kind == "start_print":
        return _print_args(printer, form.get("file_id"))
    raise Refused(f"Unknown command {kind!r}.")


def _print_args(printer: PrinterRow, file_id: Any) -> dict[str, Any]:
    """A file the printer's owner scope holds: its organisation's files, else the user's own."""
    owner = printer_file_owner(printer)
    try:
        entry = store().file_entry(owner, int(file_id))
    except (TypeError, ValueError):
        entry = None
    if entry is None or entry.is_folder or entry.sha256 is None or entry.size_bytes is None:
        whose = "the organisation's" if printer.org_id is not None else "your"
        raise Refused(f"Choose one of {whose} files to print.", status=404)
    return {"file_name": entry.name, "sha256": entry.sha256, "size_bytes": entry.size_bytes,
            "url": download_url(owner, entry.id, entry.sha256, time.time(), printer.device_id)}


def _fields() -> Mapping[str, Any]:
    """The posted form, or the JSON object an API client sent (anything else: nothing)."""
    if not request.is_json:
        return request.form
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _answer(device_id: str, transaction: str | None, error: Refused | None,
            notice: str) -> ResponseReturnValue:
    if _wants_json():
        if error is not None:
            return jsonify(error="not_sent", message=str(error)), error.status
        return jsonify(transaction_id=transaction, message=notice,
                       status_url=url_for("printer_commands.command_status",
                                          device_id=device_id, transaction_id=transaction)), 202
    flash(str(error) if error is not None else notice, "error" if error else "notice")
    return redirect(url_for("printer_page.page", device_id=device_id) + "#controls")


@bp.post("/printers/<device_id>/commands")
@bp.post("/api/v1/printers/<device_id>/commands")
@login_required
def command(device_id: str) -> ResponseReturnValue:
    """Send pause, resume, cancel, G-code or a print of one of the user's files."""
    printer = printer_or_404(device_id, Need.COMMAND)
    form = _fields()
    kind = str(form.get("kind", ""))
    try:
        transaction = send(printer, kind, _command_args(printer, kind, form))
    except Refused as error:
        return _answer(device_id, None, error, "")
    record_action("printer.command", "printer", device_id,
                  f"Sent {kind.replace('_', ' ')} to “{printer.name}”",
                  org_id=printer.org_id)
    return _answer(device_id, transaction, None, f"{kind.replace('_', ' ')} sent")


@bp.get("/api/v1/printers/<device_id>/commands/<transaction_id>")
@login_required
def command_status(device_id: str, transaction_id: str) -> Response:
    """A command's acknowledgement so far: pending, accepted, finished, failed, rejected."""
    printer_or_404(device_id, Need.VIEW)
    state = store().command_state(device_id, transaction_id)
    if state is None:
        return Response('{"error": "not_found"}', status=404, mimetype="application/json")
    return jsonify(command_to_dict(state, time.time()))


@bp.post("/printers/<device_id>/settings/downtime-logging")
@bp.post("/api/v1/printers/<device_id>/settings/downtime-logging")
@login_required
def downtime_logging(device_id: str) -> ResponseReturnValue:
    """Turn downtime logging on or off: stored here, then delivered to the printer."""
    printer = printer_or_404(device_id, Need.COMMAND)
    value = str(_fields().get("enabled", "")).lower()
    if value not in ("1", "0", "true", "false", "on", "off"):
        error = Refused("Say whether downtime logging should be on or off.")
        return _answer(device_id, None, error, "")
    enabled = value in ("1", "true", "on")
    sync = store()
    before = sync.device_settings(device_id)
    sync.set_downtime_logging(device_id, enabled, current_user.id, time.time())
    record_action("setting.update", "printer", device_id,
                  f"Turned downtime logging {'on' if enabled else 'off'} for “{printer.name}”",
                  undo=downtime_logging_payload(device_id, before.downtime_logging
                                                if before else False),
                  org_id=printer.org_id)
    transaction, state = None, "on" if enabled else "off"
    if printer.presence == "online":
        try:
            transaction = send(printer, "configure", configure_args(enabled),
                               ttl_s=CONFIGURE_TTL_S)
            sync.mark_settings_sent(device_id, transaction, time.time())
            notice = f"Downtime logging {state}; sent to the printer."
        except Refused as error:
            notice = f"Downtime logging {state}; saved, not sent yet ({error})."
    else:
        notice = (f"Downtime logging {state}; saved. {printer.name} is offline: it gets the "
                  "setting when it is back online.")
    if _wants_json():
        return jsonify(message=notice, transaction_id=transaction,
                       settings=settings_to_dict(sync.device_settings(device_id))), 200
    flash(notice, "notice")
    return redirect(url_for("printer_page.page", device_id=device_id) + "#settings")
