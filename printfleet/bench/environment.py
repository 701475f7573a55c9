"""A throwaway installation for one bench run: data dir, store, devices, Mosquitto.

Everything comes from the same code a real installation uses: the store from
``storage.open_sync_store`` (migrated), device accounts in the registry, the
broker's password and ACL files rendered by broker-config, Mosquitto started
like ``printfleet up`` starts it, on a free loopback port.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from broker_config import hash_password, new_secret
from printfleet import stack
from printfleet.context import Context
from printfleet.settings import Settings, with_changes
from storage import BackendUnavailable, SyncStore

from .postgres_db import BENCH_DSN_VARIABLE, environment_variable, fresh_database
from .processes import BenchError

logger = logging.getLogger(__name__)

TOPIC_PREFIX = "bench"
DEVICE_PREFIX = "bench"

Say = Callable[[str], None]


@dataclass
class Environment:
    settings: Settings
    context: Context
    store: SyncStore
    devices: list[tuple[str, str]]  # (device id, password)
    provisioning_s: float
    broker_pid: int


@contextmanager
def bench_environment(settings: Settings, backend: str, devices: int,
                      say: Say) -> Iterator[Environment]:
    """Set up a fresh store, `devices` device accounts and a broker; tear all down after."""
    with ExitStack() as cleanup:
        scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(
            prefix="printfleet-bench-")))
        storage_changes: dict[str, object] = {"backend": backend, "sqlite_path": ""}
        if backend == "postgres":
            dsn = cleanup.enter_context(fresh_database(settings))
            cleanup.enter_context(environment_variable(BENCH_DSN_VARIABLE, dsn))
            storage_changes["postgres_dsn_env"] = BENCH_DSN_VARIABLE
        bench_settings = with_changes(
            settings, top={"data_dir": str(scratch / "data")}, storage=storage_changes,
            broker={"host": "127.0.0.1", "bind_address": "127.0.0.1", "port": _free_port(),
                    "topic_prefix": TOPIC_PREFIX, "fleet_password_file": ""},
            fleet={"metrics_port": 0})
        context = Context(bench_settings)
        store = _open_store(context)
        cleanup.callback(store.stop)
        started = time.monotonic()
        accounts = _provision(store, devices)
        provisioning_s = time.monotonic() - started
        say(f"bench: {devices} device accounts registered in {provisioning_s:.1f} s")
        broker = _start_broker(context, store)
        cleanup.callback(stack.stop_all, [broker])
        yield Environment(bench_settings, context, store, accounts, provisioning_s,
                          broker.process.pid)


def _open_store(context: Context) -> SyncStore:
    try:
        return context.open_store(migrate=True)
    except (BackendUnavailable, ImportError) as error:
        raise BenchError(f"the {context.settings.storage.backend} store is not available: "
                         f"{error}") from error


def _provision(store: SyncStore, count: int) -> list[tuple[str, str]]:
    """Register `count` devices, each with its own random password.

    One registry call per device (the SyncStore interface has no bulk add);
    on SQLite in WAL mode that is about 0.1 ms each, so 1,000 devices take a
    fraction of a second. The broker's password file is rendered once, after.
    """
    accounts = []
    for number in range(1, count + 1):
        device_id = f"{DEVICE_PREFIX}-{number:05d}"
        password = new_secret()
        store.add_device(device_id, f"Bench printer {number}", None, hash_password(password))
        accounts.append((device_id, password))
    return accounts


def _start_broker(context: Context, store: SyncStore) -> stack.Child:
    """Render broker-config and start Mosquitto like `printfleet up` does."""
    settings = context.settings
    try:
        mosquitto = stack.find_mosquitto(settings.broker.mosquitto_path)
        config = stack.prepare(context, store)
        child = stack.spawn("mosquitto", [mosquitto, "-c", str(config)])
    except stack.StackError as error:
        raise BenchError(str(error)) from None
    try:
        stack.wait_for_port(settings.broker.host, settings.broker.port, child)
    except stack.StackError as error:
        stack.stop_all([child])
        raise BenchError(f"{error} (log: {context.broker_paths.log_file})") from None
    return child


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
