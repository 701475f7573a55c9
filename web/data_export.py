"""The right of access and portability: ask for a download of all your data, watch it, get it.

The web app only queues an export; the scheduler process builds it
(printfleet/data_export.py), never a web worker. Another user's export is
404, like anything else that is not yours.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from printfleet.data_export import exports_root, new_export_path
from storage.data_exports import READY, DataExport

from .actions import record_action
from .context import store, web_state

logger = logging.getLogger(__name__)

bp = Blueprint("data_export", __name__)
# While an export is being built, its page reloads itself this often (no scripts needed).
REFRESH_S = 2


@bp.get("/account/export")
@login_required
def page() -> ResponseReturnValue:
    """The user's exports: start one, follow its progress, download it when ready."""
    exports = store().data_exports_for_user(current_user.id)
    busy = any(export.status in ("queued", "running") for export in exports)
    return render_template("account_export.html", exports=exports, busy=busy,
                           refresh_s=REFRESH_S if busy else None,
                           keep_days=web_state().settings.retention.exports_days)


@bp.post("/account/export")
@login_required
def start() -> ResponseReturnValue:
    """Queue an export from the page's form."""
    _queue()
    return redirect(url_for("data_export.page"))


@bp.get("/account/export/<int:export_id>/download")
@login_required
def download(export_id: int) -> ResponseReturnValue:
    """The finished ZIP (404 when it is not the user's, 409 while it is not ready)."""
    return _send(_export_or_404(export_id))


@bp.post("/api/v1/account/exports")
@login_required
def api_start() -> ResponseReturnValue:
    """Ask for an export of all your data; it is built in the background (202)."""
    return jsonify(_to_dict(_queue())), 202


@bp.get("/api/v1/account/exports")
@login_required
def api_list() -> ResponseReturnValue:
    """Your data exports, newest first."""
    return jsonify([_to_dict(export) for export in store().data_exports_for_user(current_user.id)])


@bp.get("/api/v1/account/exports/<int:export_id>")
@login_required
def api_show(export_id: int) -> ResponseReturnValue:
    """One export: status, progress and, once ready, its download link."""
    return jsonify(_to_dict(_export_or_404(export_id)))


@bp.get("/api/v1/account/exports/<int:export_id>/download")
@login_required
def api_download(export_id: int) -> ResponseReturnValue:
    """The finished ZIP (409 while it is being built)."""
    return _send(_export_or_404(export_id))


def _queue() -> DataExport:
    before = {export.id for export in store().data_exports_for_user(current_user.id)}
    export = store().create_data_export(current_user.id, new_export_path(current_user.id),
                                        time.time())
    if export.id not in before:
        logger.info("user %d asked for data export %d", current_user.id, export.id)
        record_action("account.export", "export", export.id,
                      "Asked for a download of all your data")
    return export


def _export_or_404(export_id: int) -> DataExport:
    export = store().data_export(current_user.id, export_id)
    if export is None:
        abort(404)
    return export


def _send(export: DataExport) -> ResponseReturnValue:
    if export.status != READY:
        return jsonify(error=f"the export is {export.status}, not ready yet"), 409
    root = exports_root(web_state().settings).resolve()
    path = (root / export.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)  # removed by retention meanwhile
    name = time.strftime("printfleet-export-%Y%m%d.zip", time.gmtime(export.created_at))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name,
                     max_age=0)


def _to_dict(export: DataExport) -> dict[str, Any]:
    ready = export.status == READY
    return {"id": export.id, "status": export.status, "percent": export.percent,
            "progress": {"done": export.progress_done, "total": export.progress_total},
            "created_at": export.created_at, "finished_at": export.finished_at,
            "size_bytes": export.size_bytes, "error": export.error,
            "download_url": url_for("data_export.api_download", export_id=export.id)
            if ready else None}
