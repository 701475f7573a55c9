"""Whether the signed-in user restricts processing, asked once per request.

The action log (no place), page-view logging and anything else that must
stop for a restricting user ask here; the flag is read from the store on
every request, so turning it on takes effect with the very next request.
"""

from __future__ import annotations

import logging

from flask import g
from flask_login import current_user

from storage import BackendUnavailable

from .context import store

logger = logging.getLogger(__name__)

_G_KEY = "printfleet_processing_restricted"


def current_user_restricted() -> bool:
    """True while the signed-in user restricts processing (signed out: False)."""
    if not current_user.is_authenticated:
        return False
    if _G_KEY not in g:
        try:
            restricted = store().is_processing_restricted(current_user.id)
        except BackendUnavailable as error:
            # Unknown: behave as restricted, so nothing is processed that must not be.
            logger.warning("restriction of user %d unknown, assumed on: %s",
                           current_user.id, error)
            restricted = True
        setattr(g, _G_KEY, restricted)
    return bool(getattr(g, _G_KEY))


def forget_for_this_request() -> None:
    """Drop the answer kept for this request (after the user changed their flag)."""
    g.pop(_G_KEY, None)
