"""The agent's one typed settings object (see agent.sample.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from printfleet_protocol.settings import load_settings

ENV_PREFIX = "PRINTFLEET_AGENT"

Positive = Annotated[float, msgspec.Meta(gt=0)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class BrokerSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1884
    topic_prefix: str = "printfleet"
    # Secret by reference: the file holding this device's MQTT password.
    password_file: str = ""
    keepalive_s: Annotated[int, msgspec.Meta(ge=5)] = 30


class SimulatedPrinterConfig(_Section):
    job_duration_s: Positive = 180.0
    fail_probability: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.1
    auto_start_after_s: Annotated[float, msgspec.Meta(ge=0)] = 20.0
    heater_time_constant_s: Positive = 12.0
    seed: int | None = None


class PrinterSettings(_Section):
    # OctoPrint and serial backends join with the device-agent work.
    backend: Literal["simulated"] = "simulated"
    name: str = "Printer"
    simulated: SimulatedPrinterConfig = msgspec.field(default_factory=SimulatedPrinterConfig)


class AgentSettings(_Section):
    device_id: str = ""
    data_dir: str = "/var/lib/printfleet-agent"
    telemetry_interval_s: Positive = 1.0
    heartbeat_interval_s: Positive = 30.0
    broker: BrokerSettings = msgspec.field(default_factory=BrokerSettings)
    printer: PrinterSettings = msgspec.field(default_factory=PrinterSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> AgentSettings:
    """Load agent settings from TOML plus PRINTFLEET_AGENT_* variables."""
    return load_settings(AgentSettings, path, ENV_PREFIX, environ)
