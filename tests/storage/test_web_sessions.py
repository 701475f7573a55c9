"""Contract: web sign-in sessions, page views, failed sign-ins and unique emails."""

from __future__ import annotations

import pytest

from storage import EmailTaken


def test_a_session_is_found_by_its_token_hash_and_ended_once(stores):
    user = stores.sync.create_user("a@example.com", "h")
    session_id = stores.sync.open_web_session(user, "hash-1", "203.0.113.7", "Firefox", 100.0)
    found = stores.sync.web_session_by_token("hash-1")
    assert found is not None
    assert (found.id, found.user_id, found.ip, found.user_agent) == (
        session_id, user, "203.0.113.7", "Firefox")
    assert (found.started_at, found.last_activity_at, found.ended_at) == (100.0, 100.0, None)
    assert stores.sync.web_session_by_token("hash-2") is None

    assert stores.sync.end_web_session(session_id, user, 150.0)
    assert stores.sync.end_web_session(session_id, user, 190.0)  # again: still the user's
    ended = stores.sync.web_session_by_token("hash-1")
    assert ended is not None and ended.ended_at == 150.0


def test_a_user_cannot_end_or_read_another_users_session(stores):
    alice = stores.sync.create_user("alice@example.com", "h")
    bob = stores.sync.create_user("bob@example.com", "h")
    session_id = stores.sync.open_web_session(alice, "alice-token", "10.0.0.1", "", 1.0)
    stores.sync.record_web_activity(session_id, 2.0, "/printers")
    assert not stores.sync.end_web_session(session_id, bob, 3.0)
    assert stores.sync.page_views(session_id, bob) == []
    assert stores.sync.web_sessions_for_user(bob) == []
    session = stores.sync.web_session_by_token("alice-token")
    assert session is not None and session.ended_at is None


def test_activity_moves_last_activity_and_logs_page_views_in_order(stores):
    user = stores.sync.create_user("a@example.com", "h")
    session_id = stores.sync.open_web_session(user, "t", "10.0.0.1", "ua", 10.0)
    stores.sync.record_web_activity(session_id, 20.0, "/printers")
    stores.sync.record_web_activity(session_id, 25.0, None)  # activity without a page
    stores.sync.record_web_activity(session_id, 30.0, "/account/sessions")
    stores.sync.record_web_activity(session_id, 30.0, "/printers")
    stores.sync.record_web_activity(session_id, 5.0, None)  # late writer: never moves back
    [session] = stores.sync.web_sessions_for_user(user)
    assert session.last_activity_at == 30.0
    assert session.page_view_count == 3
    views = stores.sync.page_views(session_id, user)
    assert [(view.path, view.at) for view in views] == [
        ("/printers", 20.0), ("/account/sessions", 30.0), ("/printers", 30.0)]


def test_sessions_are_listed_newest_first_per_user(stores):
    alice = stores.sync.create_user("alice@example.com", "h")
    bob = stores.sync.create_user("bob@example.com", "h")
    first = stores.sync.open_web_session(alice, "a1", "10.0.0.1", "", 1.0)
    second = stores.sync.open_web_session(alice, "a2", "10.0.0.2", "", 2.0)
    stores.sync.open_web_session(bob, "b1", "10.0.0.3", "", 3.0)
    assert [s.id for s in stores.sync.web_sessions_for_user(alice)] == [second, first]


def test_a_token_hash_is_stored_once(stores):
    user = stores.sync.create_user("a@example.com", "h")
    stores.sync.open_web_session(user, "same", "10.0.0.1", "", 1.0)
    with pytest.raises(Exception):  # noqa: B017 - each backend's own integrity error
        stores.sync.open_web_session(user, "same", "10.0.0.1", "", 2.0)
    assert len(stores.sync.web_sessions_for_user(user)) == 1


def test_login_failures_are_counted_per_email_and_ip_within_the_window(stores):
    for at, email, ip in [(100.0, "Victim@Example.com", "10.0.0.1"),
                          (110.0, "victim@example.com", "10.0.0.2"),
                          (120.0, "other@example.com", "10.0.0.1"),
                          (50.0, "victim@example.com", "10.0.0.1")]:
        stores.sync.record_login_failure(email, ip, at)
    recent = stores.sync.login_failures("VICTIM@example.com", "10.0.0.1", since=60.0)
    assert (recent.by_email, recent.by_ip, recent.last_at) == (2, 2, 120.0)
    none = stores.sync.login_failures("new@example.com", "10.9.9.9", since=0.0)
    assert (none.by_email, none.by_ip, none.last_at) == (0, 0, None)

    stores.sync.clear_login_failures("victim@EXAMPLE.com")
    after = stores.sync.login_failures("victim@example.com", "10.0.0.1", since=0.0)
    assert (after.by_email, after.by_ip) == (0, 1)


def test_login_failures_older_than_a_day_are_forgotten(stores):
    stores.sync.record_login_failure("a@example.com", "10.0.0.1", 1000.0)
    stores.sync.record_login_failure("a@example.com", "10.0.0.1", 1000.0 + 2 * 86400)
    assert stores.sync.login_failures("a@example.com", "10.0.0.1", since=0.0).by_email == 1


def test_an_email_is_taken_once_whatever_its_case(stores):
    stores.sync.create_user("Ada@Example.com", "h", "Ada", "Lovelace")
    with pytest.raises(EmailTaken):
        stores.sync.create_user("ada@example.COM", "h2", "Ada", "Again")
    user = stores.sync.user_by_email("ada@example.com")
    assert user is not None and user.first_name == "Ada" and user.last_name == "Lovelace"
