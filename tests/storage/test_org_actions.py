"""An organisation's action log in every backend: scoped to it, with who, undone once; printer returns."""

from __future__ import annotations

import time

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, JobEvent, Presence
from storage import Accepted, IssuedCommand
from storage.actions import ActionDraft
from storage.orgs import OrgProfile

pytestmark = pytest.mark.timeout(30)


def _draft(user_id: int, org_id: int | None, kind: str = "member.role", undo=None) -> ActionDraft:
    return ActionDraft(at=1.0, user_id=user_id, org_id=org_id, ip="193.0.6.139",
                       country="Netherlands", region=None, city="Amsterdam", kind=kind,
                       target_type="user", target_id="1", summary=f"did {kind}", undo=undo)


def _setup(sync):
    alice = sync.create_user("alice@example.org", "x", "Alice", "Liddell")
    bob = sync.create_user("bob@example.org", "x")
    acme = sync.create_organisation(alice, OrgProfile(name="Acme"), 1.0)
    other = sync.create_organisation(bob, OrgProfile(name="Other"), 1.0)
    invitation = sync.create_invitation(acme.id, "bob@example.org", "admin", "h-bob", alice,
                                        1.0, 100.0)
    assert sync.accept_invitation(invitation.id, bob, 2.0)
    return alice, bob, acme.id, other.id


def test_the_log_holds_only_the_organisations_actions_newest_first_with_who(stores):
    sync = stores.sync
    alice, bob, acme, other = _setup(sync)
    first = sync.record_action(_draft(alice, acme, "org.create"))
    sync.record_action(_draft(alice, None, "file.delete"))  # personal: never in an org's log
    sync.record_action(_draft(bob, other, "org.create"))
    second = sync.record_action(_draft(bob, acme, "member.invite"))

    log = sync.org_log(acme)
    assert [(e.action.id, e.action.kind) for e in log] == [(second.id, "member.invite"),
                                                           (first.id, "org.create")]
    assert [(e.who, e.email) for e in log] == [("bob@example.org", "bob@example.org"),
                                               ("Alice Liddell", "alice@example.org")]
    assert log[0].action == second and log[0].action.place == "Amsterdam, Netherlands"
    assert [e.action.id for e in sync.org_log(acme, limit=1)] == [second.id]
    assert [e.action.id for e in sync.org_log(acme, limit=1, before_id=second.id)] == [first.id]
    assert sync.org_log(acme, before_id=first.id) == []


def test_an_action_is_found_and_undone_only_through_its_own_organisation(stores):
    sync = stores.sync
    alice, bob, acme, other = _setup(sync)
    undo = {"op": "org_role", "org_id": acme, "user_id": bob, "role": "admin"}
    action = sync.record_action(_draft(alice, acme, undo=undo))
    personal = sync.record_action(_draft(alice, None, undo={"op": "restore_entry"}))
    plain = sync.record_action(_draft(alice, acme, "member.leave"))

    assert sync.org_action(acme, action.id) == action
    assert sync.org_action(other, action.id) is None
    assert sync.org_action(acme, personal.id) is None
    assert not sync.mark_org_action_undone(other, action.id, bob, 5.0)
    assert not sync.mark_org_action_undone(acme, personal.id, bob, 5.0)
    assert not sync.mark_org_action_undone(acme, plain.id, bob, 5.0), "nothing to undo"
    assert sync.mark_org_action_undone(acme, action.id, bob, 5.0)
    assert not sync.mark_org_action_undone(acme, action.id, bob, 6.0), "once only"
    undone = sync.org_action(acme, action.id)
    assert (undone.undone_at, undone.undone_by) == (5.0, bob)
    assert sync.action_for_user(alice, action.id) == undone  # the author's log says so too


def test_a_printer_goes_back_only_to_a_member_and_only_from_where_it_is(stores):
    sync = stores.sync
    alice, bob, acme, other = _setup(sync)
    carol = sync.create_user("carol@example.org", "x")
    sync.add_device("p-1", "Prusa", alice, "$7$h")
    assert sync.move_printer_to_org(alice, "p-1", acme)

    assert not sync.return_printer_to_user(other, "p-1", bob), "not that organisation's"
    assert not sync.return_printer_to_user(acme, "p-1", carol), "carol is no member"
    assert sync.return_printer_to_user(acme, "p-1", alice)
    assert sync.printer_for_user(alice, "p-1").org_id is None
    assert sync.printer_for_user(bob, "p-1") is None

    assert not sync.return_printer_to_org(acme, "p-1", bob), "bob does not hold it"
    assert sync.return_printer_to_org(acme, "p-1", alice)
    assert sync.printer_for_user(bob, "p-1").org_id == acme
    assert not sync.return_printer_to_org(acme, "p-1", alice), "in the organisation already"


async def test_notification_events_name_the_organisation_owning_the_printer(stores):
    # The scan tells the organisation's owners and admins from this (printfleet/notify/scan.py).
    sync = stores.sync
    alice, bob, acme, _ = _setup(sync)
    sync.add_device("p-1", "Prusa", alice, "$7$h")
    sync.add_device("p-2", "Mine", alice, "$7$h")
    assert sync.move_printer_to_org(alice, "p-1", acme)
    now = time.time()
    sync.record_command(IssuedCommand("cmd-1", "p-1", bob, "start_print", {}, now, now + 60))
    batch = [Accepted("p-1", Family.JOB, _job(1, "started", "cmd-1"), now),
             Accepted("p-1", Family.JOB, _job(2, "finished"), now),
             Accepted("p-2", Family.JOB, _job(1, "started"), now),
             Accepted("p-2", Family.PRESENCE, Presence(v=SCHEMA_VERSION, ts=now, seq=2,
                                                       status="offline"), now + 1)]
    await stores.ingest.write_batch(batch, [])

    (ended,) = sync.ended_jobs_received_since(now - 1)
    assert (ended.device_id, ended.owner_user_id, ended.started_by_user_id,
            ended.owner_org_id) == ("p-1", None, bob, acme)
    (offline,) = sync.offline_during_print_since(now - 1)
    assert (offline.device_id, offline.owner_user_id, offline.owner_org_id) == ("p-2", alice, None)


def _job(seq: int, kind: str, transaction: str | None = None) -> JobEvent:
    return JobEvent(v=SCHEMA_VERSION, ts=time.time(), seq=seq, job_id="j-1", event=kind,
                    file_name="gear.gcode", origin="printfleet" if transaction else "sd_card",
                    command_transaction=transaction)
