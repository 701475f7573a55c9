"""Build agents from settings and run one or many of them."""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from printfleet_protocol.topics import validate_device_id

from .agent import Agent
from .link import MqttLink
from .printers import PrinterBackend, SimulatedPrinter, SimulatedPrinterSettings
from .sequence import SequenceCounter
from .settings import AgentSettings

logger = logging.getLogger(__name__)


class AgentConfigError(ValueError):
    """Settings that validate but cannot run (for example a missing password)."""


def read_password(settings: AgentSettings) -> str:
    """Read the device's MQTT password from the file its settings point to."""
    path = settings.broker.password_file
    if not path:
        raise AgentConfigError("broker.password_file: not set; the agent needs its credentials")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise AgentConfigError(f"broker.password_file: cannot read {path}: {error}") from None


def build_backend(settings: AgentSettings) -> PrinterBackend:
    sim = settings.printer.simulated
    return SimulatedPrinter(SimulatedPrinterSettings(
        job_duration_s=sim.job_duration_s, fail_probability=sim.fail_probability,
        auto_start_after_s=sim.auto_start_after_s,
        heater_time_constant_s=sim.heater_time_constant_s, seed=sim.seed))


def build_agent(settings: AgentSettings, password: str,
                backend: PrinterBackend | None = None) -> Agent:
    """Build (but do not start) the agent for one device."""
    if not settings.device_id:
        raise AgentConfigError("device_id: not set")
    try:
        validate_device_id(settings.device_id)
    except ValueError as error:
        raise AgentConfigError(f"device_id: {error}") from None
    state_dir = settings.data_path / settings.device_id
    sequence = SequenceCounter(state_dir / "sequence.sqlite3")
    broker = settings.broker
    link_factory = functools.partial(
        MqttLink, settings.device_id, broker.host, broker.port, password, broker.topic_prefix,
        broker.keepalive_s, sequence)
    return Agent(settings.device_id, backend or build_backend(settings), link_factory, sequence,
                 settings.telemetry_interval_s, settings.heartbeat_interval_s)


def run_agents(agents: list[Agent], stop: threading.Event) -> None:
    """Start agents, tick each in its own thread until stop is set, then stop them."""
    threads = []
    for agent in agents:
        agent.start()
        thread = threading.Thread(target=agent.run, args=(stop,), name=agent.device_id,
                                  daemon=True)
        thread.start()
        threads.append(thread)
    stop.wait()
    for thread in threads:
        thread.join(timeout=5)
    for agent in agents:
        agent.stop()
