"""Pairing end to end: a fresh agent shows a code, its owner claims it, it reports."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest

from fleet.worker import FleetWorker
from printfleet_agent.pairing import (
    PairingClient,
    PairingFailed,
    pair,
    waiting_for_claim,
    with_paired_identities,
)
from printfleet_agent.runtime import build_device
from printfleet_agent.settings import AgentSettings, BrokerSettings, PrinterConfig, ServerSettings
from storage import open_ingest_store
from web import create_app
from web.passwords import hash_password
from web.server import make_server

from .support import wait_until

pytestmark = pytest.mark.timeout(60)
PASSWORD = "a long enough password"


@pytest.fixture
def web(broker, context, store):
    server = make_server(context.settings, create_app(context.settings, store))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.close()
    thread.join(10)


@pytest.fixture
def users(store):
    return {email: store.create_user(email, hash_password(PASSWORD))
            for email in ("owner@example.com", "other@example.com")}


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


OPEN_CLIENTS: list[httpx.Client] = []


def signed_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    OPEN_CLIENTS.append(client)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/printers").text
    client.headers["X-CSRF-Token"] = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return client


def agent_settings(context, web_url: str) -> AgentSettings:
    broker = context.settings.broker
    return AgentSettings(data_dir=str(context.settings.data_path / "agent"),
                         telemetry_interval_s=0.2, heartbeat_interval_s=1,
                         broker=BrokerSettings(port=broker.port, topic_prefix=broker.topic_prefix),
                         server=ServerSettings(url=web_url), printers=[PrinterConfig(name="New")])


async def test_a_fresh_agent_is_claimed_by_its_code_and_reports(broker, context, store, web,
                                                                users):
    settings = agent_settings(context, web)
    shown: list[str] = []
    paired: list[str] = []

    def run_pairing() -> None:
        client = PairingClient(web, sleep=lambda s: time.sleep(0.1))
        paired.append(pair(settings, 0, client, lambda code, printer, reg: shown.append(code)))

    pairing = threading.Thread(target=run_pairing, daemon=True)
    pairing.start()
    wait_until(lambda: shown, 10, "the agent to show its code")
    status = subprocess.run([sys.executable, "-m", "printfleet_agent.cli", "status"],
                            capture_output=True, text=True, timeout=30,
                            env={"PRINTFLEET_AGENT_DATA_DIR": settings.data_dir})
    assert f"waits to be paired: code {shown[0]}" in status.stdout
    owner, other = signed_in(web, "owner@example.com"), signed_in(web, "other@example.com")
    waiting = owner.get("/api/v1/pairing/waiting").json()
    assert len(waiting) == 1 and "code" not in waiting[0]

    wrong = other.post("/api/v1/pairing/claim", json={"code": "WRONG1", "name": "x"})
    assert wrong.status_code == 404
    claimed = owner.post("/api/v1/pairing/claim", json={"code": shown[0].lower(),
                                                        "name": "Bay 3 MK4"})
    assert claimed.status_code == 201, claimed.text
    again = other.post("/api/v1/pairing/claim", json={"code": shown[0], "name": "mine"})
    assert again.status_code == 404  # a claimed code is gone
    pairing.join(10)
    device_id = paired[0]
    assert claimed.json()["device_id"] == device_id

    assert waiting_for_claim(settings) == [], "the shown code is cleared once claimed"
    password_file = settings.data_path / device_id / "password"
    assert password_file.stat().st_mode & 0o777 == 0o600
    # The broker's certificate is from the server's private CA: pairing handed the
    # agent that CA, and the agent (configured with no CA of its own) trusts it.
    assert not settings.broker.tls_ca_file
    assert settings.paired_ca_path(device_id).read_text() == broker.ca_file.read_text()
    resolved = with_paired_identities(settings)
    assert resolved.printers[0].device_id == device_id

    worker = FleetWorker(context.settings, open_ingest_store(context.settings),
                         context.fleet_password)
    await worker.start()
    device = build_device(resolved, resolved.printers[0])
    assert device.link.uses_tls
    await device.start()
    try:
        for _ in range(100):
            rows = store.printers_for_user(users["owner@example.com"])
            if rows and rows[0].presence == "online":
                break
            await asyncio.sleep(0.1)
        assert [(r.device_id, r.name) for r in rows] == [(device_id, "Bay 3 MK4")]
        assert store.printers_for_user(users["other@example.com"]) == []
        owner_list = owner.get("/api/v1/printers").json()
        assert [p["device_id"] for p in owner_list] == [device_id]
        assert other.get("/api/v1/printers").json() == []
    finally:
        await device.stop()
        await worker.stop()


def test_credentials_are_handed_out_once_and_codes_expire(broker, context, store, web, users):
    client = PairingClient(web)
    registration = client.register()
    poll = httpx.get(f"{web}/api/v1/pairing/status",
                     headers={"Authorization": f"Bearer {registration.poll_token}"})
    assert poll.json()["status"] == "waiting"
    owner = signed_in(web, "owner@example.com")
    assert owner.post("/api/v1/pairing/claim", json={"code": registration.code}).status_code == 201
    first = client.wait_for_credentials(registration)
    assert first["device_id"] == registration.device_id and first["password"]
    with pytest.raises(PairingFailed, match="already collected"):
        client.wait_for_credentials(registration)
    assert httpx.get(f"{web}/api/v1/pairing/status").status_code == 401
    bogus = httpx.get(f"{web}/api/v1/pairing/status", headers={"Authorization": "Bearer nope"})
    assert bogus.status_code == 404


def test_code_guessing_is_rate_limited(broker, context, store, web, users):
    PairingClient(web).register()
    guesser = signed_in(web, "other@example.com")
    codes = [guesser.post("/api/v1/pairing/claim", json={"code": f"GUESS{n}"}).status_code
             for n in range(12)]
    assert codes[:10] == [404] * 10
    assert codes[10:] == [429, 429]


def test_rotated_credentials_replace_the_old_ones(broker, context, store, web, users):
    credentials = context.provisioner(store).provision("printer-rot", "R", users["owner@example.com"])
    client = PairingClient(web)
    new_password = client.rotate("printer-rot", credentials.password)
    assert new_password != credentials.password
    with pytest.raises(PairingFailed, match="401"):
        client.rotate("printer-rot", credentials.password)
    old = broker.connect_device("printer-rot", credentials.password, "printer-rot")
    assert wait_until(lambda: old.connect_result, 5, "CONNACK")[0].is_failure
    old.close()
    new = wait_until(lambda: _connected(broker, new_password), 5, "the new password to work")
    new.close()


def _connected(broker, password):
    client = broker.connect_device("printer-rot", password, "printer-rot")
    if client.connect_result[0].is_failure:
        client.close()
        return None
    return client


def test_device_endpoints_need_no_csrf_but_user_endpoints_do(broker, context, store, web, users):
    assert httpx.post(f"{web}/api/v1/pairing/register",
                      json={"hostname": "pi", "agent_version": "1"}).status_code == 201
    assert httpx.post(f"{web}/api/v1/pairing/register", json={}).status_code == 400
    owner = signed_in(web, "owner@example.com")
    del owner.headers["X-CSRF-Token"]
    assert owner.post("/api/v1/pairing/claim", json={"code": "X"}).status_code == 400
    # Refused before it is read: the CSRF check comes first for anonymous requests.
    assert httpx.post(f"{web}/api/v1/pairing/claim", json={"code": "X"}).status_code in (400, 401)
