"""Helpers for tests that drive the app through Flask's test client."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .conftest import csrf_from


def form_post(client: FlaskClient, page: str, url: str, data: dict[str, str],
              **kwargs) -> TestResponse:
    """Post a form with the CSRF token of the page it is on."""
    token = csrf_from(client.get(page, **kwargs).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def sign_in(client: FlaskClient, email: str, password: str, **kwargs) -> TestResponse:
    """Sign in through the real form."""
    return form_post(client, "/login", "/login", {"email": email, "password": password},
                     **kwargs)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
