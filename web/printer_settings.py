"""A printer's settings page: rename it, or remove it (its credentials stop working)."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from storage.devices import MAX_PRINTER_NAME_LENGTH

from .access import Need, printer_or_404
from .actions import record_action
from .context import store
from .pairing import device_provisioner
from .undo import printer_name_payload

logger = logging.getLogger(__name__)

bp = Blueprint("printer_settings", __name__, url_prefix="/printers/<device_id>")


@bp.get("/settings")
@login_required
def page(device_id: str) -> ResponseReturnValue:
    """Show the printer's name and the way to remove it."""
    return render_template("printer_settings.html", printer=printer_or_404(device_id, Need.MANAGE),
                           error=None, saved=False)


@bp.post("/rename")
@login_required
def rename(device_id: str) -> ResponseReturnValue:
    """Rename the printer."""
    printer = printer_or_404(device_id, Need.MANAGE)
    name = request.form.get("name", "").strip()
    if not name or len(name) > MAX_PRINTER_NAME_LENGTH:
        error = f"A printer's name is 1 to {MAX_PRINTER_NAME_LENGTH} characters."
        return render_template("printer_settings.html", printer=printer, error=error,
                               saved=False), 400
    store().rename_device(device_id, name)
    record_action("printer.rename", "printer", device_id,
                  f"Renamed printer “{printer.name}” to “{name}”",
                  undo=printer_name_payload(device_id, printer.name), org_id=printer.org_id)
    logger.info("user %d renamed printer %s", current_user.id, device_id)
    return render_template("printer_settings.html", printer=printer_or_404(device_id, Need.MANAGE),
                           error=None, saved=True)


@bp.post("/remove")
@login_required
def remove(device_id: str) -> ResponseReturnValue:
    """Remove the printer: its MQTT credentials are revoked and the agent is disconnected."""
    printer = printer_or_404(device_id, Need.MANAGE)
    if request.form.get("confirm_name", "").strip() != printer.name:
        error = "Type the printer's name exactly to confirm its removal."
        return render_template("printer_settings.html", printer=printer, error=error,
                               saved=False), 400
    device_provisioner().revoke(device_id)
    # Not undoable: the agent must be paired again with a new code.
    record_action("printer.remove", "printer", device_id, f"Removed printer “{printer.name}”",
                  org_id=printer.org_id)
    logger.info("user %d removed printer %s", current_user.id, device_id)
    return redirect(url_for("printers.page"))
