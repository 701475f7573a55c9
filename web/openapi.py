"""The JSON API's OpenAPI 3.1 description, built from the routes themselves.

Every rule under /api/v1 is described from its URL, methods and view
docstring (first line: summary; the rest: description), so a new API route
is documented the moment it exists. A view adds query parameters or a
request body with the `api_doc` decorator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from werkzeug.routing import Rule

API_PREFIX = "/api/v1"
_IGNORED_METHODS = {"HEAD", "OPTIONS"}
_CONVERTER_TYPES = {"int": "integer", "float": "number"}
_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

bp = Blueprint("openapi", __name__)
F = TypeVar("F", bound=Callable)


def api_doc(query: dict[str, str] | None = None,
            body: dict[str, Any] | None = None) -> Callable[[F], F]:
    """Describe a view's query parameters ({name: description}) and JSON body (a schema)."""
    def mark(view: F) -> F:
        view._api_doc = {"query": query or {}, "body": body}  # type: ignore[attr-defined]
        return view
    return mark


@bp.get(f"{API_PREFIX}/openapi.json")
def spec() -> ResponseReturnValue:
    """The OpenAPI description of this API."""
    return jsonify(build_spec(current_app))


@bp.get("/api/docs")
def docs() -> ResponseReturnValue:
    """The API reference as a page."""
    document = build_spec(current_app)
    return render_template("api_docs.html", spec=document)


def build_spec(app: Flask) -> dict[str, Any]:
    """Describe every /api/v1 route of the app."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        path = _PARAM.sub(r"{\g<name>}", rule.rule)
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, view, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Printfleet API", "version": "1",
                 "description": "Everything the Printfleet pages do, as JSON. Sign in with "
                                "a browser session (unsafe methods then need the "
                                "X-CSRF-Token header) or an API token from "
                                "/account/tokens as 'Authorization: Bearer <token>'. "
                                "Anything that is not yours answers 404."},
        "paths": paths,
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "printfleet_session"},
            "token": {"type": "http", "scheme": "bearer"},
        }},
        "security": [{"session": []}, {"token": []}],
    }


def _operation(rule: Rule, view: Callable, method: str) -> dict[str, Any]:
    summary, _, description = (view.__doc__ or rule.endpoint).strip().partition("\n")
    extra = getattr(view, "_api_doc", {"query": {}, "body": None})
    parameters = [{"name": match["name"], "in": "path", "required": True,
                   "schema": {"type": _CONVERTER_TYPES.get(match["converter"] or "", "string")}}
                  for match in _PARAM.finditer(rule.rule)]
    parameters += [{"name": name, "in": "query", "required": False,
                    "description": text, "schema": {"type": "string"}}
                   for name, text in extra["query"].items()]
    responses: dict[str, Any] = {"200": {"description": "OK"},
                                 "401": {"description": "not signed in"}}
    if parameters and any(p["in"] == "path" for p in parameters):
        responses["404"] = {"description": "no such item, or not yours"}
    if method not in ("GET",):
        responses["400"] = {"description": "invalid input; the body says why"}
    operation: dict[str, Any] = {"operationId": rule.endpoint, "summary": summary.strip(),
                                 "parameters": parameters, "responses": responses}
    if description.strip():
        operation["description"] = " ".join(description.split())
    if extra["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": extra["body"]}}}
    return operation
