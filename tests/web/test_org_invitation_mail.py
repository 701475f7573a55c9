"""Invitations mailed to the invited address, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from printfleet.settings import Settings, with_changes
from storage.sqlite import SqliteSyncStore
from tests.mail_server import MailSink, smtp_server, web_settings_sending_to
from tests.support import free_port, wait_until
from web.context import WebState

from .conftest import ALICE
from .flask_client import text
from .org_support import CAROL, add_carol, create_org, invitation_link, post, signed_in

pytestmark = pytest.mark.timeout(60)

_LINK = re.compile(r"https://print\.example\.com(/orgs/invitations/\S+)")


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, smtp: MailSink) -> Settings:
    return web_settings_sending_to(smtp, tmp_path)


def test_the_invited_address_gets_the_link_by_mail_and_it_lets_them_join(
        app: Flask, store: SqliteSyncStore, users, smtp: MailSink):
    store.update_user_profile(users[ALICE[0]], ALICE[0], "Alice", "Liddell")
    add_carol(store)
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    response = post(alice, f"/orgs/{org_id}/invitations",
                    {"email": CAROL[0], "role": "operator"})
    assert response.status_code == 201, text(response)
    page = text(response)
    assert 'data-field="invitation-mailed"' in page
    shown = invitation_link(page)

    (mail,) = smtp.wait_for(CAROL[0])
    assert mail["Subject"] == "[Printfleet] Join Acme Prints"
    assert mail["From"] == "fleet@example.com"
    body = mail.get_content()
    assert "Alice Liddell (alice@example.org) invites you to join “Acme Prints” on Printfleet " \
           "as operator." in body
    # The configured base, not the Host the request came with (localhost here).
    match = _LINK.search(body)
    assert match, body
    assert match.group(1) == shown and "localhost" not in body  # the token the page showed

    carol = signed_in(app, *CAROL)
    assert post(carol, match.group(1)).status_code == 302
    assert store.membership(store.user_by_email(CAROL[0]).id, org_id).role == "operator"
    assert [m["To"] for m in smtp.messages] == [CAROL[0]]


def test_a_mail_server_that_refuses_does_not_break_the_invitation_and_is_logged(
        app: Flask, store: SqliteSyncStore, users, web_state: WebState, caplog):
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    web_state.settings = with_changes(web_state.settings, mail={"port": free_port()})
    with caplog.at_level(logging.WARNING, logger="web.background_mail"):
        response = post(alice, f"/orgs/{org_id}/invitations",
                        {"email": "dave@example.org", "role": "viewer"})
        assert response.status_code == 201 and invitation_link(text(response))
        wait_until(lambda: any("not mailed" in r.getMessage() for r in caplog.records), 10,
                   "the failed invitation mail to be logged")
    (record,) = [r for r in caplog.records if r.name == "web.background_mail"]
    assert record.getMessage().startswith(f"invitation 1 to organisation {org_id} not mailed: ")
    assert "dave@example.org" not in record.getMessage()
    assert store.pending_invitations(org_id, 0.0)[0].email == "dave@example.org"


def test_without_mail_set_up_the_page_says_to_send_the_link_yourself(
        app: Flask, store: SqliteSyncStore, users, smtp: MailSink, web_state: WebState):
    web_state.settings = with_changes(web_state.settings, mail={"host": ""})
    alice = signed_in(app, *ALICE)
    org_id = create_org(alice)
    response = post(alice, f"/orgs/{org_id}/invitations",
                    {"email": "frank@example.org", "role": "viewer"})
    assert response.status_code == 201
    assert 'data-field="invitation-not-mailed"' in text(response)
    assert smtp.messages == []

