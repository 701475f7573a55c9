"""An organisation's files and folders (/orgs/<org_id>/files); the views are in file_views.py.

Members reach them by role: viewers list and download, operators, admins and
owners also upload, rename, move, delete and restore (403 with the reason
otherwise). Anyone else gets 404 on every route, as if there were nothing.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from flask_login import login_required

from . import file_views as views
from .file_space import org_space

bp = Blueprint("org_files", __name__, url_prefix="/orgs/<int:org_id>/files")


@bp.get("")
@bp.get("/folders/<int:org_folder_id>")
@login_required
def folder(org_id: int, org_folder_id: int | None = None) -> ResponseReturnValue:
    """List one of the organisation's folders (the top one without an id)."""
    return views.folder(org_space(org_id), org_folder_id)


@bp.post("/folders")
@login_required
def create_folder(org_id: int) -> ResponseReturnValue:
    """Make a folder in one of the organisation's folders."""
    return views.create_folder(org_space(org_id))


@bp.post("/upload")
@login_required
def upload(org_id: int) -> ResponseReturnValue:
    """Take one G-code file into the organisation's files."""
    return views.upload(org_space(org_id))


@bp.get("/<int:org_entry_id>")
@login_required
def detail(org_id: int, org_entry_id: int) -> ResponseReturnValue:
    """Show one of the organisation's files and what its analysis found."""
    return views.detail(org_space(org_id), org_entry_id)


@bp.get("/<int:org_entry_id>/download")
@login_required
def download(org_id: int, org_entry_id: int) -> Response:
    """Send the file's contents under its name."""
    return views.download(org_space(org_id), org_entry_id)


@bp.get("/<int:org_entry_id>/thumbnails/<int:index>")
@login_required
def thumbnail(org_id: int, org_entry_id: int, index: int) -> Response:
    """Send one of the preview images the slicer embedded in the file."""
    return views.thumbnail(org_space(org_id), org_entry_id, index)


@bp.post("/<int:org_entry_id>/rename")
@login_required
def rename(org_id: int, org_entry_id: int) -> ResponseReturnValue:
    """Give one of the organisation's files or folders a new name."""
    return views.rename(org_space(org_id), org_entry_id)


@bp.post("/<int:org_entry_id>/move")
@login_required
def move(org_id: int, org_entry_id: int) -> ResponseReturnValue:
    """Put a file or folder in another of the organisation's folders."""
    return views.move(org_space(org_id), org_entry_id)


@bp.post("/<int:org_entry_id>/delete")
@login_required
def delete(org_id: int, org_entry_id: int) -> ResponseReturnValue:
    """Move one of the organisation's files or folders to its trash."""
    return views.delete(org_space(org_id), org_entry_id)


@bp.post("/<int:org_entry_id>/restore")
@login_required
def restore(org_id: int, org_entry_id: int) -> ResponseReturnValue:
    """Bring a file or folder back from the organisation's trash."""
    return views.restore(org_space(org_id), org_entry_id)


@bp.get("/trash")
@login_required
def trash(org_id: int) -> str:
    """List what the organisation's members trashed, each with a restore button."""
    return views.trash(org_space(org_id))
