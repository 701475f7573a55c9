"""Controls on the printer page against a real Mosquitto, fleet worker and agent.

The agent runs a simulated printer; its acks travel agent -> broker ->
worker -> store, and the page's JSON endpoint shows them.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time

import pytest

from printfleet import settings as settings_module
from printfleet_agent.runtime import build_device
from printfleet_agent.settings import PrinterConfig
from storage.file_contents import FileContents
from storage.files import FileOwner
from web.passwords import hash_password

from ..agent.conftest import agent_settings, eventually, simulated
from .conftest import ALICE, BOB
from .flask_client import sign_in, text

pytestmark = pytest.mark.timeout(90)

GCODE = b"; a tiny print\nG28\nG1 X10 Y10 Z0.2 F3000\nG1 X20 E1\nM84\n"


@pytest.fixture
def settings(context):
    """The context's settings, with agents told where to download print files."""
    web = context.settings.web
    return settings_module.with_changes(
        context.settings, web={"public_url": f"http://127.0.0.1:{web.port}"})


@pytest.fixture
def store(context, broker):
    # The store the broker's credentials and the worker use, not a separate file.
    opened = context.open_store(migrate=True)
    yield opened
    opened.stop()


@pytest.fixture
def users(store):
    return {email: store.create_user(email, hash_password(password))
            for email, password in (ALICE, BOB)}


@pytest.fixture
async def printer(context, store, users, worker, server):
    """Alice's simulated printer, its agent started and online."""
    credentials = context.provisioner(store).provision("sim-1", "Workshop Sim", users[ALICE[0]])
    config = PrinterConfig(device_id="sim-1", simulated=simulated(job_duration_s=2.0,
                                                                  auto_start_after_s=0.0))
    agent_config = agent_settings(context, [config])
    password_file = agent_config.password_path(config)
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.write_text(credentials.password)
    device = build_device(agent_config, config)
    await device.start()
    try:
        await eventually(lambda: store.printer_for_user(users[ALICE[0]], "sim-1").presence
                         == "online", 15, "the printer to be online")
        yield device
    finally:
        await device.stop()


async def call(function, *args, **kwargs):
    """Run a blocking test-client call off the event loop, where the agent and worker run."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def send(client, token: str, **body) -> dict:
    response = await call(client.post, "/api/v1/printers/sim-1/commands", json=body,
                          headers={"X-CSRF-Token": token})
    assert response.status_code == 202, text(response)
    return response.get_json()


async def final_state(client, sent: dict, timeout: float = 20) -> dict:
    """Poll the command's JSON endpoint, as the page does, until it is final."""
    deadline = time.monotonic() + timeout
    while True:
        state = (await call(client.get, sent["status_url"])).get_json()
        if state["final"]:
            return state
        assert time.monotonic() < deadline, f"no final ack: {state}"
        await asyncio.sleep(0.1)


async def test_commands_show_the_printers_acknowledgements(app, context, store, users, printer):
    client = app.test_client()
    await call(sign_in, client, *ALICE)
    token = _csrf(text(await call(client.get, "/printers/sim-1")))

    refused = await final_state(client, await send(client, token, kind="pause"))
    assert (refused["status"], refused["status_text"]) == ("failed", "failed")
    assert "no job" in refused["message"] or "not printing" in refused["message"], refused
    assert [a["status"] for a in refused["acks"]] == ["accepted", "failed"]

    gcode = await final_state(client, await send(client, token, kind="send_gcode",
                                                 gcode="M115\nM105"))
    assert (gcode["status"], gcode["data"]) == ("finished", {"replies": ["ok", "ok"]})

    contents = FileContents(context.settings.files_dir, context.settings.files.max_upload_bytes)
    mine = FileOwner(user_id=users[ALICE[0]])
    sha256, size = contents.save(mine, iter([GCODE]))
    entry = store.add_file(mine, None, "cube.gcode", size, sha256, None, time.time())
    started = await final_state(client, await send(client, token, kind="start_print",
                                                   file_id=str(entry.id)))
    assert started["status"] == "finished", started
    assert started["args"] == {"file_name": "cube.gcode", "sha256": sha256, "size_bytes": size}
    assert hashlib.sha256(GCODE).hexdigest() == sha256
    job_id = started["data"]["job_id"]
    await eventually(lambda: any(j.outcome == "finished" and j.job_id == job_id
                                 for j in store.jobs_for_device("sim-1")), 20, "the print")
    (job,) = [j for j in store.jobs_for_device("sim-1") if j.job_id == job_id]
    assert job.started_by_user_id == users[ALICE[0]]

    page = text(await call(client.get, "/printers/sim-1"))
    rows = re.findall(r'<tr data-transaction="[^"]+" data-final="true">(.*?)</tr>', page, re.S)
    assert len(rows) == 3
    assert "start_print cube.gcode" in rows[0] and 'data-status="finished">done' in rows[0]
    assert 'data-status="failed">failed' in rows[2]
    assert refused["message"] in rows[2]
    assert 'data-job-id="' + job_id + '"' in page

    # Bob sees none of it.
    bob = app.test_client()
    await call(sign_in, bob, *BOB)
    status_url = f"/api/v1/printers/sim-1/commands/{started['transaction_id']}"
    for path in (status_url, "/printers/sim-1", "/api/v1/printers/sim-1"):
        assert (await call(bob.get, path)).status_code == 404, path


async def test_the_downtime_switch_reaches_the_printer(app, store, printer):
    client = app.test_client()
    await call(sign_in, client, *ALICE)
    token = _csrf(text(await call(client.get, "/printers/sim-1")))
    assert await printer.downtime.enabled() is False
    response = await call(client.post, "/api/v1/printers/sim-1/settings/downtime-logging",
                          json={"enabled": True}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert response.get_json()["message"] == "Downtime logging on; sent to the printer."
    await eventually(lambda: store.device_settings("sim-1").applied == "finished", 20,
                     "the printer to apply the setting")
    assert await printer.downtime.enabled() is True
    page = text(await call(client.get, "/printers/sim-1"))
    assert 'data-field="downtime-logging" data-on="true">On' in page
    assert "applied on the printer" in page


async def test_a_command_on_an_organisations_printer_is_in_the_organisations_log(
        app, store, users, printer):
    from storage.orgs import OrgProfile

    org = store.create_organisation(users[ALICE[0]], OrgProfile(name="Acme"), time.time())
    invitation = store.create_invitation(org.id, BOB[0], "operator", "h-bob", users[ALICE[0]],
                                         time.time(), time.time() + 60)
    assert store.accept_invitation(invitation.id, users[BOB[0]], time.time())
    assert store.move_printer_to_org(users[ALICE[0]], "sim-1", org.id)
    bob = app.test_client()
    await call(sign_in, bob, *BOB)
    token = _csrf(text(await call(bob.get, "/printers/sim-1")))
    await final_state(bob, await send(bob, token, kind="send_gcode", gcode="M115"))
    (entry,) = [e for e in store.org_log(org.id) if e.action.kind == "printer.command"]
    assert (entry.action.user_id, entry.email, entry.action.summary) == (
        users[BOB[0]], BOB[0], "Sent send gcode to “Workshop Sim”")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
