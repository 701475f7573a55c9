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

from printfleet import stack
from printfleet.context import Context
from printfleet.limits import raise_open_file_limit
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
    provisioning_s: float  # registering every device: its own password, hashed
    rendering_s: float  # broker config and the password file for all of them
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
                    "local_port": _free_port(),
                    "topic_prefix": TOPIC_PREFIX, "fleet_password_file": ""},
            fleet={"metrics_port": 0})
        context = Context(bench_settings)
        store = _open_store(context)
        cleanup.callback(store.stop)
        started = time.monotonic()
        accounts = _provision(context, store, devices)
        provisioning_s = time.monotonic() - started
        say(f"bench: {devices} device accounts registered in {provisioning_s:.2f} s")
        started = time.monotonic()
        config = _render(context, store)
        rendering_s = time.monotonic() - started
        say(f"bench: broker config and password file rendered in {rendering_s:.2f} s")
        broker = _start_broker(context, config)
        cleanup.callback(stack.stop_all, [broker])
        yield Environment(bench_settings, context, store, accounts, provisioning_s, rendering_s,
                          broker.process.pid)


def _open_store(context: Context) -> SyncStore:
    try:
        return context.open_store(migrate=True)
    except (BackendUnavailable, ImportError) as error:
        raise BenchError(f"the {context.settings.storage.backend} store is not available: "
                         f"{error}") from error


def _provision(context: Context, store: SyncStore, count: int) -> list[tuple[str, str]]:
    """Register `count` devices through the provisioner, each with its own random password.

    One registry call per device (the SyncStore interface has no bulk add);
    on SQLite in WAL mode that is about 0.1 ms each, and hashing ($7$, as the
    product writes it) about 0.05 ms. The password file is rendered once, after.
    """
    provisioner = context.provisioner(store)
    accounts = []
    for number in range(1, count + 1):
        credentials = provisioner.register(f"{DEVICE_PREFIX}-{number:05d}",
                                           f"Bench printer {number}", None)
        accounts.append((credentials.username, credentials.password))
    return accounts


def _render(context: Context, store: SyncStore) -> Path:
    """Render broker-config and the password file, as `printfleet up` does."""
    try:
        stack.find_mosquitto(context.settings.broker.mosquitto_path)
    except stack.StackError as error:
        raise BenchError(str(error)) from None
    return stack.prepare(context, store)


def _start_broker(context: Context, config: Path) -> stack.Child:
    """Start Mosquitto like `printfleet up` does, open-file limit raised first."""
    settings = context.settings
    raise_open_file_limit()
    mosquitto = stack.find_mosquitto(settings.broker.mosquitto_path)
    child = stack.spawn("mosquitto", [mosquitto, "-c", str(config)])
    try:
        stack.wait_for_port("127.0.0.1", settings.broker.local_port, child)
    except stack.StackError as error:
        stack.stop_all([child])
        raise BenchError(f"{error} (log: {context.broker_paths.log_file})") from None
    return child


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
