"""Files and folders: upload (analysed on arrival), browse, rename, move, trash, download.

Every route is scoped to the signed-in user: another user's file or folder
is answered with 404, as if it did not exist.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from typing import IO, Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from printfleet_gcode import analyse_file
from storage.file_contents import FileContents, UploadTooLarge
from storage.files import FileEntry, FileStoreError

from .actions import record_entry_action
from .context import store, web_state

logger = logging.getLogger(__name__)

bp = Blueprint("files", __name__)

GCODE_SUFFIXES = (".gcode", ".gco", ".g", ".gc")
CHUNK_BYTES = 1024 * 1024
# Room for the multipart framing and form fields around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_THUMBNAIL_TYPES = {"png": "image/png", "jpg": "image/jpeg", "qoi": "image/qoi"}


def contents() -> FileContents:
    """Return the on-disk store for uploaded files' contents."""
    settings = web_state().settings
    return FileContents(settings.files_dir, settings.files.max_upload_bytes)


@bp.get("/files")
@bp.get("/files/folders/<int:folder_id>")
@login_required
def folder(folder_id: int | None = None) -> str:
    """List a folder (the top one without an id)."""
    if folder_id is not None:
        _owned(folder_id, kind="folder")
    entries = store().folder_entries(current_user.id, folder_id)
    path = store().folder_path(current_user.id, folder_id)
    parent_id = path[-2].id if len(path) > 1 else None
    targets = [("", "Top folder")] if folder_id is not None else []
    if len(path) > 1:
        targets.append((str(parent_id), path[-2].name))
    targets += [(str(e.id), e.name) for e in entries if e.is_folder]
    return render_template(
        "files.html", entries=entries, path=path, folder_id=folder_id, move_targets=targets,
        trashed=_trashed_notice(), max_upload_bytes=web_state().settings.files.max_upload_bytes)


@bp.post("/files/folders")
@login_required
def create_folder() -> ResponseReturnValue:
    """Make a folder in the given one."""
    parent_id = _folder_field("parent_id")
    try:
        folder = store().create_folder(current_user.id, parent_id,
                                       request.form.get("name", ""), time.time())
    except FileStoreError as error:
        abort(400, description=str(error))
    record_entry_action("create", folder)
    return redirect(_folder_url(parent_id))


@bp.post("/files/upload")
@login_required
def upload() -> ResponseReturnValue:
    """Take one G-code file into a folder, store it whole, analyse it, record it."""
    limit = web_state().settings.files.max_upload_bytes
    if request.content_length is not None and \
            request.content_length > limit + MULTIPART_OVERHEAD_BYTES:
        return _refuse(413, str(UploadTooLarge(limit)))
    try:
        folder_id = _folder_field("folder_id")
        sent = request.files.get("file")
    except RequestEntityTooLarge:
        return _refuse(413, str(UploadTooLarge(limit)))
    if sent is None or not sent.filename:
        return _refuse(400, "choose a G-code file to upload")
    name = sent.filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not name.lower().endswith(GCODE_SUFFIXES):
        return _refuse(400, f"{name!r} is not G-code (expected {', '.join(GCODE_SUFFIXES)})")
    try:
        sha256, size = contents().save(current_user.id, _chunks(sent.stream))
    except UploadTooLarge as error:
        logger.warning("user %d: refused an upload over %d bytes", current_user.id, limit)
        return _refuse(413, str(error))
    finally:
        sent.close()  # werkzeug's spooled copy, not left to the garbage collector
    analysis = _analyse(contents().path(current_user.id, sha256))
    try:
        entry = store().add_file(current_user.id, folder_id, name, size, sha256,
                                 json.dumps(analysis), time.time())
    except FileStoreError as error:
        return _refuse(400, str(error))
    logger.info("user %d uploaded %r (%d bytes) as file %d", current_user.id, name, size,
                entry.id)
    record_entry_action("upload", entry)
    target = url_for("files.detail", entry_id=entry.id)
    if _wants_json():
        return jsonify(id=entry.id, url=target), 201
    return redirect(target)


@bp.get("/files/<int:entry_id>")
@login_required
def detail(entry_id: int) -> ResponseReturnValue:
    """Show a file and what its analysis found."""
    entry = _owned(entry_id)
    if entry.is_folder:
        return redirect(_folder_url(entry.id))
    analysis = json.loads(entry.analysis_json or "{}")
    return render_template("file.html", entry=entry, analysis=analysis,
                           path=store().folder_path(current_user.id, entry.parent_id))


@bp.get("/files/<int:entry_id>/download")
@login_required
def download(entry_id: int) -> Response:
    """Send the file's contents under its name."""
    entry = _owned(entry_id, kind="file")
    assert entry.sha256 is not None
    path = contents().path(current_user.id, entry.sha256)
    if not path.is_file():
        logger.error("file %d of user %d has no contents at %s", entry.id, current_user.id, path)
        abort(404)
    return send_file(path, mimetype="text/x.gcode", as_attachment=True,
                     download_name=entry.name, conditional=True)


@bp.get("/files/<int:entry_id>/thumbnails/<int:index>")
@login_required
def thumbnail(entry_id: int, index: int) -> Response:
    """Send one of the preview images the slicer embedded in the file."""
    entry = _owned(entry_id, kind="file")
    thumbnails = json.loads(entry.analysis_json or "{}").get("thumbnails") or []
    if not 0 <= index < len(thumbnails):
        abort(404)
    image = thumbnails[index]
    return Response(base64.b64decode(image["data"]),
                    mimetype=_THUMBNAIL_TYPES.get(image["format"], "application/octet-stream"),
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.post("/files/<int:entry_id>/rename")
@login_required
def rename(entry_id: int) -> ResponseReturnValue:
    """Give a file or folder a new name."""
    entry = _owned(entry_id)
    try:
        store().rename_entry(current_user.id, entry.id, request.form.get("name", ""))
    except FileStoreError as error:
        abort(400, description=str(error))
    record_entry_action("rename", entry, new_name=request.form.get("name", ""))
    return redirect(_folder_url(entry.parent_id))


@bp.post("/files/<int:entry_id>/move")
@login_required
def move(entry_id: int) -> ResponseReturnValue:
    """Put a file or folder in another folder (an empty target: the top folder)."""
    entry = _owned(entry_id)
    target = _folder_field("parent_id")
    try:
        store().move_entry(current_user.id, entry.id, target)
    except FileStoreError as error:
        abort(400, description=str(error))
    record_entry_action("move", entry, to_folder=target)
    return redirect(_folder_url(target))


@bp.post("/files/<int:entry_id>/delete")
@login_required
def delete(entry_id: int) -> ResponseReturnValue:
    """Move a file or folder to the trash; the folder page offers to undo it."""
    entry = _owned(entry_id)
    store().trash_entry(current_user.id, entry.id, time.time())
    record_entry_action("delete", entry)
    return redirect(_folder_url(entry.parent_id, trashed=entry.id))


@bp.post("/files/<int:entry_id>/restore")
@login_required
def restore(entry_id: int) -> ResponseReturnValue:
    """Bring a file or folder back from the trash."""
    entry = store().file_entry(current_user.id, entry_id, include_trashed=True)
    if entry is None or entry.deleted_at is None:
        abort(404)
    store().restore_entry(current_user.id, entry.id)
    record_entry_action("restore", entry)
    restored = store().file_entry(current_user.id, entry.id)
    return redirect(_folder_url(restored.parent_id if restored else None))


@bp.get("/files/trash")
@login_required
def trash() -> str:
    """List what the user trashed, each with a restore button."""
    return render_template("trash.html", entries=store().trashed_entries(current_user.id))


def _owned(entry_id: int, kind: str | None = None) -> FileEntry:
    """The signed-in user's live entry, else 404 (another user's included)."""
    entry = store().file_entry(current_user.id, entry_id)
    if entry is None or (kind is not None and entry.kind != kind):
        abort(404)
    return entry


def _folder_field(field: str) -> int | None:
    """A folder id from the form: empty is the top folder; another user's is 404."""
    value = request.form.get(field, "").strip()
    if not value:
        return None
    if not value.isdigit():
        abort(400, description=f"{field} must be a folder id")
    return _owned(int(value), kind="folder").id


def _folder_url(folder_id: int | None, **args: Any) -> str:
    if folder_id is None:
        return url_for("files.folder", **args)
    return url_for("files.folder", folder_id=folder_id, **args)


def _trashed_notice() -> FileEntry | None:
    value = request.args.get("trashed", "")
    if not value.isdigit():
        return None
    entry = store().file_entry(current_user.id, int(value), include_trashed=True)
    return entry if entry is not None and entry.deleted_at is not None else None


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _analyse(path: Any) -> dict[str, Any]:
    """The analysis as stored (thumbnails in base64); a file that defeats it is still kept."""
    files = web_state().settings.files
    try:
        result = analyse_file(path, files.filament_diameter_mm, files.filament_density_g_cm3)
    except Exception as error:  # a hostile or broken file must not lose the upload
        logger.exception("could not analyse %s", path)
        return {"error": f"the file could not be analysed: {error}"}
    analysis = dataclasses.asdict(result)
    analysis["thumbnails"] = [
        {"format": t.format, "width": t.width, "height": t.height,
         "data": base64.b64encode(t.data).decode("ascii")} for t in result.thumbnails]
    analysis["filament_diameter_mm"] = files.filament_diameter_mm
    analysis["filament_density_g_cm3"] = files.filament_density_g_cm3
    return analysis


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _refuse(status: int, message: str) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=message), status
    abort(status, description=message)
