"""Shared fixtures: each test gets its own data dir, ports, topic prefix and broker."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest

from fleet.worker import FleetWorker
from printfleet.context import Context
from storage import SyncStore, open_ingest_store

from .storage.private_postgres import PrivatePostgres, private_postgres
from .support import RunningBroker, make_settings, start_broker


def pytest_configure(config: pytest.Config) -> None:
    if shutil.which("mosquitto") is None and not shutil.which("/usr/sbin/mosquitto"):
        raise pytest.UsageError("Mosquitto is required: sudo apt-get install mosquitto")


@pytest.fixture
def context(tmp_path) -> Context:
    return Context(make_settings(tmp_path / "data"))


@pytest.fixture
def store(context: Context) -> Iterator[SyncStore]:
    opened = context.open_store(migrate=True)
    yield opened
    opened.stop()


@pytest.fixture
def broker(context: Context) -> Iterator[RunningBroker]:
    running = start_broker(context)
    yield running
    running.stop()


@pytest.fixture
async def worker(broker, context):
    """One fleet worker, in the test's event loop, consuming the test's broker."""
    running = FleetWorker(context.settings, open_ingest_store(context.settings),
                          context.fleet_password)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def private_postgres_server() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, which it may stop and start."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def owner(store) -> int:
    """A user who owns the test's printers."""
    return store.create_user(f"{uuid.uuid4().hex[:8]}@example.com", "x")
