"""Delete an account: revoke its printers, erase every table's rows, remove its files.

The order matters: the printers' MQTT credentials go first (the broker
drops them), so no device writes new rows while its old ones are erased;
then one transaction applies every table's rule (storage/erasure.py) and
keeps a receipt; then the files on disk go.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from storage import SyncStore
from storage.erasure import ErasureResult, ErasureTarget, LastOwner
from storage.erasure_scan import ErasureReceipt

from .provisioning import DeviceProvisioner
from .settings import Settings

logger = logging.getLogger(__name__)

EXPORTS_DIRECTORY = "exports"  # as printfleet/retention.py keeps them
PSEUDONYM_PREFIX = "erased-user-"
MIN_NAME_LENGTH = 2


class NoSuchUser(LookupError):
    """No account has this id."""


@dataclass(frozen=True)
class ErasureOutcome:
    receipt: ErasureReceipt
    result: ErasureResult
    revoked_devices: list[str]
    files_removed: int


def email_sha256(email: str) -> str:
    """The receipt's name for an email: the sha256 of its trimmed, lower-cased form."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def identifier_key(email: str, salt: str) -> bytes:
    """The HMAC key of a receipt's identifiers: only someone who knows the email has it."""
    return hashlib.scrypt(email.strip().lower().encode(), salt=bytes.fromhex(salt),
                          n=2 ** 14, r=8, p=1, dklen=32)


def normalise(identifier: str) -> str:
    return identifier.strip().casefold()


def identifier_hmac(key: bytes, identifier: str) -> str:
    return hmac.new(key, normalise(identifier).encode(), hashlib.sha256).hexdigest()


def identifiers_of(target: ErasureTarget) -> dict[str, list[str]]:
    """What identifies the user in free text, by kind."""
    names = [n for n in (target.first_name, target.last_name) if len(n) >= MIN_NAME_LENGTH]
    return {"email": [target.email], "name": names, "device_id": list(target.device_ids),
            "ip": list(target.ips)}


def build_receipt(target: ErasureTarget, now: float) -> ErasureReceipt:
    salt = secrets.token_hex(16)
    key = identifier_key(target.email, salt)
    hmacs = {kind: sorted(identifier_hmac(key, value) for value in values)
             for kind, values in identifiers_of(target).items() if kind != "email"}
    return ErasureReceipt(erased_user_id=target.user_id, email_sha256=email_sha256(target.email),
                          pseudonym=PSEUDONYM_PREFIX + secrets.token_hex(8),
                          pseudonym_user_id=None, salt=salt, identifier_hmacs=hmacs,
                          erased_at=now)


def erase_account(store: SyncStore, settings: Settings, provisioner: DeviceProvisioner,
                  user_id: int, now: float) -> ErasureOutcome:
    """Erase a user's account and everything about them (LastOwner: nothing changes)."""
    target = store.erasure_target(user_id)
    if target is None:
        raise NoSuchUser(f"no user with id {user_id}")
    blocking = store.last_owned_orgs(user_id)
    if blocking:
        raise LastOwner(blocking)
    revoked = [device for device in target.device_ids if store.revoke_device(device)]
    if revoked:
        # One reload for all of them: the broker drops their connections now.
        provisioner.sync_broker()
    receipt = build_receipt(target, now)
    result = store.erase_user(target, receipt)
    receipt = replace(receipt, pseudonym_user_id=result.pseudonym_user_id)
    provisioner.sync_broker()
    removed = _remove_files(settings, target, result)
    logger.info("erased user %d (%d rows, %d files, %d printers revoked); pseudonym %s",
                user_id, sum(result.rows.values()), removed, len(revoked), receipt.pseudonym)
    return ErasureOutcome(receipt, result, revoked, removed)


def _remove_files(settings: Settings, target: ErasureTarget, result: ErasureResult) -> int:
    removed = _remove_tree(settings.files_dir / str(int(target.user_id)))
    camera = settings.camera_dir
    for relative in result.camera_paths:
        removed += _unlink(camera, relative)
    for device_id in target.device_ids:  # validated ids: one directory level each
        removed += _remove_tree(camera / device_id)
    exports = settings.data_path / EXPORTS_DIRECTORY
    for relative in result.export_paths:
        removed += _unlink(exports, relative)
    return removed


def _unlink(root: Path, relative: str) -> int:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return 0
    path.unlink()
    return 1


def _remove_tree(path: Path) -> int:
    if not path.is_dir():
        return 0
    count = sum(1 for item in path.rglob("*") if item.is_file())
    shutil.rmtree(path)
    return count
