"""What every command needs: settings, the store, the broker paths and secrets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from broker_config import BrokerPaths
from broker_config.credentials import read_or_create_secret
from storage import SyncStore, open_sync_store

from .provisioning import DeviceProvisioner
from .settings import Settings


@dataclass
class Context:
    settings: Settings

    @cached_property
    def broker_paths(self) -> BrokerPaths:
        return BrokerPaths.in_data_dir(self.settings.data_path)

    @cached_property
    def fleet_password(self) -> str:
        return read_or_create_secret(self.settings.fleet_password_path)

    def open_store(self, migrate: bool = False) -> SyncStore:
        """Build and start the sync store, applying migrations if asked."""
        self.settings.data_path.mkdir(parents=True, exist_ok=True)
        store = open_sync_store(self.settings)
        store.start()
        if migrate:
            store.migrate()
        return store

    def provisioner(self, store: SyncStore) -> DeviceProvisioner:
        return DeviceProvisioner(store, self.broker_paths, self.settings.broker.fleet_username,
                                 self.fleet_password)
