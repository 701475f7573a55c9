"""Erasure on every backend: after it, verify-erasure finds nothing; others' data is untouched.

Alice has history in every table (own printers with telemetry, rollups, jobs,
events, downtime, pictures; sessions, page views, actions, files,
notifications, tokens; membership of Bob's organisation with records there).
Bob has the same. Alice's account is erased; then the scan must find none
of her identifiers, Bob's must all be where they were, and the organisation's
records must name Alice's pseudonym.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broker_config import BrokerPaths
from printfleet.erasure import erase_account
from printfleet.erasure_verify import verify_erasure
from printfleet.provisioning import DeviceProvisioner
from printfleet.settings import Settings, load
from storage.erasure import USER_ID_COLUMNS, LastOwner

from .erasure_history import Person, build_history

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load(None, environ={"PRINTFLEET_DATA_DIR": str(tmp_path / "data")})


def _people() -> tuple[Person, Person]:
    return (Person("Bob.Owner@example.org", "Bobby", "Ownerson", "198.51.100.7", "bob"),
            Person("alice.eraseme@example.org", "Alicia", "Erasington", "203.0.113.42", "ali"))


async def _fleet(stores, settings: Settings) -> tuple[Person, Person, DeviceProvisioner]:
    bob, alice = _people()
    await build_history(stores, settings, bob, org_owner=None)
    await build_history(stores, settings, alice, org_owner=bob.user_id)
    provisioner = DeviceProvisioner(stores.sync, BrokerPaths.in_data_dir(settings.data_path),
                                    "fleet", "fleet-password")
    provisioner.sync_broker()
    return bob, alice, provisioner


def _rows(sync, sql: str, params: tuple = ()) -> list[tuple]:
    return sync.query_rows(sql if sync.chart_flavour == "sqlite" else sql.replace("?", "%s"),
                           params)


def _snapshot(sync, person: Person, besides: tuple[str, ...] = ()) -> dict[str, list]:
    """Every row naming the person's user id or one of their printers, per table.

    Rows that also name someone in `besides` (an email or a pseudonym) are left
    out: Alice's invitation into Bob's organisation names both of them.
    """
    snapshot = {}
    for table, column in USER_ID_COLUMNS:
        if table in sync.column_catalog():
            snapshot[f"{table}.{column}"] = sorted(
                text for text in map(repr, _rows(
                    sync, f"SELECT * FROM {table} WHERE {column} = ?", (person.user_id,)))
                if not any(other in text for other in besides))
    for table, columns in sync.column_catalog().items():
        if "device_id" in {c.name for c in columns}:
            for device in [*person.devices, person.org_device]:
                snapshot[f"{table}:{device}"] = sorted(map(repr, _rows(
                    sync, f"SELECT * FROM {table} WHERE device_id = ?", (device,))))
    return snapshot


async def test_after_an_erasure_verify_finds_zero_identifiers(stores, settings):
    bob, alice, provisioner = await _fleet(stores, settings)
    sync = stores.sync
    before = verify_erasure(sync, settings, alice.email)
    # The scan sees Alice everywhere before: in every user-id column she has rows in,
    # in text (email, names, device ids, IPs) and on disk.
    assert not before.erased
    assert set(before.user_id_columns) >= {
        f"{t}.{c}" for t, c in USER_ID_COLUMNS if t != "data_exports" and c != "undone_by"
        and (t, c) not in {("devices", "owner_user_id"), ("org_invitations", "accepted_by")}}
    kinds = {kind for found in before.tables.values() for kind in found}
    assert kinds == {"email", "name", "device_id", "ip"}
    assert {"telemetry", "telemetry_1m", "job_events", "camera_frames", "print_jobs",
            "heartbeats", "downtime_reports", "web_sessions", "login_failures",
            "notification_events", "actions"} <= set(before.tables)
    assert set(before.stores) == {"files", "camera"}
    bob_before = _snapshot(sync, bob, (alice.email,))
    assert sum(map(len, bob_before.values())) > 40

    outcome = erase_account(sync, settings, provisioner, alice.user_id, 1e9)

    after = verify_erasure(sync, settings, alice.email)
    assert after.erased and after.total == 0, after.as_json()
    assert verify_erasure(sync, settings, alice.email.upper()).total == 0
    assert verify_erasure(sync, settings, str(alice.user_id)).total == 0
    # Bob's rows are exactly as they were; his scan still finds him.
    assert _snapshot(sync, bob, (outcome.receipt.pseudonym,)) == bob_before
    assert verify_erasure(sync, settings, bob.email).total == before_total_of(sync, settings, bob)
    # Alice's printers' MQTT credentials are gone from the broker's password file.
    password_file = BrokerPaths.in_data_dir(settings.data_path).password_file.read_text()
    assert not any(device in password_file for device in alice.devices)
    assert all(device in password_file for device in bob.devices)
    assert sorted(outcome.revoked_devices) == sorted(alice.devices)
    # The organisation's records keep the pseudonym, without IP or place.
    pseudonym = outcome.receipt.pseudonym
    assert pseudonym.startswith("erased-user-")
    [(pid, email, first, last)] = _rows(
        sync, "SELECT id, email, first_name, last_name FROM users WHERE email = ?", (pseudonym,))
    assert (first, last) == ("", "") and pid == outcome.receipt.pseudonym_user_id
    assert _rows(sync, "SELECT started_by_user_id FROM print_jobs WHERE device_id = ?",
                 (alice.org_device,)) == [(pid,)]
    assert _rows(sync, "SELECT ip, country, city, summary FROM actions WHERE user_id = ?",
                 (pid,)) == [("", None, None, f"{pseudonym} renamed a printer")]
    assert _rows(sync, "SELECT changed_by FROM device_settings WHERE device_id = ?",
                 (alice.org_device,)) == [(pid,)]
    assert _rows(sync, "SELECT count(*) FROM telemetry WHERE device_id = ?",
                 (alice.org_device,)) == [(1,)]
    # The receipt holds no email, only its hash.
    assert alice.email.lower() not in repr(_rows(sync, "SELECT * FROM erasure_receipts"))


def before_total_of(sync, settings: Settings, person: Person) -> int:
    report = verify_erasure(sync, settings, person.email)
    assert report.total > 0
    return report.total


async def test_verify_finds_an_identifier_left_behind(stores, settings):
    _, alice, provisioner = await _fleet(stores, settings)
    erase_account(stores.sync, settings, provisioner, alice.user_id, 1e9)
    # Rows written after the erasure (say, a failed sign-in from her IP, a stray picture).
    stores.sync.record_login_failure("someone@example.org", alice.ip, 1e9)
    (settings.camera_dir / alice.devices[0]).mkdir(parents=True)
    (settings.camera_dir / alice.devices[0] / "1.jpg").write_bytes(b"x")
    report = verify_erasure(stores.sync, settings, alice.email)
    assert report.tables == {"login_failures": {"ip": 1}}
    assert report.stores == {"camera": {"device_id": 2}}
    by_id = verify_erasure(stores.sync, settings, str(alice.user_id))
    assert by_id.total == 0 and by_id.notes  # without the email only ids can be checked


async def test_the_last_owner_of_an_organisation_cannot_be_erased(stores, settings):
    bob, alice, provisioner = await _fleet(stores, settings)
    before = _snapshot(stores.sync, bob)
    with pytest.raises(LastOwner, match="bob Ltd"):
        erase_account(stores.sync, settings, provisioner, bob.user_id, 1e9)
    assert _snapshot(stores.sync, bob) == before
    assert stores.sync.revoke_device(bob.devices[0])  # still had its credentials
    # Once Alice owns it too, Bob can go.
    org_id = stores.sync.organisations_for_user(bob.user_id)[0].org.id
    assert stores.sync.set_member_role(org_id, alice.user_id, "owner")
    erase_account(stores.sync, settings, provisioner, bob.user_id, 1e9)
    assert verify_erasure(stores.sync, settings, bob.email).total == 0


async def test_an_erased_id_is_never_given_to_someone_new(stores, settings):
    provisioner = DeviceProvisioner(stores.sync, BrokerPaths.in_data_dir(settings.data_path),
                                    "fleet", "fleet-password")
    stores.sync.create_user("first@example.org", "hash")
    last = stores.sync.create_user("last@example.org", "hash")  # the highest id, no history
    outcome = erase_account(stores.sync, settings, provisioner, last, 1e9)
    newcomer = stores.sync.create_user("new@example.org", "hash")
    assert newcomer not in (last, outcome.receipt.pseudonym_user_id)
    assert verify_erasure(stores.sync, settings, str(last)).total == 0
    assert verify_erasure(stores.sync, settings, "last@example.org").total == 0
