"""Record what a signed-in session does: its last activity and the pages it visits."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, request
from flask_login import current_user

from storage import BackendUnavailable

from . import restriction
from .context import store
from .live import STREAM_ENDPOINTS

logger = logging.getLogger(__name__)

# Requests that are not pages move last activity at most this often, so an
# API poll does not write to the database every time.
ACTIVITY_RESOLUTION_S = 60.0
# Static files and the live stream are not pages a user visits.
_NOT_PAGES = frozenset({"static"}) | STREAM_ENDPOINTS


def record_activity(response: Response) -> Response:
    """Log a page view for an HTML page shown to a signed-in session."""
    # A failed response may come from an unreachable store: asking it who
    # the user is would turn the clear 503 into a 500.
    if response.status_code >= 500 or request.endpoint in _NOT_PAGES:
        return response
    try:
        _record(response)
    except BackendUnavailable as error:
        # The page itself was served; a lost page view must not fail it.
        logger.warning("page view of %s not recorded: %s", request.path, error)
    return response


def _record(response: Response) -> None:
    if not current_user.is_authenticated or current_user.session_id is None:
        return  # signed out, or an API token with no session to record
    now = time.time()
    is_page = (request.method == "GET" and response.status_code == 200
               and response.mimetype == "text/html")
    if is_page or now - current_user.last_activity_at >= ACTIVITY_RESOLUTION_S:
        # The path only: a query string may carry things not meant to be kept.
        # A user who restricts processing keeps their session; no page is logged.
        store().record_web_activity(current_user.session_id, now, request.path
                                    if is_page and not restriction.current_user_restricted() else None)


def init_activity(app: Flask) -> None:
    """Record activity after every request."""
    app.after_request(record_activity)
