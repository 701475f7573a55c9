"""The action log in every backend: recorded whole, paged newest first, scoped, undone once."""

from __future__ import annotations

import pytest

from storage.actions import ActionDraft, LoggedAction

pytestmark = pytest.mark.timeout(30)


def _users(sync):
    return sync.create_user("a@example.org", "x"), sync.create_user("b@example.org", "x")


def _draft(user_id: int, at: float, kind: str = "file.delete", undo=None,
           org_id: int | None = None, **fields) -> ActionDraft:
    values = {"ip": "193.0.6.139", "country": "Netherlands", "region": "North Holland",
              "city": "Amsterdam", "target_type": "file", "target_id": "7",
              "summary": "Deleted file “cube.gcode”"} | fields
    return ActionDraft(at=at, user_id=user_id, org_id=org_id, kind=kind, undo=undo, **values)


def test_an_action_is_kept_with_every_field(stores):
    sync = stores.sync
    alice, _ = _users(sync)
    undo = {"op": "restore_entry", "entry_id": 7, "names": ["ä", 1.5, None]}
    logged = sync.record_action(_draft(alice, 1_700_000_000.25, undo=undo, org_id=42))
    assert isinstance(logged.id, int)
    assert logged == LoggedAction(
        id=logged.id, at=1_700_000_000.25, user_id=alice, org_id=42, ip="193.0.6.139",
        country="Netherlands", region="North Holland", city="Amsterdam", kind="file.delete",
        target_type="file", target_id="7", summary="Deleted file “cube.gcode”",
        undo_json=logged.undo_json, undone_at=None, undone_by=None)
    assert logged.undo == undo
    assert logged.can_undo
    assert logged.place == "Amsterdam, North Holland, Netherlands"
    assert sync.action_for_user(alice, logged.id) == logged


def test_an_action_without_place_or_undo(stores):
    sync = stores.sync
    alice, _ = _users(sync)
    logged = sync.record_action(_draft(alice, 5.0, kind="session.end", ip="127.0.0.1",
                                       country=None, region=None, city=None,
                                       target_type="session", target_id="3"))
    fetched = sync.action_for_user(alice, logged.id)
    assert (fetched.country, fetched.region, fetched.city, fetched.org_id) == (None,) * 4
    assert fetched.place == ""
    assert fetched.undo is None and not fetched.can_undo


def test_a_users_actions_come_newest_first_in_pages(stores):
    sync = stores.sync
    alice, bob = _users(sync)
    ids = [sync.record_action(_draft(alice, float(n), target_id=str(n))).id for n in range(7)]
    sync.record_action(_draft(bob, 3.5))
    first = sync.actions_for_user(alice, limit=3)
    assert [a.id for a in first] == ids[::-1][:3]
    second = sync.actions_for_user(alice, limit=3, before_id=first[-1].id)
    assert [a.id for a in second] == ids[::-1][3:6]
    last = sync.actions_for_user(alice, limit=3, before_id=second[-1].id)
    assert [a.id for a in last] == [ids[0]]
    assert sync.actions_for_user(alice, limit=3, before_id=ids[0]) == []
    assert all(a.user_id == alice for a in first + second + last)


def test_an_organisations_actions_are_every_members(stores):
    sync = stores.sync
    alice, bob = _users(sync)
    a = sync.record_action(_draft(alice, 1.0, org_id=9))
    sync.record_action(_draft(alice, 2.0))  # her own things, not the organisation's
    b = sync.record_action(_draft(bob, 3.0, org_id=9))
    sync.record_action(_draft(bob, 4.0, org_id=10))
    assert [(x.id, x.user_id) for x in sync.actions_for_org(9)] == [(b.id, bob), (a.id, alice)]
    assert [x.id for x in sync.actions_for_org(9, limit=1, before_id=b.id)] == [a.id]
    assert sync.actions_for_org(11) == []


def test_another_users_action_is_unknown(stores):
    sync = stores.sync
    alice, bob = _users(sync)
    logged = sync.record_action(_draft(alice, 1.0, undo={"op": "restore_entry"}))
    assert sync.action_for_user(bob, logged.id) is None
    assert sync.action_for_user(alice, logged.id + 1000) is None
    assert sync.mark_action_undone(bob, logged.id, bob, 2.0) is False
    assert sync.action_for_user(alice, logged.id).undone_at is None


def test_an_action_is_undone_only_once(stores):
    sync = stores.sync
    alice, bob = _users(sync)
    logged = sync.record_action(_draft(alice, 1.0, undo={"op": "restore_entry"}))
    assert sync.mark_action_undone(alice, logged.id, alice, 2.5) is True
    assert sync.mark_action_undone(alice, logged.id, bob, 3.5) is False
    undone = sync.action_for_user(alice, logged.id)
    assert (undone.undone_at, undone.undone_by) == (2.5, alice)
    assert not undone.can_undo


def test_an_action_without_undo_cannot_be_marked_undone(stores):
    sync = stores.sync
    alice, _ = _users(sync)
    logged = sync.record_action(_draft(alice, 1.0, kind="printer.add"))
    assert sync.mark_action_undone(alice, logged.id, alice, 2.0) is False
    assert sync.action_for_user(alice, logged.id).undone_at is None
