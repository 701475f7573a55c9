"""Give devices broker credentials and take them away, keeping Mosquitto in step.

The device registry in storage is the source of truth; the broker's password
file is rendered from it on every change and Mosquitto is told to reload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from broker_config import (
    BrokerPaths,
    hash_password,
    new_secret,
    reload_broker,
    render_password_file,
)
from printfleet_protocol.topics import validate_device_id
from storage import SyncStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceCredentials:
    device_id: str
    username: str
    password: str


class DeviceProvisioner:
    """Adds, rotates and revokes device credentials."""

    def __init__(self, store: SyncStore, broker_paths: BrokerPaths, fleet_username: str,
                 fleet_password: str) -> None:
        self._store = store
        self._paths = broker_paths
        self._fleet_username = fleet_username
        self._fleet_password = fleet_password

    def provision(self, device_id: str, name: str, owner_user_id: int | None) -> DeviceCredentials:
        """Register a device (or re-pair it) with fresh credentials; return them once."""
        credentials = self.register(device_id, name, owner_user_id)
        self.sync_broker()
        logger.info("provisioned device %s", device_id)
        return credentials

    def provision_many(self, devices: Iterable[tuple[str, str]],
                       owner_user_id: int | None) -> list[DeviceCredentials]:
        """Provision (device id, name) pairs, rendering and reloading the broker once.

        Provisioning one at a time renders the whole password file for each
        device, which is quadratic for a fleet brought in at once.
        """
        credentials = [self.register(device_id, name, owner_user_id)
                       for device_id, name in devices]
        self.sync_broker()
        logger.info("provisioned %d devices", len(credentials))
        return credentials

    def register(self, device_id: str, name: str, owner_user_id: int | None) -> DeviceCredentials:
        """Give a device fresh credentials in the registry only; sync_broker publishes them."""
        validate_device_id(device_id)
        if device_id == self._fleet_username:
            raise ValueError(f"device id {device_id!r} is reserved for the fleet service account")
        password = new_secret()
        self._store.add_device(device_id, name, owner_user_id, hash_password(password))
        return DeviceCredentials(device_id, device_id, password)

    def rotate(self, device_id: str) -> DeviceCredentials:
        """Replace a device's password; the old one stops working at once."""
        password = new_secret()
        if not self._store.set_device_password(device_id, hash_password(password)):
            raise KeyError(f"no active device {device_id!r}")
        self.sync_broker()
        return DeviceCredentials(device_id, device_id, password)

    def revoke(self, device_id: str) -> bool:
        """Revoke a device's credentials; a connected device is disconnected."""
        revoked = self._store.revoke_device(device_id)
        self.sync_broker()
        if revoked:
            logger.info("revoked device %s", device_id)
        return revoked

    def sync_broker(self) -> bool:
        """Render the password file from the registry and reload a running broker."""
        entries = [(self._fleet_username, hash_password(self._fleet_password))]
        entries += self._store.broker_credentials()
        render_password_file(self._paths.password_file, entries)
        return reload_broker(self._paths)
