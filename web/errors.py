"""What a page says when the store is out of reach: 503, not a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request

from storage import BackendUnavailable

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = ("The database is unavailable right now. Nothing you sent was lost; "
                       "please try again in a moment.")


def init_errors(app: Flask) -> None:
    """Answer every request that finds the store unreachable with 503 and a clear message."""

    @app.errorhandler(BackendUnavailable)
    def store_unavailable(error: BackendUnavailable) -> tuple[Response | str, int, dict]:
        logger.warning("%s %s: %s", request.method, request.path, error)
        headers = {"Retry-After": "5"}
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return jsonify(error="database_unavailable", message=UNAVAILABLE_MESSAGE), 503, headers
        # Rendered without Flask's context processors: flask-login's would
        # load the signed-in user from the database that just failed.
        page = app.jinja_env.get_template("unavailable.html").render(message=UNAVAILABLE_MESSAGE)
        return page, 503, headers
