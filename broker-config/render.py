"""Render Mosquitto's runtime configuration for a data directory and port."""

from __future__ import annotations

import getpass
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from string import Template

from printfleet_protocol.topics import device_acl_patterns, fleet_acl_topic

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BrokerPaths:
    """Where the rendered broker files live inside a data directory."""

    root: Path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> BrokerPaths:
        return cls(Path(data_dir) / "broker")

    @property
    def config(self) -> Path:
        return self.root / "mosquitto.conf"

    @property
    def password_file(self) -> Path:
        return self.root / "passwords"

    @property
    def acl_file(self) -> Path:
        return self.root / "acl"

    @property
    def persistence_dir(self) -> Path:
        return self.root / "persistence"

    @property
    def pid_file(self) -> Path:
        return self.root / "mosquitto.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "mosquitto.log"


@dataclass(frozen=True)
class ListenerTls:
    """The device listener's certificate (chain first) and private key, as PEM files."""

    cert_file: Path
    key_file: Path


def render_config(
    paths: BrokerPaths,
    *,
    port: int,
    bind_address: str,
    tls: ListenerTls,
    local_port: int,
    topic_prefix: str,
    fleet_username: str,
    max_packet_size: int,
) -> Path:
    """Write mosquitto.conf and the ACL file; return the config path.

    Devices get `port` with TLS only; there is no way to render a plaintext
    device listener. `local_port` (0: none) is a plaintext listener bound to
    127.0.0.1 for Printfleet's own processes on this machine.
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.persistence_dir.mkdir(exist_ok=True)
    os.chmod(paths.root, 0o700)
    acl = _template("acl.template").substitute(
        fleet_username=fleet_username,
        fleet_topic=fleet_acl_topic(topic_prefix),
        device_patterns="\n".join(f"pattern {access} {topic}"
                                   for access, topic in device_acl_patterns(topic_prefix)),
    )
    paths.acl_file.write_text(acl, encoding="utf-8")
    if not paths.password_file.exists():
        paths.password_file.touch(mode=0o600)
    config = _template("mosquitto.conf.template").substitute(
        password_file=paths.password_file,
        acl_file=paths.acl_file,
        port=port,
        bind_address=bind_address,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
        local_listener=_local_listener(local_port),
        max_packet_size=max_packet_size,
        persistence_dir=paths.persistence_dir,
        pid_file=paths.pid_file,
        run_as_user=getpass.getuser(),
        log_file=paths.log_file,
    )
    paths.config.write_text(config, encoding="utf-8")
    return paths.config


def reload_broker(paths: BrokerPaths) -> bool:
    """Ask a running Mosquitto to re-read credentials and ACLs; False if none runs."""
    try:
        pid = int(paths.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


def _local_listener(local_port: int) -> str:
    if not local_port:
        return "# No plaintext listener: every client, Printfleet's own included, uses TLS."
    return ("# Printfleet's own processes on this machine (worker, scheduler, web): plaintext,\n"
            "# bound to loopback, so this traffic never leaves the machine.\n"
            f"listener {local_port} 127.0.0.1\nprotocol mqtt\nmax_connections -1")


def _template(name: str) -> Template:
    return Template((_HERE / name).read_text(encoding="utf-8"))
