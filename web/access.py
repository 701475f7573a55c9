"""Who may see and do what: the one place a view asks before touching a printer.

Anything the user may not see answers 404, never 403, so a request cannot
tell another user's printer from one that does not exist.
"""

from __future__ import annotations

import enum

from flask import abort
from flask_login import current_user

from storage import PrinterRow

from .context import store


class Need(enum.Enum):
    VIEW = "view"  # pages, charts, history, camera
    COMMAND = "command"  # pause, resume, cancel, G-code, start a print, settings
    MANAGE = "manage"  # rename or remove the printer


def printer_or_404(device_id: str, need: Need = Need.VIEW) -> PrinterRow:
    """Return the signed-in user's printer for this need, or abort with 404."""
    printer = store().printer_for_user(current_user.id, device_id)
    if printer is None:
        abort(404)
    return printer
