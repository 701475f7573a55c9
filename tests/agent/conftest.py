"""Agent fixtures: a fleet worker in the test's event loop and device builders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec
import pytest

from printfleet.broker_tls import device_ca_file
from printfleet_agent.runtime import build_device
from printfleet_agent.settings import (
    AgentSettings,
    BrokerSettings,
    PrinterConfig,
    SimulatedPrinterConfig,
)
from printfleet_protocol.payloads import SCHEMA_VERSION, Command


def agent_settings(context, printers: list[PrinterConfig], broker_port: int | None = None,
                   broker_fields: dict | None = None, **top) -> AgentSettings:
    broker = context.settings.broker
    fields = {"data_dir": str(context.settings.data_path / "agent"),
              "telemetry_interval_s": 0.2, "heartbeat_interval_s": 1.0, **top}
    # Agents connect as real ones do: TLS to the device listener, trusting its
    # CA (made when the test's broker starts; a test without a broker has none).
    ca_file = device_ca_file(context.settings)
    connection = {"port": broker_port or broker.port, "topic_prefix": broker.topic_prefix,
                  "tls_ca_file": str(ca_file) if ca_file and ca_file.exists() else "",
                  **(broker_fields or {})}
    return AgentSettings(broker=BrokerSettings(**connection), printers=printers, **fields)


def simulated(**fields) -> SimulatedPrinterConfig:
    defaults = {"job_duration_s": 3.0, "auto_start_after_s": 0.0, "fail_probability": 0.0,
                "heater_time_constant_s": 0.2}
    return SimulatedPrinterConfig(**{**defaults, **fields})


@pytest.fixture
def make_device(context, store, owner):
    """Provision a device and build its agent (not started)."""

    def make(device_id: str = "printer-sim", printer: dict | None = None,
             broker_port: int | None = None, broker_fields: dict | None = None, **top):
        credentials = context.provisioner(store).provision(device_id, "Sim", owner)
        fields = {"simulated": simulated(), **(printer or {})}
        config = PrinterConfig(device_id=device_id, **fields)
        settings = agent_settings(context, [config], broker_port, broker_fields, **top)
        password_file = settings.password_path(config)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(credentials.password)
        return build_device(settings, config), settings

    return make


def command(transaction: str, kind: str, expires_in_s: float = 30, **args) -> bytes:
    return msgspec.json.encode(Command(v=SCHEMA_VERSION, ts=time.time(), transaction=transaction,
                                       kind=kind, expires_at=time.time() + expires_in_s,
                                       args=args))


async def eventually(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Wait (without blocking the event loop) until predicate returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
    return value
