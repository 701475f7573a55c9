"""The user's API tokens: create one (shown once), see when each was used, revoke."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .context import store
from .token_auth import new_token

logger = logging.getLogger(__name__)

bp = Blueprint("api_tokens", __name__, url_prefix="/account/tokens")

MAX_NAME_LENGTH = 80


@bp.get("")
@login_required
def page() -> ResponseReturnValue:
    """List the user's API tokens."""
    return _render()


@bp.post("")
@login_required
def create() -> ResponseReturnValue:
    """Create a token and show it once."""
    name = request.form.get("name", "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        error = f"Give the token a name of 1 to {MAX_NAME_LENGTH} characters, e.g. 'slicer'."
        return _render(error=error, name=name), 400
    token, token_hash, prefix = new_token()
    created = store().create_api_token(current_user.id, name, token_hash, prefix, time.time())
    logger.info("user %d created API token %d", current_user.id, created.id)
    return _render(new_token=token, new_name=name)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke one of the user's tokens; it stops working at once."""
    if not store().revoke_api_token(current_user.id, token_id, time.time()):
        abort(404)
    logger.info("user %d revoked API token %d", current_user.id, token_id)
    return redirect(url_for("api_tokens.page"))


def _render(**extra) -> str:
    tokens = store().api_tokens_for_user(current_user.id)
    return render_template("account_tokens.html", tokens=tokens,
                           **{"error": None, "name": "", "new_token": None, **extra})
