"""Who may see and do what: the one place a view asks before touching a printer or an organisation.

Anything the user may not see answers 404, never 403, so a request cannot
tell another user's printer or organisation from one that does not exist.
A member who may see something but not do what was asked (a viewer sending
a command) gets 403 with the reason: that tells them nothing new.
"""

from __future__ import annotations

import enum

from flask import abort
from flask_login import current_user

from storage import PrinterRow
from storage.job_history import PrintJob
from storage.orgs import COMMANDING_ROLES, MANAGING_ROLES, OrgMembership

from .context import store


class Need(enum.Enum):
    VIEW = "view"  # pages, charts, history, camera
    COMMAND = "command"  # pause, resume, cancel, G-code, start a print, settings
    MANAGE = "manage"  # rename or remove the printer


VIEWER_CANNOT_COMMAND = ("You can see this printer as a viewer of its organisation, but not "
                         "control it. Ask an owner or admin of the organisation for the "
                         "operator role.")
NOT_A_MANAGER = ("Only the owners and admins of this organisation can do this. "
                 "Your role is {role}.")


def printer_or_404(device_id: str, need: Need = Need.VIEW) -> PrinterRow:
    """Return the signed-in user's printer for this need; 404 if unseen, 403 if only seen."""
    printer = store().printer_for_user(current_user.id, device_id)
    if printer is None:
        abort(404)
    if need is Need.COMMAND and printer.role not in COMMANDING_ROLES:
        abort(403, description=VIEWER_CANNOT_COMMAND)
    if need is Need.MANAGE and printer.role not in MANAGING_ROLES:
        abort(403, description=NOT_A_MANAGER.format(role=printer.role))
    return printer


def visible_devices() -> dict[str, str]:
    """The signed-in user's printers (own and their organisations'): device id -> name."""
    return {p.device_id: p.name for p in store().printers_for_user(current_user.id)}


def job_or_404(job_id: int) -> PrintJob:
    """Return a print job on one of the user's printers, or abort with 404."""
    job = store().print_job(list(visible_devices()), job_id)
    if job is None:
        abort(404)
    return job


def org_or_404(org_id: int, manage: bool = False) -> OrgMembership:
    """Return the organisation and the user's role; 404 for non-members, 403 unless managing."""
    membership = store().membership(current_user.id, org_id)
    if membership is None:
        abort(404)
    if manage and membership.role not in MANAGING_ROLES:
        abort(403, description=NOT_A_MANAGER.format(role=membership.role))
    return membership
