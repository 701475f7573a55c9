"""The right to restrict processing: a switch on /account/privacy and in the JSON API.

While it is on, Printfleet keeps working for the user, but computes no
location for their prints, keeps no place with their logged actions, logs
no pages they visit and sends them no marketing mail; each of those reads
the flag as it goes (storage/restriction.py), so it holds from the next request
and the next scheduler run on. Turning it on or off is itself a logged action.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from storage.restriction import ProcessingRestriction

from .actions import record_action
from .context import store
from .openapi import api_doc
from .restriction import forget_for_this_request

logger = logging.getLogger(__name__)

bp = Blueprint("privacy", __name__)

_RESTRICTION_SCHEMA = {"type": "object", "required": ["processing_restricted"],
                       "properties": {"processing_restricted": {"type": "boolean"}}}
# What stops while processing is restricted, as the page and the API say it.
STOPPED = ("locations of your prints (from your printers' public IP addresses)",
           "places (country, region, city) with the actions you take",
           "logging of the pages you visit",
           "marketing mail")


@bp.get("/account/privacy")
@login_required
def page() -> ResponseReturnValue:
    """Show whether the user restricts processing, with the switch."""
    return render_template("account_privacy.html", restriction=_restriction(),
                           stopped=STOPPED, saved=request.args.get("saved") == "1")


@bp.post("/account/privacy")
@login_required
def change() -> ResponseReturnValue:
    """Turn the restriction on or off from the page's form."""
    wanted = request.form.get("processing_restricted")
    if wanted not in ("on", "off"):
        return render_template("account_privacy.html", restriction=_restriction(),
                               stopped=STOPPED, saved=False,
                               error="Choose to restrict processing or to lift the "
                                     "restriction."), 400
    _set(wanted == "on")
    return redirect(url_for("privacy.page", saved=1))


@bp.get("/api/v1/account/privacy")
@login_required
def api_read() -> ResponseReturnValue:
    """Whether the user restricts processing, since when, and what that stops."""
    return jsonify(_to_dict(_restriction()))


@bp.put("/api/v1/account/privacy")
@login_required
@api_doc(body=_RESTRICTION_SCHEMA)
def api_change() -> ResponseReturnValue:
    """Restrict processing (true) or lift the restriction (false); takes effect at once."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"processing_restricted"} or \
            not isinstance(body["processing_restricted"], bool):
        return jsonify(error="send a JSON object {\"processing_restricted\": true|false}"), 400
    return jsonify(_to_dict(_set(body["processing_restricted"])))


def _restriction() -> ProcessingRestriction:
    restriction = store().processing_restriction(current_user.id)
    if restriction is None:
        abort(404)
    return restriction


def _set(restricted: bool) -> ProcessingRestriction:
    before = _restriction()
    after = store().set_processing_restricted(current_user.id, restricted, time.time())
    if after is None:
        abort(404)
    forget_for_this_request()
    if after.restricted != before.restricted:
        logger.info("user %d %s processing", current_user.id,
                    "restricted" if restricted else "lifted the restriction of")
        record_action("privacy.restrict" if restricted else "privacy.unrestrict", "user",
                      current_user.id, "Restricted processing of your data" if restricted
                      else "Lifted the restriction of processing of your data")
    return after


def _to_dict(restriction: ProcessingRestriction) -> dict[str, Any]:
    return {"processing_restricted": restriction.restricted,
            "changed_at": restriction.changed_at,
            "stopped_while_restricted": list(STOPPED)}
