"""Files and folders of one file space: upload (analysed on arrival), browse, rename, move, trash, download.

The user's own routes (web/files.py) and an organisation's (web/org_files.py)
call these with their FileSpace. Every lookup is scoped to the space's owner:
an entry of another owner is answered with 404, as if it did not exist.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from typing import IO, Any

from flask import Response, abort, jsonify, redirect, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from printfleet_gcode import analyse_file
from storage.file_contents import FileContents, UploadTooLarge
from storage.files import DuplicateName, FileEntry, FileStoreError

from .actions import record_entry_action
from .context import store, web_state
from .file_space import FileSpace

logger = logging.getLogger(__name__)

GCODE_SUFFIXES = (".gcode", ".gco", ".g", ".gc")
CHUNK_BYTES = 1024 * 1024
# Room for the multipart framing and form fields around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_THUMBNAIL_TYPES = {"png": "image/png", "jpg": "image/jpeg", "qoi": "image/qoi"}


def contents() -> FileContents:
    """Return the on-disk store for uploaded files' contents."""
    settings = web_state().settings
    return FileContents(settings.files_dir, settings.files.max_upload_bytes)


def folder(space: FileSpace, folder_id: int | None, error: str | None = None,
           status: int = 200) -> ResponseReturnValue:
    """List a folder (the top one without an id), with an error from a refused change."""
    if folder_id is not None:
        owned(space, folder_id, kind="folder")
    entries = store().folder_entries(space.owner, folder_id)
    path = store().folder_path(space.owner, folder_id)
    parent_id = path[-2].id if len(path) > 1 else None
    targets = [("", "Top folder")] if folder_id is not None else []
    if len(path) > 1:
        targets.append((str(parent_id), path[-2].name))
    targets += [(str(e.id), e.name) for e in entries if e.is_folder]
    return render_template(
        "files.html", space=space, entries=entries, path=path, folder_id=folder_id,
        move_targets=targets, trashed=_trashed_notice(space), error=error,
        org_spaces=store().organisations_for_user(current_user.id) if space.role is None else [],
        max_upload_bytes=web_state().settings.files.max_upload_bytes), status


def create_folder(space: FileSpace) -> ResponseReturnValue:
    """Make a folder in the given one."""
    space.require_change()
    parent_id = _folder_field(space, "parent_id")
    try:
        made = store().create_folder(space.owner, parent_id, request.form.get("name", ""),
                                     time.time())
    except FileStoreError as error:
        return _refuse(space, error, parent_id)
    record_entry_action("create", made)
    return redirect(_folder_url(space, parent_id))


def upload(space: FileSpace) -> ResponseReturnValue:
    """Take one G-code file into a folder, store it whole, analyse it, record it."""
    space.require_change()
    limit = web_state().settings.files.max_upload_bytes
    if request.content_length is not None and \
            request.content_length > limit + MULTIPART_OVERHEAD_BYTES:
        return _refuse_status(413, str(UploadTooLarge(limit)))
    try:
        folder_id = _folder_field(space, "folder_id")
        sent = request.files.get("file")
    except RequestEntityTooLarge:
        return _refuse_status(413, str(UploadTooLarge(limit)))
    if sent is None or not sent.filename:
        return _refuse_status(400, "choose a G-code file to upload")
    name = sent.filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not name.lower().endswith(GCODE_SUFFIXES):
        return _refuse_status(400, f"{name!r} is not G-code (expected {', '.join(GCODE_SUFFIXES)})")
    try:
        # Refused before a byte is stored; the store checks again when recording it.
        if store().entry_named(space.owner, folder_id, name) is not None:
            raise DuplicateName(name.strip())
        sha256, size = contents().save(space.owner, _chunks(sent.stream))
    except FileStoreError as error:
        return _refuse(space, error, folder_id)
    except UploadTooLarge as error:
        logger.warning("%s: refused an upload over %d bytes", space.owner, limit)
        return _refuse_status(413, str(error))
    finally:
        sent.close()  # werkzeug's spooled copy, not left to the garbage collector
    analysis = _analyse(contents().path(space.owner, sha256))
    try:
        entry = store().add_file(space.owner, folder_id, name, size, sha256,
                                 json.dumps(analysis), time.time())
    except FileStoreError as error:
        return _refuse(space, error, folder_id)
    logger.info("user %d uploaded %r (%d bytes) as file %d of %s", current_user.id, name, size,
                entry.id, space.owner)
    record_entry_action("upload", entry)
    target = space.url("detail", entry_id=entry.id)
    if _wants_json():
        return jsonify(id=entry.id, url=target), 201
    return redirect(target)


def detail(space: FileSpace, entry_id: int) -> ResponseReturnValue:
    """Show a file and what its analysis found."""
    entry = owned(space, entry_id)
    if entry.is_folder:
        return redirect(_folder_url(space, entry.id))
    analysis = json.loads(entry.analysis_json or "{}")
    return render_template("file.html", space=space, entry=entry, analysis=analysis,
                           path=store().folder_path(space.owner, entry.parent_id))


def download(space: FileSpace, entry_id: int) -> Response:
    """Send the file's contents under its name."""
    entry = owned(space, entry_id, kind="file")
    assert entry.sha256 is not None
    path = contents().path(space.owner, entry.sha256)
    if not path.is_file():
        logger.error("file %d of %s has no contents at %s", entry.id, space.owner, path)
        abort(404)
    return send_file(path, mimetype="text/x.gcode", as_attachment=True,
                     download_name=entry.name, conditional=True)


def thumbnail(space: FileSpace, entry_id: int, index: int) -> Response:
    """Send one of the preview images the slicer embedded in the file."""
    entry = owned(space, entry_id, kind="file")
    thumbnails = json.loads(entry.analysis_json or "{}").get("thumbnails") or []
    if not 0 <= index < len(thumbnails):
        abort(404)
    image = thumbnails[index]
    return Response(base64.b64decode(image["data"]),
                    mimetype=_THUMBNAIL_TYPES.get(image["format"], "application/octet-stream"),
                    headers={"Cache-Control": "private, max-age=3600"})


def rename(space: FileSpace, entry_id: int) -> ResponseReturnValue:
    """Give a file or folder a new name."""
    entry = owned(space, entry_id)
    space.require_change()
    try:
        store().rename_entry(space.owner, entry.id, request.form.get("name", ""))
    except FileStoreError as error:
        return _refuse(space, error, entry.parent_id)
    record_entry_action("rename", entry, new_name=request.form.get("name", ""))
    return redirect(_folder_url(space, entry.parent_id))


def move(space: FileSpace, entry_id: int) -> ResponseReturnValue:
    """Put a file or folder in another folder (an empty target: the top folder)."""
    entry = owned(space, entry_id)
    space.require_change()
    target = _folder_field(space, "parent_id")
    try:
        store().move_entry(space.owner, entry.id, target)
    except FileStoreError as error:
        return _refuse(space, error, entry.parent_id)
    record_entry_action("move", entry, to_folder=target)
    return redirect(_folder_url(space, target))


def delete(space: FileSpace, entry_id: int) -> ResponseReturnValue:
    """Move a file or folder to the trash; the folder page offers to undo it."""
    entry = owned(space, entry_id)
    space.require_change()
    store().trash_entry(space.owner, entry.id, time.time())
    record_entry_action("delete", entry)
    return redirect(_folder_url(space, entry.parent_id, trashed=entry.id))


def restore(space: FileSpace, entry_id: int) -> ResponseReturnValue:
    """Bring a file or folder back from the trash."""
    entry = store().file_entry(space.owner, entry_id, include_trashed=True)
    if entry is None or entry.deleted_at is None:
        abort(404)
    space.require_change()
    try:
        store().restore_entry(space.owner, entry.id)
    except FileStoreError as error:
        if _wants_json():
            return jsonify(error=str(error)), 409
        return render_template("trash.html", space=space, error=f"{error}; nothing changed.",
                               entries=store().trashed_entries(space.owner)), 409
    record_entry_action("restore", entry)
    restored = store().file_entry(space.owner, entry.id)
    return redirect(_folder_url(space, restored.parent_id if restored else None))


def trash(space: FileSpace) -> str:
    """List what the space's owner trashed, each with a restore button."""
    return render_template("trash.html", space=space, error=None,
                           entries=store().trashed_entries(space.owner))


def owned(space: FileSpace, entry_id: int, kind: str | None = None) -> FileEntry:
    """The space's live entry, else 404 (another owner's included)."""
    entry = store().file_entry(space.owner, entry_id)
    if entry is None or (kind is not None and entry.kind != kind):
        abort(404)
    return entry


def _folder_field(space: FileSpace, field: str) -> int | None:
    """A folder id from the form: empty is the top folder; another owner's is 404."""
    value = request.form.get(field, "").strip()
    if not value:
        return None
    if not value.isdigit():
        abort(400, description=f"{field} must be a folder id")
    return owned(space, int(value), kind="folder").id


def _folder_url(space: FileSpace, folder_id: int | None, **args: Any) -> str:
    return space.url("folder", folder_id=folder_id, **args)


def _trashed_notice(space: FileSpace) -> FileEntry | None:
    value = request.args.get("trashed", "")
    if not value.isdigit():
        return None
    entry = store().file_entry(space.owner, int(value), include_trashed=True)
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


def _refuse(space: FileSpace, error: FileStoreError, folder_id: int | None) -> ResponseReturnValue:
    """Answer a change the store refused: 409 for a taken name, else 400; the folder shows why."""
    status = 409 if isinstance(error, DuplicateName) else 400
    message = f"{error}; nothing changed." if status == 409 else str(error)
    if _wants_json():
        return jsonify(error=message), status
    if status == 400:
        abort(400, description=message)
    live = folder_id is None or store().file_entry(space.owner, folder_id) is not None
    return folder(space, folder_id if live else None, error=message, status=status)


def _refuse_status(status: int, message: str) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=message), status
    abort(status, description=message)
