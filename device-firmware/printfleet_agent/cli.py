"""printfleet-agent: run the agent beside one or more printers."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

import msgspec

from printfleet_protocol.settings import SettingsError, check_config_report

from . import __version__
from .pairing import (
    PairingClient,
    PairingFailed,
    Registration,
    pair,
    paired_device_id,
    show_code_on_printer,
    store_credentials,
    waiting_for_claim,
    with_paired_identities,
)
from .runtime import AgentConfigError, build_backend, build_devices, read_secret, run_devices
from .settings import AgentSettings, PrinterConfig, load
from .status import STATUS_FILE, render

DEFAULT_CONFIG = Path("/etc/printfleet-agent/agent.toml")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the printfleet-agent command."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = args.config if args.config or not DEFAULT_CONFIG.exists() else DEFAULT_CONFIG
    try:
        settings = load(config)
    except SettingsError as error:
        print(check_config_report(error.errors), file=sys.stderr)
        return 2
    command = args.command or "run"
    if command == "status":
        return _status(settings, args.json)
    if command == "bench":
        return _bench(args)
    try:
        if command == "pair":
            return _pair(settings, args.printer)
        if command == "rotate-credentials":
            return _rotate(settings, args.printer)
        if args.check_config:
            return _check(settings)
        _pair_unpaired(settings)
        devices = build_devices(with_paired_identities(settings))
    except (AgentConfigError, PairingFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    asyncio.run(_run(settings, devices))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printfleet-agent",
        description="Printfleet device agent: reads 3D printers (simulated, OctoPrint or serial) "
                    "and reports to a Printfleet server over MQTT, buffering everything while "
                    "offline. Settings come from a TOML file (see agent.sample.toml; default "
                    f"{DEFAULT_CONFIG}) and PRINTFLEET_AGENT_* environment variables "
                    "(PRINTFLEET_AGENT_BROKER__HOST overrides [broker] host).")
    parser.add_argument("command", nargs="?",
                        choices=["run", "status", "pair", "rotate-credentials", "bench"],
                        help="run (default): run the agent, pairing unpaired printers first; "
                             "status: connectivity (network → broker → auth → printer link), "
                             "outbox and last errors; pair: (re-)pair a printer with the server; "
                             "rotate-credentials: replace a printer's MQTT password; "
                             "bench: measure memory, CPU and G-code streaming against OctoPrint")
    parser.add_argument("--printer", type=int, default=0, metavar="N",
                        help="pair / rotate-credentials: which [[printers]] entry (default 0)")
    parser.add_argument("--config", type=Path, help="agent settings file (TOML)")
    parser.add_argument("--check-config", action="store_true",
                        help="validate the settings, print every error, and exit")
    parser.add_argument("--json", action="store_true", help="status, bench: print JSON")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="bench: how long to measure the agent reporting (default 30)")
    parser.add_argument("--moves", type=int, default=20000,
                        help="bench: G-code moves in the streamed file (default 20000)")
    parser.add_argument("--octoprint", type=Path,
                        help="bench: the octoprint executable (default .octoprint-venv/bin/"
                             "octoprint, or PRINTFLEET_OCTOPRINT_BIN)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


async def _run(settings: AgentSettings, devices: list) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_devices(devices, stop, settings.data_path)


def _check(settings: AgentSettings) -> int:
    """Validate what can be validated; unpaired printers are fine (they pair on start)."""
    resolved = with_paired_identities(settings)
    paired = msgspec.structs.replace(
        resolved, printers=[p for p in resolved.printers if p.device_id])
    devices = build_devices(paired)
    unpaired = len(resolved.printers) - len(paired.printers)
    print(f"configuration OK: {len(devices)} paired printer(s) "
          f"({', '.join(d.device_id for d in devices) or 'none'}), {unpaired} to pair with "
          f"{settings.server.url} on start; broker {settings.broker.host}:{settings.broker.port}")
    return 0


def _show_code(code: str, printer: PrinterConfig, registration: Registration) -> None:
    """Show the pairing code everywhere a person might look."""
    minutes = max(1, round((registration.expires_at - time.time()) / 60))
    message = (f"Pairing code for {printer.name}: {code}  — type it in Printfleet "
               f"(Printers → Add a printer) within {minutes} minutes")
    logging.getLogger(__name__).info("%s", message)
    print(message, file=sys.stderr, flush=True)
    try:
        backend = build_backend(printer)
        backend.connect()
        show_code_on_printer(backend, code)
        backend.disconnect()
    except Exception as error:  # showing it on the printer is a courtesy
        logging.getLogger(__name__).info("could not show the code on the printer: %s", error)


def _pair(settings: AgentSettings, index: int) -> int:
    if not 0 <= index < len(settings.printers):
        raise AgentConfigError(f"--printer {index}: there are {len(settings.printers)} printers")
    device_id = pair(settings, index, PairingClient(settings.server.url), _show_code)
    print(f"paired printer {index} as {device_id}", file=sys.stderr)
    return 0


def _pair_unpaired(settings: AgentSettings) -> None:
    """Pair every printer that has no identity yet (blocks until each is claimed)."""
    for index, printer in enumerate(settings.printers):
        if not printer.device_id and paired_device_id(settings, index) is None:
            _pair(settings, index)


def _rotate(settings: AgentSettings, index: int) -> int:
    resolved = with_paired_identities(settings)
    printer = resolved.printers[index]
    path = resolved.password_path(printer)
    new = PairingClient(settings.server.url).rotate(printer.device_id,
                                                    read_secret(path, "password_file"))
    store_credentials(resolved, index, printer.device_id, new)
    print(f"new credentials stored in {path}; restart the agent to use them", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench.octoprint_server import OctoPrintUnavailable
    from .bench.resources import BenchError
    from .bench.run import run

    try:
        report = run(args.seconds, args.moves, args.octoprint)
    except (BenchError, OctoPrintUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


def _status(settings: AgentSettings, as_json: bool) -> int:
    path = settings.data_path / STATUS_FILE
    waiting = waiting_for_claim(settings)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if not waiting:
            print(f"no status at {path}: is the agent running with data_dir "
                  f"{settings.data_dir}?", file=sys.stderr)
            return 1
        report = {"devices": []}
    report["waiting_for_claim"] = waiting
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    for entry in waiting:
        minutes = max(0, round((entry["expires_at"] - time.time()) / 60))
        print(f"printer {entry['printer']} ({entry['name']}) waits to be paired: code "
              f"{entry['code']} (expires in {minutes} min; Printers → Add a printer)")
    if report["devices"]:
        print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
