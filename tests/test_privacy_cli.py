"""`printfleet privacy verify-erasure`: reports per table, exit 1 while anything is found."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from broker_config import BrokerPaths
from printfleet import settings as settings_module
from printfleet.erasure import erase_account
from printfleet.provisioning import DeviceProvisioner
from storage.sqlite import SqliteIngestStore, SqliteSyncStore

from .storage.erasure_history import Person, build_history
from .test_retention_cli import printfleet

pytestmark = pytest.mark.timeout(120)

ALICE = Person("alice.cli@example.org", "Alicia", "Clidottir", "203.0.113.9", "acli")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data directory whose SQLite store holds Alice's history in every table."""
    data = tmp_path / "data"
    settings = settings_module.load(None, environ={"PRINTFLEET_DATA_DIR": str(data)})
    settings.data_path.mkdir(parents=True)
    sync, ingest = SqliteSyncStore(settings.sqlite_file), SqliteIngestStore(settings.sqlite_file)
    sync.migrate()

    async def fill() -> None:
        await ingest.start()
        await build_history(SimpleNamespace(sync=sync, ingest=ingest), settings, ALICE, None)
        await ingest.stop()

    asyncio.run(fill())
    sync.stop()
    return data


def _erase(data: Path) -> None:
    settings = settings_module.load(None, environ={"PRINTFLEET_DATA_DIR": str(data)})
    sync = SqliteSyncStore(settings.sqlite_file)
    provisioner = DeviceProvisioner(sync, BrokerPaths.in_data_dir(data), "fleet", "secret")
    # Her organisation gets another owner first, or she could not go.
    org_id = sync.organisations_for_user(ALICE.user_id)[0].org.id
    other = sync.create_user("heir@example.org", "hash")
    sync.create_invitation(org_id, "heir@example.org", "owner", "h" * 64, ALICE.user_id, 1, 2e9)
    invitation = sync.invitation_by_token("h" * 64)
    assert invitation is not None and sync.accept_invitation(invitation.id, other, 1)
    erase_account(sync, settings, provisioner, ALICE.user_id, 1e9)
    sync.stop()


def test_verify_erasure_reports_what_it_finds_then_zero(data):
    before = printfleet("privacy", "verify-erasure", ALICE.email, "--json",
                        "--data-dir", str(data))
    assert before.returncode == 1, before.stderr
    report = json.loads(before.stdout)
    assert report["erased"] is False and report["found"] > 0
    assert report["user_id_columns"]["web_sessions.user_id"] == 1
    assert report["tables"]["telemetry"]["device_id"] > 0
    assert report["tables"]["web_sessions"]["ip"] == 1
    assert set(report["stores"]) == {"files", "camera"}
    text = printfleet("privacy", "verify-erasure", ALICE.email, "--data-dir", str(data))
    assert text.returncode == 1 and "LIVE account" in text.stdout
    assert "web_sessions" in text.stdout

    _erase(data)
    for user in (ALICE.email, str(ALICE.user_id)):
        after = printfleet("privacy", "verify-erasure", user, "--json", "--data-dir", str(data))
        assert after.returncode == 0, after.stdout + after.stderr
        assert json.loads(after.stdout)["found"] == 0
    text = printfleet("privacy", "verify-erasure", ALICE.email, "--data-dir", str(data))
    assert text.returncode == 0 and "erased account; 0 identifier(s) found" in text.stdout


def test_an_unknown_user_is_a_clear_error(tmp_path):
    result = printfleet("privacy", "verify-erasure", "nobody@example.org",
                        "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "no account and no erasure receipt for 'nobody@example.org'" in result.stderr


def test_help_describes_the_command():
    result = printfleet("privacy", "verify-erasure", "--help")
    assert result.returncode == 0 and "--json" in result.stdout and "USER" in result.stdout
