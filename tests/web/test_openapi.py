"""The OpenAPI description covers every /api/v1 route the app serves."""

from __future__ import annotations

import re

from flask import Flask

from web.openapi import API_PREFIX


def test_every_api_route_is_described(app: Flask):
    spec = app.test_client().get(f"{API_PREFIX}/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    described = {(path, method) for path, operations in spec["paths"].items()
                 for method in operations}
    served = {(re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(API_PREFIX + "/")
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert served and described == served
    operation_ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for operations in spec["paths"].values():
        for operation in operations.values():
            assert operation["summary"], operation["operationId"]


def test_path_parameters_are_declared_with_their_types(app: Flask):
    spec = app.test_client().get(f"{API_PREFIX}/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == names, path


def test_the_reference_page_lists_the_routes(app: Flask):
    page = app.test_client().get("/api/docs").get_data(as_text=True)
    assert "/api/v1/printers" in page and "openapi.json" in page
