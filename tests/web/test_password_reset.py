"""Password reset by email, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from printfleet.settings import Settings
from storage.sqlite import SqliteSyncStore
from tests.mail_server import MailSink, smtp_server, web_settings_sending_to
from web.sessions import hash_token

from .conftest import ALICE, BOB
from .flask_client import form_post, sign_in, text

pytestmark = pytest.mark.timeout(60)

NEW_PASSWORD = "a brand new long passphrase"
_LINK = re.compile(r"https://print\.example\.com/password/reset/(\S+)")
_CSRF = re.compile(r'value="[^"]{40,}"')


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, smtp: MailSink) -> Settings:
    return web_settings_sending_to(smtp, tmp_path,
                                   PRINTFLEET_PASSWORD_RESET__MAX_PER_EMAIL_PER_HOUR="3",
                                   PRINTFLEET_PASSWORD_RESET__MAX_PER_IP_PER_HOUR="5")


def ask_for_link(client, email: str, ip: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": ip}
    return form_post(client, "/password/forgot", "/password/forgot", {"email": email},
                     environ_base=environ)


def mailed_token(smtp: MailSink, email: str, count: int = 1) -> str:
    mail = smtp.wait_for(email, count)[-1]
    assert mail["Subject"] == "[Printfleet] Reset your password"
    match = _LINK.search(mail.get_content())
    assert match, mail.get_content()
    return match.group(1)


def test_a_mailed_link_sets_a_new_password_once_and_ends_every_session(
        app: Flask, store: SqliteSyncStore, users, smtp: MailSink):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, *ALICE)
    sign_in(phone, *ALICE)
    assert 'data-action="forgot-password"' in text(app.test_client().get("/login"))

    asked = ask_for_link(app.test_client(), ALICE[0].upper())
    assert asked.status_code == 200 and 'data-field="reset-sent"' in text(asked)
    token = mailed_token(smtp, ALICE[0])
    # Only the token's hash is stored.
    assert store.query_rows("SELECT token_hash FROM password_reset_tokens", ()) == [
        (hashlib.sha256(token.encode()).hexdigest(),)]

    browser = app.test_client()
    form = browser.get(f"/password/reset/{token}")
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    done = form_post(browser, f"/password/reset/{token}", f"/password/reset/{token}",
                     {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code == 200 and 'data-field="reset-done"' in text(done)

    for signed_in in (laptop, phone):
        assert signed_in.get("/account/profile").status_code == 302  # signed out
    assert sign_in(app.test_client(), *ALICE).status_code == 401
    assert sign_in(app.test_client(), ALICE[0], NEW_PASSWORD).status_code == 302
    again = browser.get(f"/password/reset/{token}")
    assert again.status_code == 410 and 'data-field="reset-invalid"' in text(again)
    assert sign_in(app.test_client(), *BOB).status_code == 302  # nobody else changed


def test_the_answer_is_the_same_whether_or_not_the_account_exists(
        app: Flask, store: SqliteSyncStore, users, smtp: MailSink):
    known = ask_for_link(app.test_client(), ALICE[0])
    unknown = ask_for_link(app.test_client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert _CSRF.sub("", text(known)) == _CSRF.sub("", text(unknown))
    smtp.wait_for(ALICE[0])
    assert [m["To"] for m in smtp.messages] == [ALICE[0]]


def test_expired_links_and_bad_passwords_change_nothing(
        app: Flask, store: SqliteSyncStore, users, smtp: MailSink):
    now = time.time()
    store.add_password_reset_token(users[ALICE[0]], hash_token("old-link"), now - 7200, now - 1)
    assert app.test_client().get("/password/reset/old-link").status_code == 410
    assert app.test_client().get("/password/reset/never-issued").status_code == 410

    ask_for_link(app.test_client(), ALICE[0])
    token = mailed_token(smtp, ALICE[0])
    client = app.test_client()
    url = f"/password/reset/{token}"
    short = form_post(client, url, url, {"password": "short", "password_again": "short"})
    differ = form_post(client, url, url, {"password": NEW_PASSWORD, "password_again": "other"})
    assert short.status_code == differ.status_code == 400
    assert "at least 12 characters" in text(short) and "differ" in text(differ)
    assert client.post(url, data={"password": NEW_PASSWORD,
                                  "password_again": NEW_PASSWORD}).status_code == 400  # no CSRF
    assert sign_in(app.test_client(), *ALICE).status_code == 302  # old password still works
    assert client.get(url).status_code == 200  # and the link still does


def test_requests_are_limited_per_email_and_per_ip(app: Flask, users, smtp: MailSink):
    client = app.test_client()
    answers = [ask_for_link(client, "nobody@example.org", ip="10.0.0.1").status_code
               for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    # Other addresses from the same network: 5 per IP and hour, 3 were used.
    answers = [ask_for_link(client, f"x{n}@example.org", ip="10.0.0.1").status_code
               for n in range(3)]
    assert answers == [200, 200, 429]
    limited = ask_for_link(client, ALICE[0], ip="10.0.0.1")
    assert limited.status_code == 429 and "Too many reset requests" in text(limited)
    assert ask_for_link(client, ALICE[0], ip="10.0.0.2").status_code == 200
    smtp.wait_for(ALICE[0])
