"""The signed-in user's own files and folders (/files); the views are in file_views.py.

Every route is scoped to the signed-in user: another user's file or folder,
or an organisation's, is answered with 404, as if it did not exist.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from flask_login import login_required

from . import file_views as views
from .file_space import own_space
from .file_views import MULTIPART_OVERHEAD_BYTES, contents

__all__ = ["MULTIPART_OVERHEAD_BYTES", "bp", "contents"]

bp = Blueprint("files", __name__)


@bp.get("/files")
@bp.get("/files/folders/<int:folder_id>")
@login_required
def folder(folder_id: int | None = None) -> ResponseReturnValue:
    """List a folder (the top one without an id)."""
    return views.folder(own_space(), folder_id)


@bp.post("/files/folders")
@login_required
def create_folder() -> ResponseReturnValue:
    """Make a folder in the given one."""
    return views.create_folder(own_space())


@bp.post("/files/upload")
@login_required
def upload() -> ResponseReturnValue:
    """Take one G-code file into a folder, store it whole, analyse it, record it."""
    return views.upload(own_space())


@bp.get("/files/<int:entry_id>")
@login_required
def detail(entry_id: int) -> ResponseReturnValue:
    """Show a file and what its analysis found."""
    return views.detail(own_space(), entry_id)


@bp.get("/files/<int:entry_id>/download")
@login_required
def download(entry_id: int) -> Response:
    """Send the file's contents under its name."""
    return views.download(own_space(), entry_id)


@bp.get("/files/<int:entry_id>/thumbnails/<int:index>")
@login_required
def thumbnail(entry_id: int, index: int) -> Response:
    """Send one of the preview images the slicer embedded in the file."""
    return views.thumbnail(own_space(), entry_id, index)


@bp.post("/files/<int:entry_id>/rename")
@login_required
def rename(entry_id: int) -> ResponseReturnValue:
    """Give a file or folder a new name."""
    return views.rename(own_space(), entry_id)


@bp.post("/files/<int:entry_id>/move")
@login_required
def move(entry_id: int) -> ResponseReturnValue:
    """Put a file or folder in another folder (an empty target: the top folder)."""
    return views.move(own_space(), entry_id)


@bp.post("/files/<int:entry_id>/delete")
@login_required
def delete(entry_id: int) -> ResponseReturnValue:
    """Move a file or folder to the trash; the folder page offers to undo it."""
    return views.delete(own_space(), entry_id)


@bp.post("/files/<int:entry_id>/restore")
@login_required
def restore(entry_id: int) -> ResponseReturnValue:
    """Bring a file or folder back from the trash."""
    return views.restore(own_space(), entry_id)


@bp.get("/files/trash")
@login_required
def trash() -> str:
    """List what the user trashed, each with a restore button."""
    return views.trash(own_space())
