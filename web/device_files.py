"""Print files fetched by a printer's agent, through a signed link made for one command.

The agent downloads the file a `start_print` command names by its URL (see
docs/protocol.md) and has no browser session, so the URL itself carries the
permission: the owner (a user or an organisation), the file and its SHA-256, signed with the app's
secret key and valid for a limited time. A link that is forged, expired, or
names a file since deleted answers 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

from flask import Blueprint, Response, abort, current_app, send_file, url_for

from storage.files import FileOwner

from .context import store, web_state
from .device_ip import remember_device_ip
from .file_views import contents

logger = logging.getLogger(__name__)

bp = Blueprint("device_files", __name__)

# Long enough for an agent that queues the download behind another; the
# agent verifies the SHA-256 whatever the link.
LINK_TTL_S = 6 * 3600
_SALT = b"printfleet device file link v1"


def _signature(body: str) -> str:
    secret = current_app.secret_key
    secret_bytes = secret if isinstance(secret, bytes) else str(secret).encode()
    key = hashlib.sha256(_SALT + secret_bytes).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def make_token(owner: FileOwner, entry_id: int, sha256: str, now: float,
               device_id: str | None = None) -> str:
    """A signed token naming one of a user's or an organisation's files (and the device
    it is for), valid for LINK_TTL_S."""
    # A user is named by their id alone, as in the links made before
    # organisations had files; an organisation as "org:<id>".
    named = owner.user_id if owner.user_id is not None else f"org:{owner.org_id}"
    claim: list = [named, entry_id, sha256, int(now + LINK_TTL_S)]
    payload = json.dumps(claim + ([device_id] if device_id else []), separators=(",", ":"))
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{_signature(body)}"


def read_token(token: str, now: float) -> tuple[FileOwner, int, str, str | None] | None:
    """(owner, file id, sha256, device id or None) of a valid, unexpired token; None otherwise."""
    body, _, signature = token.partition(".")
    if not hmac.compare_digest(signature, _signature(body)):
        return None
    try:
        named, entry_id, sha256, expires, *device = json.loads(
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        owner = (FileOwner(org_id=int(named[4:])) if str(named).startswith("org:")
                 else FileOwner(user_id=int(named)))
    except (ValueError, TypeError):
        return None
    if expires < now:
        return None
    return owner, int(entry_id), str(sha256), str(device[0]) if device else None


def download_url(owner: FileOwner, entry_id: int, sha256: str, now: float,
                 device_id: str | None = None) -> str:
    """The absolute link an agent downloads the file from."""
    token = make_token(owner, entry_id, sha256, now, device_id)
    public = web_state().settings.web.public_url.rstrip("/")
    if public:
        return public + url_for("device_files.download", token=token)
    return url_for("device_files.download", token=token, _external=True)


@bp.get("/device/files/<token>")
def download(token: str) -> Response:
    """Send the file a valid link names (no session: agents call this)."""
    claim = read_token(token, time.time())
    if claim is None:
        logger.warning("refused a device file download: bad or expired link")
        abort(404)
    owner, entry_id, sha256, device_id = claim
    entry = store().file_entry(owner, entry_id)
    if entry is None or entry.sha256 != sha256:
        abort(404)
    if device_id is not None:
        remember_device_ip(device_id)
    logger.info("device download of file %d of %s", entry_id, owner)
    return send_file(contents().path(owner, sha256), mimetype="text/x.gcode",
                     download_name=entry.name, conditional=True)
