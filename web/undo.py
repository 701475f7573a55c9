"""The inverse of each undoable action, and the undo payloads that name them.

A payload is the JSON kept with an action in the log: {"op": ..., ...}.
Each inverse runs scoped to the user, like the action it reverses (an
organisation's file: to the organisation, while the user still has a role
that may change its files), and either changes things back or raises
UndoRefused saying why it changed nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from storage import EmailTaken, SyncStore
from storage.files import DuplicateName, FileEntry, FileOwner, FileStoreError
from storage.orgs import COMMANDING_ROLES, MANAGING_ROLES

from .org_undo import ORG_INVERSES
from .undo_refused import UndoRefused as UndoRefused  # where the views import it from

logger = logging.getLogger(__name__)

PROFILE_FIELDS = {"email": "email", "first_name": "first name", "last_name": "last name"}


def _entry_payload(op: str, entry: FileEntry, **more: Any) -> dict[str, Any]:
    """A file action's payload; an organisation's entry names the organisation."""
    payload = {"op": op, "entry_id": entry.id, **more}
    if entry.owner_org_id is not None:
        payload["org_id"] = entry.owner_org_id
    return payload


def restore_payload(entry: FileEntry) -> dict[str, Any]:
    return _entry_payload("restore_entry", entry)


def trash_payload(entry: FileEntry) -> dict[str, Any]:
    return _entry_payload("trash_entry", entry)


def rename_payload(entry: FileEntry) -> dict[str, Any]:
    """Give the entry back the name it has now."""
    return _entry_payload("rename_entry", entry, name=entry.name)


def move_payload(entry: FileEntry) -> dict[str, Any]:
    """Put the entry back in the folder it is in now."""
    return _entry_payload("move_entry", entry, parent_id=entry.parent_id)


def profile_payload(old_values: dict[str, str]) -> dict[str, Any]:
    """Set these profile fields back to these values."""
    return {"op": "profile", "fields": old_values}


def perform_undo(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    """Reverse one action; return what was done, or raise UndoRefused."""
    inverse = _INVERSES.get(str(payload.get("op")))
    if inverse is None:
        logger.error("user %d: no inverse for undo payload %r", user_id, payload)
        raise UndoRefused("This action cannot be undone.")
    return inverse(store, user_id, payload, now)


def _owner(store: SyncStore, user_id: int, payload: dict[str, Any]) -> FileOwner:
    """Whose entry the payload names, if the user may still change that owner's files."""
    if payload.get("org_id") is None:
        return FileOwner(user_id=user_id)
    membership = store.membership(user_id, int(payload["org_id"]))
    if membership is None:
        raise UndoRefused("You are no longer a member of that organisation; nothing changed.")
    if membership.role not in COMMANDING_ROLES:
        raise UndoRefused(f"Your role in {membership.org.name} ({membership.role}) no longer "
                          "lets you change its files; nothing changed.")
    return FileOwner(org_id=membership.org.id)


def _entry(store: SyncStore, user_id: int, payload: dict[str, Any]) -> FileEntry:
    entry = store.file_entry(_owner(store, user_id, payload), int(payload["entry_id"]),
                             include_trashed=True)
    if entry is None:
        raise UndoRefused("It no longer exists; nothing changed.")
    return entry


def _live_entry(store: SyncStore, user_id: int, payload: dict[str, Any]) -> FileEntry:
    entry = _entry(store, user_id, payload)
    if entry.deleted_at is not None:
        raise UndoRefused(f"{_label(entry)} is in the trash; restore it first. Nothing changed.")
    return entry


def _restore(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    entry = _entry(store, user_id, payload)
    try:
        restored = entry.deleted_at is not None and store.restore_entry(entry.owner, entry.id)
    except FileStoreError as error:  # its folder has an entry with its name now
        raise UndoRefused(f"{error}; nothing changed.") from error
    if not restored:
        raise UndoRefused(f"{_label(entry)} is not in the trash any more; nothing changed.")
    return f"restored {_label(entry)}"


def _trash(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    entry = _entry(store, user_id, payload)
    if entry.deleted_at is not None or not store.trash_entry(entry.owner, entry.id, now):
        raise UndoRefused(f"{_label(entry)} is in the trash already; nothing changed.")
    return f"moved {_label(entry)} to the trash"


def _rename(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    entry = _live_entry(store, user_id, payload)
    try:
        store.rename_entry(entry.owner, entry.id, str(payload["name"]))
    except FileStoreError as error:
        raise UndoRefused(f"{error}; nothing changed.") from error
    return f"renamed {_label(entry)} back to “{payload['name']}”"


def _move(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    entry = _live_entry(store, user_id, payload)
    parent_id = payload.get("parent_id")
    try:
        store.move_entry(entry.owner, entry.id, None if parent_id is None else int(parent_id))
    except DuplicateName as error:
        raise UndoRefused(f"{error}; nothing changed.") from error
    except FileStoreError as error:
        # Its old folder was trashed or deleted since.
        raise UndoRefused(f"The folder {_label(entry)} was in is gone or in the trash; "
                          "nothing changed.") from error
    return f"moved {_label(entry)} back"


def _profile(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    user = store.user_by_id(user_id)
    if user is None:
        raise UndoRefused("Your account is gone; nothing changed.")
    current = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    old = {key: str(value) for key, value in payload["fields"].items() if key in PROFILE_FIELDS}
    try:
        store.update_user_profile(user_id, **(current | old))
    except EmailTaken as error:
        raise UndoRefused(f"Another account uses {old.get('email')} now; "
                          "nothing changed.") from error
    return "set your " + ", ".join(PROFILE_FIELDS[key] for key in old) + " back"


def printer_name_payload(device_id: str, old_name: str) -> dict[str, Any]:
    """Undo payload for renaming a printer: its old name."""
    return {"op": "rename_printer", "device_id": device_id, "name": old_name}


def _rename_printer(store: SyncStore, user_id: int, payload: dict[str, Any], now: float) -> str:
    device_id, old_name = str(payload["device_id"]), str(payload["name"])
    printer = store.printer_for_user(user_id, device_id)
    if printer is None:
        raise UndoRefused("That printer has been removed; nothing changed.")
    if printer.role not in MANAGING_ROLES:
        raise UndoRefused("Your role no longer lets you rename this printer; nothing changed.")
    store.rename_device(device_id, old_name)
    return f"named the printer “{old_name}” again"


def downtime_logging_payload(device_id: str, was_enabled: bool) -> dict[str, Any]:
    """Undo payload for switching a printer's downtime logging: the value before."""
    return {"op": "downtime_logging", "device_id": device_id, "enabled": was_enabled}


def _downtime_logging(store: SyncStore, user_id: int, payload: dict[str, Any],
                      now: float) -> str:
    device_id, enabled = str(payload["device_id"]), bool(payload["enabled"])
    printer = store.printer_for_user(user_id, device_id)
    if printer is None:
        raise UndoRefused("That printer has been removed; nothing changed.")
    if printer.role not in COMMANDING_ROLES:
        raise UndoRefused("Your role no longer lets you change this printer; nothing changed.")
    # The scheduler delivers the restored value to the printer (device_settings.py).
    store.set_downtime_logging(device_id, enabled, user_id, now)
    return f"turned downtime logging {'on' if enabled else 'off'} again"


def _label(entry: FileEntry) -> str:
    return f"{entry.kind} “{entry.name}”"


_INVERSES: dict[str, Callable[[SyncStore, int, dict[str, Any], float], str]] = {
    "restore_entry": _restore,
    "trash_entry": _trash,
    "rename_entry": _rename,
    "move_entry": _move,
    "profile": _profile,
    "rename_printer": _rename_printer,
    "downtime_logging": _downtime_logging,
    **ORG_INVERSES,
}
