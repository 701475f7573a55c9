"""Look for a user's identifiers in every table and every store on disk.

USER is an email or a user id. A live account's identifiers are read from
the database; an erased one's come from its receipt: the id, and, when the
email is given, the email and the HMACs of the names, device ids and IPs
(keyed by the email, so the receipt alone reveals none of them). Text is
split into tokens and each token's HMAC compared, so the same check works
for both. The user id is looked for only in the columns that hold user ids
(as a number it appears everywhere else by chance).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from storage import SyncStore
from storage.erasure import USER_ID_COLUMNS

from .erasure import (
    EXPORTS_DIRECTORY,
    email_sha256,
    identifier_hmac,
    identifier_key,
    identifiers_of,
)
from .settings import Settings

# Runs of characters that can be part of an email, an IP, a device id or a name.
TOKEN = re.compile(r"[\w.%+:@-]+")
TRIM = ".:-"


class UnknownUser(LookupError):
    """Neither a live account nor an erasure receipt matches USER."""


@dataclass
class Identifiers:
    """What to look for: a user id, and HMACs of text identifiers by kind."""

    user_id: int | None
    key: bytes
    hmacs: dict[str, set[str]]
    erased: bool
    notes: list[str] = field(default_factory=list)

    def kinds_in(self, text: str) -> list[str]:
        """The kinds of identifier found in a text value."""
        found: set[str] = set()
        for token in TOKEN.findall(text):
            found.update(self._token_kinds(token))
            trimmed = token.strip(TRIM)
            if trimmed != token:
                found.update(self._token_kinds(trimmed))
        return sorted(found)

    @functools.cached_property
    def _lookup(self) -> dict[str, str]:
        return {digest: kind for kind, digests in self.hmacs.items() for digest in digests}

    def _token_kinds(self, token: str) -> Iterable[str]:
        kind = self._lookup.get(identifier_hmac(self.key, token))
        return (kind,) if kind else ()


@dataclass
class Report:
    user: str
    erased: bool
    user_id_columns: dict[str, int]
    tables: dict[str, dict[str, int]]
    stores: dict[str, dict[str, int]]
    notes: list[str]

    @property
    def total(self) -> int:
        return (sum(self.user_id_columns.values())
                + sum(n for kinds in self.tables.values() for n in kinds.values())
                + sum(n for kinds in self.stores.values() for n in kinds.values()))

    def as_json(self) -> dict:
        return {"user": self.user, "erased": self.erased, "found": self.total,
                "user_id_columns": self.user_id_columns, "tables": self.tables,
                "stores": self.stores, "notes": self.notes}


def identifiers_for(store: SyncStore, user: str) -> Identifiers:
    """Resolve USER (an email or an id) to a live account's or an erasure receipt's identifiers."""
    user = user.strip()
    user_id = int(user) if user.isdigit() else None
    live = store.user_by_id(user_id) if user_id is not None else store.user_by_email(user)
    if live is not None:
        target = store.erasure_target(live.id)
        assert target is not None
        key = secrets.token_bytes(32)
        hmacs = {kind: {identifier_hmac(key, value) for value in values}
                 for kind, values in identifiers_of(target).items()}
        return Identifiers(live.id, key, hmacs, erased=False)
    email = None if user_id is not None else user
    receipts = store.erasure_receipts(email_sha256=email_sha256(email) if email else None,
                                      user_id=user_id)
    if not receipts:
        raise UnknownUser(f"no account and no erasure receipt for {user!r}")
    receipt = receipts[0]
    if email is None:
        return Identifiers(receipt.erased_user_id, b"", {}, erased=True, notes=[
            "erased account given by id: only user-id columns and stores can be checked; "
            "give the email to check names, device ids and IPs too"])
    key = identifier_key(email, receipt.salt)
    hmacs = {kind: set(digests) for kind, digests in receipt.identifier_hmacs.items()}
    hmacs["email"] = {identifier_hmac(key, email)}
    return Identifiers(receipt.erased_user_id, key, hmacs, erased=True)


def verify_erasure(store: SyncStore, settings: Settings, user: str) -> Report:
    """Scan every table and every store for USER's identifiers."""
    identifiers = identifiers_for(store, user)
    id_counts = (store.count_user_id(identifiers.user_id, USER_ID_COLUMNS)
                 if identifiers.user_id is not None else {})
    tables = store.scan_text(identifiers.kinds_in) if identifiers.hmacs else {}
    stores = {name: found for name, root in stores_of(settings).items()
              if (found := scan_store(root, identifiers, user_dir=name == "files"))}
    return Report(user, identifiers.erased, id_counts, tables, stores, identifiers.notes)


def stores_of(settings: Settings) -> dict[str, Path]:
    return {"files": settings.files_dir, "camera": settings.camera_dir,
            "exports": settings.data_path / EXPORTS_DIRECTORY}


def scan_store(root: Path, identifiers: Identifiers, user_dir: bool) -> dict[str, int]:
    """Count paths under root naming an identifier (and, in the files store, the user's folder)."""
    found: dict[str, int] = {}
    if not root.is_dir():
        return found
    if user_dir and identifiers.user_id is not None:
        folder = root / str(identifiers.user_id)
        if folder.exists():
            found["user_id"] = 1 + sum(1 for _ in folder.rglob("*"))
    for path in root.rglob("*"):
        for kind in identifiers.kinds_in(str(path.relative_to(root))):
            found[kind] = found.get(kind, 0) + 1
    return found
