"""What a page says when the store is out of reach (503, not a traceback) or an action is refused (403)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import Forbidden

from storage import BackendUnavailable

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = ("The database is unavailable right now. Nothing you sent was lost; "
                       "please try again in a moment.")


def init_errors(app: Flask) -> None:
    """Answer every request that finds the store unreachable with 503 and a clear message."""

    @app.errorhandler(Forbidden)
    def forbidden(error: Forbidden) -> ResponseReturnValue:
        # A script (the printer page's controls) shows the reason from JSON;
        # a form post gets Werkzeug's page, which carries the reason too.
        if _wants_json():
            return jsonify(error="forbidden", message=error.description), 403
        return error.get_response()

    @app.errorhandler(BackendUnavailable)
    def store_unavailable(error: BackendUnavailable) -> tuple[Response | str, int, dict]:
        logger.warning("%s %s: %s", request.method, request.path, error)
        headers = {"Retry-After": "5"}
        if _wants_json():
            return jsonify(error="database_unavailable", message=UNAVAILABLE_MESSAGE), 503, headers
        # Rendered without Flask's context processors: flask-login's would
        # load the signed-in user from the database that just failed.
        page = app.jinja_env.get_template("unavailable.html").render(message=UNAVAILABLE_MESSAGE)
        return page, 503, headers


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json
