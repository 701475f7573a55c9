"""Back-off after repeated failed sign-ins, per email and per IP, kept in the database."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from flask import Flask

from printfleet.settings import Settings
from storage import LoginFailures
from storage.sqlite import SqliteSyncStore
from web import create_app
from web.login_backoff import retry_after

from .conftest import ALICE, BOB
from .flask_client import sign_in, text


def _fail(client, email: str, times: int, ip: str = "198.51.100.5") -> None:
    for _ in range(times):
        response = sign_in(client, email, "wrong password", environ_base={"REMOTE_ADDR": ip})
        assert response.status_code == 401


def test_five_failures_for_an_email_refuse_even_the_right_password(app: Flask, users):
    client = app.test_client()
    _fail(client, ALICE[0], 5)
    response = sign_in(client, *ALICE, environ_base={"REMOTE_ADDR": "198.51.100.5"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in text(response)
    assert 0 < int(response.headers["Retry-After"]) <= 30
    # From another network too: the email is being guessed.
    other = sign_in(app.test_client(), *ALICE, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert other.status_code == 429


def test_four_failures_still_let_the_right_password_in_and_reset_the_count(
        app: Flask, store: SqliteSyncStore, users):
    client = app.test_client()
    _fail(client, ALICE[0], 4)
    assert sign_in(client, *ALICE).status_code == 302
    assert store.login_failures(ALICE[0], "nobody", 0).by_email == 0


def test_five_failures_from_one_ip_refuse_other_emails_from_it(app: Flask, users):
    client = app.test_client()
    for email in ("a@example.org", "b@example.org", "c@example.org", "d@example.org",
                  "e@example.org"):
        _fail(client, email, 1, ip="203.0.113.50")
    response = sign_in(app.test_client(), *BOB, environ_base={"REMOTE_ADDR": "203.0.113.50"})
    assert response.status_code == 429
    assert sign_in(app.test_client(), *BOB,
                   environ_base={"REMOTE_ADDR": "203.0.113.51"}).status_code == 302


def test_the_back_off_holds_across_web_processes(settings: Settings, store: SqliteSyncStore,
                                                 db_path, users):
    _fail(create_app(settings, store).test_client(), ALICE[0], 5)
    other_store = SqliteSyncStore(db_path)
    try:
        response = sign_in(create_app(settings, other_store).test_client(), *ALICE)
        assert response.status_code == 429
    finally:
        other_store.stop()


def test_the_back_off_ends_once_the_delay_has_passed(app: Flask, db_path, users):
    client = app.test_client()
    _fail(client, ALICE[0], 5)
    with closing(sqlite3.connect(db_path)) as connection, connection:
        connection.execute("UPDATE login_failures SET at = at - 31")
    assert sign_in(client, *ALICE).status_code == 302


def test_the_delay_grows_with_each_failure_and_is_capped():
    now = 10_000.0
    delays = [retry_after(LoginFailures(count, 0, now), now) for count in range(4, 12)]
    assert delays == [0, 30, 60, 120, 240, 480, 900, 900]
    assert retry_after(LoginFailures(0, 6, now - 50), now) == 10
    assert retry_after(LoginFailures(5, 0, now - 31), now) == 0
