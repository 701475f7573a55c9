"""An organisation's action log: who did what across the organisation, for its owners and admins.

Each entry shows the member, what they did, when, from which IP and coarse
place. From here an admin undoes only what concerns the organisation itself
(its details, roles, invitations, its printers); a member's own things are
undone by that member, from their own log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from printfleet.geolocation import MmdbGeolocator, bundled_database
from storage.actions import LoggedAction

from .access import org_or_404
from .actions import geolocator, record_action
from .context import store
from .org_undo import ORG_OPS
from .undo import UndoRefused, perform_undo

logger = logging.getLogger(__name__)

bp = Blueprint("org_log", __name__, url_prefix="/orgs")

PAGE_SIZE = 50
# Ops on one printer: the organisation's own while the printer is still in it.
PRINTER_OPS = frozenset({"rename_printer", "downtime_logging"})
NOT_THE_ORGS = ("This changed {who}'s own things, not the organisation's: only they can undo "
                "it, from their own action log. Nothing changed.")


@bp.get("/<int:org_id>/actions")
@login_required
def page(org_id: int) -> ResponseReturnValue:
    """List every action taken in the organisation, newest first, with who took it."""
    org_or_404(org_id, manage=True)
    return _page(org_id)


@bp.post("/<int:org_id>/actions/<int:action_id>/undo")
@login_required
def undo(org_id: int, action_id: int) -> ResponseReturnValue:
    """Reverse an action taken in the organisation, once, where it concerns the organisation."""
    org_or_404(org_id, manage=True)
    action = store().org_action(org_id, action_id)
    if action is None:
        abort(404)
    if action.undone_at is not None:
        return _page(org_id, f"Already undone: {action.summary}. Nothing changed.", 409)
    payload = action.undo
    if payload is None:
        return _page(org_id, f"This action cannot be undone: {action.summary}.", 409)
    if not _concerns_org(payload, org_id, _org_printers(org_id)):
        author = store().user_by_id(action.user_id)
        return _page(org_id, NOT_THE_ORGS.format(who=author.email if author else "its author"),
                     403)
    now = time.time()
    try:
        done = perform_undo(store(), current_user.id, payload, now)
    except UndoRefused as refusal:
        return _page(org_id, f"Could not undo this action ({action.summary}): {refusal}", 409)
    if not store().mark_org_action_undone(org_id, action.id, current_user.id, now):
        # Another request undid it a moment ago; the inverses are idempotent.
        return _page(org_id, f"Already undone: {action.summary}. Nothing changed.", 409)
    logger.info("user %d undid action %d (%s) of organisation %d", current_user.id, action.id,
                action.kind, org_id)
    record_action("action.undo", "action", action.id, f"Undid: {action.summary} ({done})",
                  org_id=org_id)
    return redirect(url_for("org_log.page", org_id=org_id, undone=action.id))


def _concerns_org(payload: dict[str, Any], org_id: int, org_printers: set[str]) -> bool:
    """Whether undoing this changes only the organisation's things."""
    op = payload.get("op")
    if op in ORG_OPS:
        return payload.get("org_id") == org_id
    return op in PRINTER_OPS and payload.get("device_id") in org_printers


def _org_printers(org_id: int) -> set[str]:
    return {p.device_id for p in store().printers_for_user(current_user.id) if p.org_id == org_id}


def _undoable(action: LoggedAction, org_id: int, org_printers: set[str]) -> bool:
    payload = action.undo
    return action.can_undo and payload is not None and _concerns_org(payload, org_id,
                                                                     org_printers)


def _page(org_id: int, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    membership = org_or_404(org_id, manage=True)
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() else None
    entries = store().org_log(org_id, PAGE_SIZE, before_id)
    org_printers = _org_printers(org_id)
    undone = request.args.get("undone", "")
    undone_action = (store().org_action(org_id, int(undone))
                     if undone.isdigit() and error is None else None)
    located = geolocator()
    return render_template(
        "org_actions.html", org=membership.org, entries=entries, error=error,
        undone=undone_action,
        undoable={e.action.id for e in entries if _undoable(e.action, org_id, org_printers)},
        older=entries[-1].action.id if len(entries) == PAGE_SIZE else None,
        newest=before_id is None,
        # DB-IP's licence asks pages that show its places to credit it.
        attribution=isinstance(located, MmdbGeolocator) and located.path == bundled_database(),
    ), status
