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


def render_config(
    paths: BrokerPaths,
    *,
    port: int,
    bind_address: str,
    topic_prefix: str,
    fleet_username: str,
    max_packet_size: int,
) -> Path:
    """Write mosquitto.conf and the ACL file; return the config path."""
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


def _template(name: str) -> Template:
    return Template((_HERE / name).read_text(encoding="utf-8"))
