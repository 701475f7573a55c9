"""Sign-in sessions live in the database: ended or expired cookies stop working everywhere."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

from flask import Flask

from printfleet.settings import Settings
from storage.sqlite import SqliteSyncStore
from web import create_app
from web.sessions import SESSION_LIFETIME_S, hash_token

from .conftest import ALICE
from .flask_client import form_post, sign_in, text


def test_signing_in_stores_a_session_with_ip_user_agent_and_hashed_token(
        app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    response = sign_in(client, *ALICE, environ_base={"REMOTE_ADDR": "198.51.100.23"},
                       headers={"User-Agent": "TestBrowser/1.0"})
    assert response.status_code == 302
    [session] = store.web_sessions_for_user(users[ALICE[0]])
    assert (session.ip, session.user_agent, session.ended_at) == (
        "198.51.100.23", "TestBrowser/1.0", None)
    assert abs(session.started_at - time.time()) < 60
    stored = store.query_rows("SELECT token_hash FROM web_sessions", ())
    assert len(stored[0][0]) == 64  # a sha256 hex digest, never the token itself
    cookie = client.get_cookie("printfleet_session")
    assert cookie is not None and stored[0][0] not in cookie.value


def test_a_cookie_works_in_another_web_process_and_dies_there_after_sign_out(
        settings: Settings, store: SqliteSyncStore, db_path, users):
    first = create_app(settings, store)
    # A second app on its own store handle: another web process, or a restart.
    other_store = SqliteSyncStore(db_path)
    second = create_app(settings, other_store)
    try:
        client = first.test_client()
        sign_in(client, *ALICE)
        cookie = client.get_cookie("printfleet_session")
        assert cookie is not None
        copy = second.test_client()
        copy.set_cookie("printfleet_session", cookie.value)
        assert copy.get("/printers").status_code == 200

        form_post(client, "/printers", "/logout", {})
        assert copy.get("/printers").status_code == 302
        assert client.get("/printers").status_code == 302
        [session] = store.web_sessions_for_user(users[ALICE[0]])
        assert session.ended_at is not None
    finally:
        other_store.stop()


def test_an_expired_session_no_longer_signs_in(app: Flask, db_path, users):
    client = app.test_client()
    sign_in(client, *ALICE)
    assert client.get("/printers").status_code == 200
    with closing(sqlite3.connect(db_path)) as connection, connection:
        connection.execute("UPDATE web_sessions SET started_at = started_at - ?",
                           (SESSION_LIFETIME_S + 1,))
    assert client.get("/printers").status_code == 302


def test_page_views_are_recorded_for_html_pages_only(app: Flask, store: SqliteSyncStore,
                                                    users):
    client = app.test_client()
    sign_in(client, *ALICE)
    client.get("/printers")
    client.get("/printers?secret=1")
    client.get("/static/style.css").close()
    client.get("/api/v1/printers")
    client.get("/no-such-page")
    [session] = store.web_sessions_for_user(users[ALICE[0]])
    paths = [view.path for view in store.page_views(session.id, users[ALICE[0]])]
    # The sign-in redirect is no page; the query string is not kept.
    assert paths == ["/printers", "/printers"]


def test_the_live_stream_is_not_a_page_view(app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    sign_in(client, *ALICE)
    response = client.get("/printers/live", buffered=False)
    response.close()
    [session] = store.web_sessions_for_user(users[ALICE[0]])
    assert session.page_view_count == 0


def test_trusted_proxy_count_takes_the_client_ip_from_the_proxy_header(
        settings: Settings, store: SqliteSyncStore, users):
    client = create_app(settings, store).test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    sign_in(client, *ALICE, environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers=forwarded)
    proxied = settings.__class__(**{**_as_dict(settings), "web": settings.web.__class__(
        **{**_as_dict(settings.web), "trusted_proxy_count": 1})})
    behind_proxy = create_app(proxied, store).test_client()
    sign_in(behind_proxy, *ALICE, environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers=forwarded)
    ips = sorted(s.ip for s in store.web_sessions_for_user(users[ALICE[0]]))
    # Without trusted proxies the header is ignored: anyone can send it.
    assert ips == ["127.0.0.1", "203.0.113.9"]


def test_the_token_hash_is_sha256(app: Flask):
    assert hash_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def _as_dict(struct) -> dict:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}


def test_pages_show_a_link_to_the_sessions_page(app: Flask, users):
    client = app.test_client()
    sign_in(client, *ALICE)
    assert 'href="/account/sessions"' in text(client.get("/printers"))
