"""The action log: recording what users do, their log page, and undo from it.

Every action is kept with its time, user, IP and coarse place (country,
region, city from an offline database; never finer). Another user's action
is answered with 404, as if it did not exist.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from printfleet.geolocation import (
    Geolocator,
    MmdbGeolocator,
    bundled_database,
    geolocator_from_settings,
)
from storage import BackendUnavailable
from storage.actions import ActionDraft, LoggedAction
from storage.files import FileEntry, check_name

from .context import EXTENSION_KEY, store
from .restriction import current_user_restricted
from .undo import (
    PROFILE_FIELDS,
    UndoRefused,
    move_payload,
    perform_undo,
    profile_payload,
    rename_payload,
    restore_payload,
    trash_payload,
)

logger = logging.getLogger(__name__)

bp = Blueprint("actions", __name__, url_prefix="/account")

GEOLOCATOR_KEY = "printfleet.geolocator"
PAGE_SIZE = 50
_NO_FOLDER = object()


@bp.record_once
def _start_geolocation(state: Any) -> None:
    # Built once per app from its settings; the database opens on first lookup.
    settings = state.app.extensions[EXTENSION_KEY].settings
    state.app.extensions[GEOLOCATOR_KEY] = geolocator_from_settings(settings.geolocation)


def geolocator() -> Geolocator:
    """Return the app's geolocator."""
    return current_app.extensions[GEOLOCATOR_KEY]


def record_action(kind: str, target_type: str, target_id: int | str, summary: str,
                  undo: dict[str, Any] | None = None,
                  org_id: int | None = None) -> LoggedAction | None:
    """Log an action of the signed-in user, with the request's IP and its coarse place."""
    ip = request.remote_addr or "unknown"
    place = None if current_user_restricted() else geolocator().locate(ip)
    draft = ActionDraft(
        at=time.time(), user_id=current_user.id, org_id=org_id, ip=ip,
        country=place.country if place else None, region=place.region if place else None,
        city=place.city if place else None, kind=kind, target_type=target_type,
        target_id=str(target_id), summary=summary, undo=undo)
    try:
        return store().record_action(draft)
    except BackendUnavailable as error:
        # The action itself is done; its log entry is lost, so say so loudly.
        logger.error("action not logged (%s): user %d %s %s:%s %r", error, draft.user_id,
                     kind, target_type, target_id, summary)
        return None


def record_entry_action(verb: str, entry: FileEntry, new_name: str | None = None,
                        to_folder: Any = _NO_FOLDER) -> LoggedAction | None:
    """Log a file or folder action; `entry` is as it was before the action."""
    label = f"{entry.kind} “{entry.name}”"
    summary, undo = {
        "upload": (f"Uploaded {label}", trash_payload(entry)),
        "create": (f"Created {label}", trash_payload(entry)),
        "rename": (f"Renamed {label} to “{_name(new_name)}”", rename_payload(entry)),
        "move": (f"Moved {label} to {_folder_label(entry, to_folder)}", move_payload(entry)),
        "delete": (f"Deleted {label}", restore_payload(entry)),
        "restore": (f"Restored {label} from the trash", None),
    }[verb]
    return record_action(f"{entry.kind}.{verb}", entry.kind, entry.id, summary, undo,
                         org_id=entry.owner_org_id)


def record_profile_update(user: Any, new_values: dict[str, str]) -> LoggedAction | None:
    """Log the profile fields that changed, with their old values for undo."""
    old = {key: getattr(user, key) for key in PROFILE_FIELDS
           if key in new_values and getattr(user, key) != new_values[key]}
    if not old:
        return None
    summary = "Changed your " + ", ".join(PROFILE_FIELDS[key] for key in old)
    return record_action("profile.update", "user", user.id, summary, profile_payload(old))


def _name(name: str | None) -> str:
    try:
        return check_name(name or "")
    except ValueError:
        return (name or "").strip()


def _folder_label(entry: FileEntry, folder_id: Any) -> str:
    if folder_id is None or folder_id is _NO_FOLDER:
        return "the top folder"
    folder = store().file_entry(entry.owner, int(folder_id))
    return f"folder “{folder.name}”" if folder else "a folder"


@bp.get("/actions")
@login_required
def log() -> ResponseReturnValue:
    """List the user's actions, newest first, each with its undo where it has one."""
    return _page()


@bp.post("/actions/<int:action_id>/undo")
@login_required
def undo(action_id: int) -> ResponseReturnValue:
    """Reverse one of the user's actions, once; the undo is logged as an action too."""
    action = store().action_for_user(current_user.id, action_id)
    if action is None:
        abort(404)
    if action.undone_at is not None:
        return _page(error=f"Already undone: {action.summary}. Nothing changed.", status=409)
    payload = action.undo
    if payload is None:
        return _page(error=f"This action cannot be undone: {action.summary}.", status=409)
    now = time.time()
    try:
        done = perform_undo(store(), current_user.id, payload, now)
    except UndoRefused as refusal:
        return _page(error=f"Could not undo this action ({action.summary}): {refusal}",
                     status=409)
    if not store().mark_action_undone(current_user.id, action.id, current_user.id, now):
        # Another request undid it a moment ago; the inverses are idempotent.
        return _page(error=f"Already undone: {action.summary}. Nothing changed.", status=409)
    logger.info("user %d undid action %d (%s)", current_user.id, action.id, action.kind)
    record_action("action.undo", "action", action.id,
                  f"Undid: {action.summary} ({done})", org_id=action.org_id)
    return redirect(url_for("actions.log", undone=action.id))


def _page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() else None
    actions = store().actions_for_user(current_user.id, PAGE_SIZE, before_id)
    undone = request.args.get("undone", "")
    undone_action = (store().action_for_user(current_user.id, int(undone))
                     if undone.isdigit() and error is None else None)
    return render_template(
        "account_actions.html", actions=actions, error=error, undone=undone_action,
        older=actions[-1].id if len(actions) == PAGE_SIZE else None,
        newest=before_id is None, attribution=_uses_bundled_database()), status


def _uses_bundled_database() -> bool:
    # DB-IP's licence asks pages that show its places to credit it.
    located = geolocator()
    return isinstance(located, MmdbGeolocator) and located.path == bundled_database()

