"""A stopped PostgreSQL server gives pages a clear 503, and the app recovers when it returns."""

from __future__ import annotations

import httpx
import pytest

from storage.postgres import PostgresSyncStore
from web import create_app
from web.passwords import hash_password

from .conftest import ALICE, log_in, start_server

pytestmark = pytest.mark.timeout(90)


def test_pages_say_the_database_is_unavailable_and_work_again_after(settings,
                                                                     private_postgres_server):
    server = private_postgres_server
    store = PostgresSyncStore(server.dsn)
    store.migrate()
    store.start()
    store.create_user(ALICE[0], hash_password(ALICE[1]))
    web, thread = start_server(settings, create_app(settings, store))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{web.port}", timeout=15) as http:
            assert log_in(http, *ALICE).status_code in (200, 302, 303)
            assert http.get("/printers").status_code == 200

            server.stop("fast")
            page = http.get("/printers")
            api = http.get("/printers", headers={"Accept": "application/json"})
            server.start()
            after = http.get("/printers")
    finally:
        web.close()
        thread.join(10)
        store.stop()
    assert page.status_code == 503
    assert "database is unavailable" in page.text and "Traceback" not in page.text
    assert page.headers["Retry-After"] == "5"
    assert api.status_code == 503 and api.json()["error"] == "database_unavailable"
    assert after.status_code == 200  # the pool reconnected by itself
