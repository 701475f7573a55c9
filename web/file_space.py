"""Whose files a files page works on: the signed-in user's own, or an organisation's.

The same views and templates serve both; a FileSpace carries the owner, the
member's role (viewers may list and download, not change) and how to link
within the space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, url_for
from flask_login import current_user

from storage import PrinterRow
from storage.files import FileOwner
from storage.orgs import COMMANDING_ROLES

from .access import org_or_404

VIEWER_CANNOT_CHANGE_FILES = ("You can see this organisation's files as a viewer, but not "
                              "change them. Ask an owner or admin of the organisation for the "
                              "operator role.")
# Route parameters named apart in the organisation's routes, so each kind of
# id names one kind of thing (tests/web/test_authorization_matrix.py).
_ORG_PARAMS = {"entry_id": "org_entry_id", "folder_id": "org_folder_id"}


@dataclass(frozen=True, slots=True)
class FileSpace:
    owner: FileOwner
    title: str
    role: str | None = None  # the member's role in the organisation; None: one's own files

    @property
    def can_change(self) -> bool:
        return self.role is None or self.role in COMMANDING_ROLES

    def require_change(self) -> None:
        """Abort with 403 and the reason unless the user may change files here."""
        if not self.can_change:
            abort(403, description=VIEWER_CANNOT_CHANGE_FILES)

    def url(self, view: str, **args: Any) -> str:
        """The URL of one of the files views, within this space."""
        args = {key: value for key, value in args.items() if value is not None}
        if self.owner.org_id is None:
            return url_for(f"files.{view}", **args)
        args = {_ORG_PARAMS.get(key, key): value for key, value in args.items()}
        return url_for(f"org_files.{view}", org_id=self.owner.org_id, **args)


def own_space() -> FileSpace:
    """The signed-in user's own files."""
    return FileSpace(FileOwner(user_id=current_user.id), "Files")


def org_space(org_id: int) -> FileSpace:
    """An organisation's files, for one of its members; 404 for anyone else."""
    membership = org_or_404(org_id)
    return FileSpace(FileOwner(org_id=org_id), f"{membership.org.name} files", membership.role)


def printer_file_owner(printer: PrinterRow) -> FileOwner:
    """Whose files a printer prints: its organisation's, else its owner's (the user's own)."""
    if printer.org_id is not None:
        return FileOwner(org_id=printer.org_id)
    return FileOwner(user_id=current_user.id)
