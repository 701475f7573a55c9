"""`printfleet up`: the whole stack on one machine, stopped cleanly on Ctrl-C."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from broker_config import render_config
from broker_config.credentials import read_or_create_secret
from storage import SyncStore

from .broker_tls import BrokerTlsError, listener_tls
from .context import Context

logger = logging.getLogger(__name__)

ADMIN_EMAIL = "admin@printfleet.local"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class StackError(RuntimeError):
    """Something stops the stack from starting; the message says what to do."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def check_port_free(host: str, port: int, what: str, setting: str) -> None:
    """Raise StackError with a helpful message if host:port is taken."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise StackError(
                f"port {port} on {host} is already in use, so the {what} cannot start there. "
                f"Stop whatever uses it, or pick another port with {setting}.") from None
        raise StackError(f"cannot use {host}:{port} for the {what}: {error}") from None
    finally:
        probe.close()


def find_mosquitto(path: str) -> str:
    found = shutil.which(path)
    if found is None:
        raise StackError(
            f"Mosquitto was not found ({path!r}). Install it with "
            "`sudo apt-get install mosquitto` (Debian/Ubuntu) or point broker.mosquitto_path "
            "(PRINTFLEET_BROKER__MOSQUITTO_PATH) at the binary.")
    return found


def prepare(context: Context, store: SyncStore) -> Path:
    """Render the broker config (TLS for devices) and credentials for the data directory."""
    settings = context.settings
    try:
        tls = listener_tls(settings)
    except BrokerTlsError as error:
        raise StackError(f"cannot set up TLS for devices: {error}") from None
    config = render_config(
        context.broker_paths, port=settings.broker.port, bind_address=settings.broker.bind_address,
        tls=tls, local_port=settings.broker.local_port,
        topic_prefix=settings.broker.topic_prefix, fleet_username=settings.broker.fleet_username,
        max_packet_size=settings.fleet.max_payload_bytes + 1024)
    context.provisioner(store).sync_broker()
    return config


def ensure_admin(context: Context, store: SyncStore) -> tuple[str, Path]:
    """Create the first user on a new install; return its email and password file."""
    from web.passwords import hash_password

    password_path = context.settings.secrets_dir / "admin_password"
    password = read_or_create_secret(password_path)
    if store.user_by_email(ADMIN_EMAIL) is None:
        # The first user runs the installation: an operator (/admin/retention).
        admin = store.create_user(ADMIN_EMAIL, hash_password(password), "Printfleet", "Admin")
        store.set_operator(admin, True)
    return ADMIN_EMAIL, password_path


def wait_for_port(host: str, port: int, child: Child, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise StackError(f"{child.name} exited during start-up (code {child.process.returncode})")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StackError(f"{child.name} did not start listening on {host}:{port} in {timeout_s:.0f}s")


def spawn(name: str, argv: list[str]) -> Child:
    logger.info("starting %s", name)
    return Child(name, subprocess.Popen(argv, start_new_session=True))


def printfleet_argv(config: Path | None, *args: str) -> list[str]:
    base = [sys.executable, "-m", "printfleet"]
    if config is not None:
        base += ["--config", str(config)]
    return base + list(args)


def supervise(children: list[Child]) -> int:
    """Wait for Ctrl-C / SIGTERM or a child's death, then stop all children."""
    stopping: dict[str, int | None] = {"signal": None}

    def on_signal(signum: int, frame: object) -> None:
        stopping["signal"] = signum

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    exit_code = 0
    while stopping["signal"] is None:
        dead = [c for c in children if c.process.poll() is not None]
        if dead:
            for child in dead:
                logger.error("%s exited unexpectedly (code %s); stopping everything",
                             child.name, child.process.returncode)
            exit_code = 1
            break
        time.sleep(0.2)
    stop_all(children)
    return exit_code


def stop_all(children: list[Child]) -> None:
    """Stop children in reverse start order: first SIGTERM, then SIGKILL after a grace period."""
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %ss; killing it", child.name, STOP_TIMEOUT_S)
                child.process.kill()
                child.process.wait()
        logger.info("stopped %s", child.name)


def export_overrides(overrides: dict[str, str]) -> None:
    """Pass command-line overrides to child processes as PRINTFLEET_* variables."""
    os.environ.update(overrides)
