"""printfleet-agent: run the agent beside a printer."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from printfleet_protocol.settings import SettingsError, check_config_report

from . import __version__
from .runtime import AgentConfigError, build_agent, read_password, run_agents
from .settings import AgentSettings, load


def main(argv: list[str] | None = None) -> int:
    """Entry point of the printfleet-agent command."""
    parser = argparse.ArgumentParser(
        prog="printfleet-agent",
        description="Printfleet device agent: reads a 3D printer and reports to a Printfleet "
                    "server over MQTT. Settings come from a TOML file (see agent.sample.toml) "
                    "and PRINTFLEET_AGENT_* environment variables "
                    "(PRINTFLEET_AGENT_BROKER__HOST overrides [broker] host).")
    parser.add_argument("--config", type=Path, help="agent settings file (TOML)")
    parser.add_argument("--check-config", action="store_true",
                        help="validate the settings, print every error, and exit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load(args.config)
        password = read_password(settings)
        agent = build_agent(settings, password)
    except SettingsError as error:
        print(check_config_report(error.errors), file=sys.stderr)
        return 2
    except AgentConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check_config:
        print(f"configuration OK: device {settings.device_id} -> "
              f"{settings.broker.host}:{settings.broker.port}")
        return 0
    return _run(settings, agent)


def _run(settings: AgentSettings, agent) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_agents([agent], stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
