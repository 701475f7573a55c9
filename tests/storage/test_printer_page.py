"""The printer page's reads in every backend: newest facts, a command's acks, server-owned settings."""

from __future__ import annotations

import time

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import (
    SCHEMA_VERSION,
    BedMesh,
    CommandAck,
    Facts,
    Firmware,
    OctoPrintFacts,
    OctoPrintPlugin,
    Presence,
)
from storage import Accepted, IssuedCommand
from storage.files import FileOwner

pytestmark = pytest.mark.timeout(30)


def facts(seq: int, hostname: str, mesh: BedMesh | None = None) -> Facts:
    return Facts(v=SCHEMA_VERSION, ts=time.time(), seq=seq, hostname=hostname,
                 agent_version="1.2.3", local_ip="192.168.1.40", wifi_ssid="workshop",
                 pi_model="Raspberry Pi 4 Model B Rev 1.4",
                 firmware=Firmware(name="Marlin", version="2.1.2"),
                 octoprint=OctoPrintFacts(version="1.10.0", plugins=[
                     OctoPrintPlugin(key="bedlevelvisualizer", name="Bed Visualizer",
                                     version="1.1.1")]),
                 bed_mesh=mesh)


def ack(seq: int, transaction: str, status: str, error: str | None = None,
        data: dict | None = None) -> Accepted:
    message = CommandAck(v=SCHEMA_VERSION, ts=1000.0 + seq, seq=seq, transaction=transaction,
                         status=status, error=error, data=data)
    return Accepted("p-1", Family.ACK, message, time.time())


def command(transaction: str, user: int, issued_at: float, kind: str = "pause",
            device_id: str = "p-1") -> IssuedCommand:
    return IssuedCommand(transaction, device_id, user, kind, {}, issued_at, issued_at + 120)


def _setup(sync) -> int:
    user = sync.create_user("a@example.org", "x")
    sync.add_device("p-1", "One", user, "h")
    sync.add_device("p-2", "Two", user, "h")
    return user


async def test_the_newest_facts_message_is_read_back_whole(stores):
    sync = stores.sync
    _setup(sync)
    assert sync.latest_facts("p-1") is None
    mesh = BedMesh(rows=[[0.1, -0.05], [0.0, 0.2]], min_x=10, max_x=200, min_y=10, max_y=200)
    await stores.ingest.write_batch([
        Accepted("p-1", Family.FACTS, facts(2, "newer", mesh), time.time()),
        Accepted("p-1", Family.FACTS, facts(1, "older"), time.time()),
        Accepted("p-2", Family.FACTS, facts(9, "other"), time.time()),
    ], [])
    newest = sync.latest_facts("p-1")
    assert newest is not None and newest.seq == 2
    assert newest.facts["hostname"] == "newer"
    assert newest.facts["local_ip"] == "192.168.1.40"
    assert newest.facts["wifi_ssid"] == "workshop"
    assert newest.facts["pi_model"].startswith("Raspberry Pi 4")
    assert newest.facts["firmware"] == {"name": "Marlin", "version": "2.1.2"}
    assert newest.facts["octoprint"]["plugins"][0]["key"] == "bedlevelvisualizer"
    assert newest.facts["bed_mesh"]["rows"] == [[0.1, -0.05], [0.0, 0.2]]


async def test_a_commands_state_follows_its_acks(stores):
    sync = stores.sync
    user = _setup(sync)
    now = time.time()
    sync.record_command(command("t-1", user, now - 10))
    sync.record_command(command("t-2", user, now - 5, kind="send_gcode"))
    sync.record_command(command("t-3", user, now, device_id="p-2"))
    assert sync.command_state("p-1", "t-1").status == "pending"
    await stores.ingest.write_batch([ack(1, "t-1", "accepted")], [])
    assert sync.command_state("p-1", "t-1").status == "accepted"
    await stores.ingest.write_batch([ack(2, "t-1", "failed", error="printer is not printing"),
                                     ack(3, "t-2", "accepted"),
                                     ack(4, "t-2", "finished", data={"replies": ["ok"]})], [])
    failed = sync.command_state("p-1", "t-1")
    assert failed.status == "failed"
    assert failed.last_ack.error == "printer is not printing"
    assert [a.status for a in failed.acks] == ["accepted", "failed"]
    done = sync.command_state("p-1", "t-2")
    assert (done.status, done.kind, done.last_ack.data) == ("finished", "send_gcode",
                                                            {"replies": ["ok"]})
    assert sync.command_state("p-1", "t-3") is None, "another device's command"
    assert sync.command_state("p-1", "nope") is None
    assert [c.transaction_id for c in sync.recent_commands("p-1")] == ["t-2", "t-1"]
    assert [c.transaction_id for c in sync.recent_commands("p-1", limit=1)] == ["t-2"]


async def test_the_downtime_switch_counts_as_applied_only_once_the_printer_says_so(stores):
    sync = stores.sync
    user = _setup(sync)
    assert sync.device_settings("p-1") is None
    sync.set_downtime_logging("p-1", True, user, 100.0)
    setting = sync.device_settings("p-1")
    assert (setting.downtime_logging, setting.changed_by, setting.applied) == (True, user,
                                                                               "not_sent")
    # Offline: nothing to deliver yet.
    assert sync.settings_to_deliver(resend_before=200.0) == []
    await stores.ingest.write_batch([Accepted("p-1", Family.PRESENCE, Presence(
        v=SCHEMA_VERSION, ts=time.time(), seq=50, status="online"), time.time())], [])
    assert [s.device_id for s in sync.settings_to_deliver(resend_before=200.0)] == ["p-1"]

    sync.record_command(command("t-cfg", user, 150.0, kind="configure"))
    sync.mark_settings_sent("p-1", "t-cfg", 150.0)
    assert sync.device_settings("p-1").applied == "pending"
    assert sync.settings_to_deliver(resend_before=140.0) == [], "sent recently"
    assert len(sync.settings_to_deliver(resend_before=160.0)) == 1, "no answer: send again"
    await stores.ingest.write_batch([ack(59, "t-cfg", "rejected", error="expired")], [])
    assert len(sync.settings_to_deliver(resend_before=160.0)) == 1, "expired: send again"
    await stores.ingest.write_batch([ack(60, "t-cfg", "accepted"),
                                     ack(61, "t-cfg", "finished")], [])
    applied = sync.device_settings("p-1")
    assert (applied.applied, applied.sent_transaction, applied.sent_at) == ("finished", "t-cfg",
                                                                            150.0)
    assert sync.settings_to_deliver(resend_before=1e12) == []

    sync.set_downtime_logging("p-1", False, None, 300.0)
    changed = sync.device_settings("p-1")
    assert (changed.downtime_logging, changed.changed_by, changed.applied,
            changed.sent_transaction) == (False, None, "not_sent", None)


def test_files_to_print_come_from_every_folder_but_not_the_trash_or_other_users(stores):
    sync = stores.sync
    alice = FileOwner(user_id=_setup(sync))
    bob = FileOwner(user_id=sync.create_user("b@example.org", "x"))
    folder = sync.create_folder(alice, None, "parts", 1.0)
    inner = sync.add_file(alice, folder.id, "b-cube.gcode", 6, "0" * 64, None, 2.0)
    top = sync.add_file(alice, None, "A-benchy.gcode", 6, "0" * 64, None, 3.0)
    trashed = sync.add_file(alice, None, "old.gcode", 6, "0" * 64, None, 4.0)
    sync.trash_entry(alice, trashed.id, 5.0)
    sync.add_file(bob, None, "bobs.gcode", 6, "0" * 64, None, 6.0)
    assert sync.files_for_printing(alice) == [(top.id, "A-benchy.gcode"),
                                              (inner.id, "b-cube.gcode")]
