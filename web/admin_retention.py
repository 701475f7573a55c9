"""/admin/retention: the retention settings, the latest runs and a preview, for operators.

Operators only (users.is_operator); anyone else gets 404, as for a page
that does not exist. The preview is counted on each visit and not
recorded: a GET changes nothing, and runs happen only in the scheduler
process or from `printfleet retention run-now`.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from printfleet.retention import Retention, class_settings

from .context import store, web_state

bp = Blueprint("admin_retention", __name__)

RUNS_SHOWN = 30


@bp.app_template_global("signed_in_operator")
def signed_in_operator() -> bool:
    """Tell templates whether the signed-in user runs this Printfleet (shows the Admin link)."""
    return bool(current_user.is_authenticated and store().is_operator(current_user.id))


@bp.get("/admin/retention")
@login_required
def page() -> str:
    """The operators' view of retention."""
    if not store().is_operator(current_user.id):
        abort(404)
    settings = web_state().settings
    now = time.time()
    return render_template("admin_retention.html", now=now,
                           classes=class_settings(settings),
                           preview=Retention(settings, store()).preview(now),
                           runs=store().retention_runs(RUNS_SHOWN))
