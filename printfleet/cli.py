"""The `printfleet` command: run, inspect and administer a Printfleet server."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from printfleet_protocol.settings import SettingsError, check_config_report
from storage import BackendUnavailable

from . import commands, privacy_cli, retention_cli
from .broker_tls import BrokerTlsError, check_operator_certificate_if_any
from .context import Context
from .settings import Settings, load

logger = logging.getLogger(__name__)

Handler = Callable[[Context, argparse.Namespace], int]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the printfleet command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level.upper() != "DEBUG":
        # Both log routine steps (each job run, each packet, each closed socket).
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("gmqtt").setLevel(logging.ERROR)
        # A warning per failed reconnection while the database is down; the
        # batcher says once that it is unavailable, and again every 30 s.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    _export_flag_overrides(args)
    try:
        settings = load(args.config)
    except SettingsError as error:
        print(check_config_report(error.errors), file=sys.stderr)
        return 2
    if args.check_config:
        try:
            check_operator_certificate_if_any(settings)
        except BrokerTlsError as error:
            print(error, file=sys.stderr)
            return 2
        print(_config_summary(settings))
        return 0
    try:
        return args.handler(Context(settings), args)
    except (commands.CommandError, retention_cli.RetentionCommandError,
            privacy_cli.PrivacyCommandError,
            BackendUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _export_flag_overrides(args: argparse.Namespace) -> None:
    """Turn flags into PRINTFLEET_* variables so child processes see them too."""
    flags = {"data_dir": "PRINTFLEET_DATA_DIR", "broker_port": "PRINTFLEET_BROKER__PORT",
             "web_port": "PRINTFLEET_WEB__PORT"}
    for attribute, variable in flags.items():
        value = getattr(args, attribute, None)
        if value is not None:
            os.environ[variable] = str(value)


def _config_summary(settings: Settings) -> str:
    return (f"configuration OK: data in {settings.data_path}, {settings.storage.backend} store, "
            f"broker {settings.broker.host}:{settings.broker.port} (TLS), "
            f"web http://{settings.web.host}:{settings.web.port}/")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path,
                        help="settings file (TOML; see docs/printfleet.sample.toml). "
                             "PRINTFLEET_* variables override it, e.g. PRINTFLEET_WEB__PORT=8081")
    common.add_argument("--data-dir", help="data directory (default ./data)")
    common.add_argument("--check-config", action="store_true",
                        help="validate the settings, print every error, and exit")
    common.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    parser = argparse.ArgumentParser(
        prog="printfleet",
        description="Printfleet: a self-hostable cloud for fleets of 3D printers.",
        epilog="Start with `printfleet up --printers 3`, then open the URL it prints.")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    up = command("up", commands.up, "run the whole stack (broker, worker, scheduler, web) "
                                     "on SQLite in the data directory until Ctrl-C")
    up.add_argument("--printers", type=int, default=0, metavar="N",
                    help="also run N simulated printers (default 0)")
    up.add_argument("--broker-port", type=int, help="MQTT port (default 1884)")
    up.add_argument("--web-port", type=int, help="web UI port (default 8080)")
    up.add_argument("--job-duration-s", type=float, default=180.0,
                    help="length of each simulated print (default 180)")

    command("migrate", commands.migrate, "apply pending database migrations")
    worker = command("worker", commands.worker, "run one fleet ingest worker (MQTT -> storage)")
    worker.add_argument("--worker-id", help="this worker's stable id (default: the host name); "
                        "give each worker on one host its own, and keep it across restarts so "
                        "a restarted worker resumes its session")
    command("scheduler", commands.scheduler,
            "run the scheduler process (presence watchdog; exactly one per installation)")
    web = command("web", commands.web, "run the web UI server")
    web.add_argument("--web-port", type=int, help="web UI port (default 8080)")

    sim = command("simulate", commands.simulate,
                  "provision N devices and run simulated printers against a running stack")
    sim.add_argument("--printers", type=int, default=3, metavar="N", help="how many (default 3)")
    sim.add_argument("--owner", help="email of the owning user (default the admin user)")
    sim.add_argument("--job-duration-s", type=float, default=180.0,
                     help="length of each simulated print (default 180)")
    sim.add_argument("--heartbeat-interval-s", type=float, default=10.0,
                     help="heartbeat interval of each agent (default 10)")

    status = command("status", commands.status, "show the fleet at a glance")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")

    bench = sub.add_parser("bench", help="measure performance (figures as JSON on stdout)",
                           description="Benchmarks print figures, and ratios against baselines "
                                       "measured in the same run, as one JSON object.")
    bench_sub = bench.add_subparsers(title="benchmarks", metavar="BENCHMARK")
    ingest_help = ("ingest: start a broker, a fresh store and N simulated devices, then measure "
                   "the fleet worker's committed msg/s against a bare MQTT drain and a direct "
                   "store write, publish-to-commit latency, loss and the worker's memory")
    ingest = bench_sub.add_parser("ingest", parents=[common], help=ingest_help,
                                  description=ingest_help)
    ingest.set_defaults(handler=commands.bench_ingest)
    ingest.add_argument("--backend", choices=["sqlite", "postgres"],
                        help="store to measure (default: storage.backend of the settings). "
                             "postgres creates and drops a fresh database on the server in the "
                             "variable storage.postgres_dsn_env names (default DATABASE_URL)")
    ingest.add_argument("--devices", type=int, default=200, metavar="N",
                        help="simulated printers, each on its own MQTT connection with its own "
                             "credentials (default 200)")
    ingest.add_argument("--seconds", type=float, default=10.0, metavar="S",
                        help="length of each phase: bare drain, max rate, latency (default 10)")
    ingest.add_argument("--generators", type=int, metavar="K",
                        help="load-generator processes the devices are spread over "
                             "(default: one per CPU, 2 to 4)")
    ingest.add_argument("--workers", type=int, default=1, metavar="N",
                        help="fleet worker processes sharing the subscription, as a fleet "
                             "scales out; their commits are summed (default 1)")
    queries_help = ("queries: build N printers' telemetry history (default 100 printers x 30 "
                    "days at one sample per 10 s) in a fresh store, then time p50/p95 of a "
                    "printer's 24-hour and 30-day temperature charts and the fleet overview, "
                    "through the store and as the same SQL on a direct connection, and the "
                    "rollup against a raw-telemetry scan (loading the full size takes minutes)")
    queries = bench_sub.add_parser("queries", parents=[common], help=queries_help,
                                   description=queries_help)
    queries.set_defaults(handler=commands.bench_queries)
    _add_scratch_store_arguments(queries, "; a server with TimescaleDB runs in TimescaleDB mode")
    queries.add_argument("--printers", type=int, default=100, metavar="N",
                         help="printers in the history (default 100)")
    queries.add_argument("--days", type=int, default=30, metavar="D",
                         help="days of history per printer, ending at the last full hour "
                              "(default 30)")
    queries.add_argument("--interval-s", type=int, default=10, metavar="S",
                         help="seconds between samples (default 10: 8,640 a day)")
    queries.add_argument("--repeats", type=int, default=200, metavar="N",
                         help="timed runs per read and side, each for a random printer "
                              "(default 200; the raw scan gets a tenth, at least 5)")
    queries.add_argument("--json", action="store_true",
                         help="print the full report as JSON instead of a summary")

    web_help = ("web: fill a fresh store with N printers (default 1,000) and 30 days of history "
                "(rollups, print jobs, downtime), then time p50/p95 of the fleet dashboard, a "
                "printer page and the jobs list through the web app with a signed-in session, "
                "next to the same reads on the store, against p95 <= 300 ms a page")
    web = bench_sub.add_parser("web", parents=[common], help=web_help, description=web_help)
    web.set_defaults(handler=commands.bench_web)
    _add_scratch_store_arguments(web, ", with plain rollup tables")
    web.add_argument("--printers", type=int, default=1000, metavar="N",
                     help="printers, all owned by the bench user (default 1000)")
    web.add_argument("--days", type=int, default=30, metavar="D",
                     help="days of history per printer (default 30)")
    web.add_argument("--repeats", type=int, default=100, metavar="N",
                     help="timed runs per page and side, each for a random printer "
                          "(default 100)")

    retention_help = ("retention: write a day of telemetry for N printers (default 100 x 8,640 "
                      "samples), all past [retention] telemetry_days, into a fresh store; time "
                      "a plain DELETE of it, then write it again, bring it to the state the "
                      "service holds it in when it expires (rollups materialized; compressed "
                      "under TimescaleDB) and time the retention run; repeat; print the medians "
                      "and their ratio as JSON (target >= 20x on TimescaleDB; it also compares "
                      "both removals on the same storage there)")
    retention = bench_sub.add_parser("retention", parents=[common], help=retention_help,
                                     description=retention_help)
    retention.set_defaults(handler=commands.bench_retention)
    _add_scratch_store_arguments(retention,
                                 "; a server with TimescaleDB runs in TimescaleDB mode")
    retention.add_argument("--printers", type=int, default=100, metavar="N",
                           help="printers (default 100)")
    retention.add_argument("--interval-s", type=int, default=10, metavar="S",
                           help="seconds between samples (default 10: 8,640 a day)")
    retention.add_argument("--repeats", type=int, default=3, metavar="N",
                           help="timed removals of each kind; medians are reported (default 3)")
    retention.add_argument("--settle-s", type=float, default=5.0, metavar="S",
                           help="pause after flushing to disk before each timed removal, so "
                                "none pays for the writes before it (default 5)")

    connections_help = ("connections: start a broker with broker-config, provision N devices "
                        "each with its own credentials, connect them all at once and hold them, "
                        "then check every device's message reaches the fleet and that sampled "
                        "devices can neither read nor write another device's topics")
    connections = bench_sub.add_parser("connections", parents=[common], help=connections_help,
                                       description=connections_help)
    connections.set_defaults(handler=commands.bench_connections)
    connections.add_argument("--devices", type=int, default=10_000, metavar="N",
                             help="devices to provision and connect at once (default 10000)")
    connections.add_argument("--processes", type=int, metavar="P",
                             help="client processes the connections are spread over "
                                  "(default: one per 2500 devices, 2 to 8)")
    connections.add_argument("--acl-sample", type=int, default=100, metavar="K",
                             help="devices that try to read and write a neighbour's topics "
                                  "(default 100, at most N/2)")
    connections.add_argument("--hold", type=float, default=35.0, metavar="S",
                             help="seconds to hold every connection after the checks, then "
                                  "count again (default 35: past the agents' 30 s keep-alive)")
    connections.add_argument("--json", action="store_true",
                             help="print the full report as JSON instead of a summary "
                                  "(progress goes to stderr either way; the exit status is 1 "
                                  "if any check failed)")

    _retention_commands(sub, common)
    _privacy_commands(sub, common)

    user = command("user-add", commands.user_add, "create a user account")
    user.add_argument("email")
    user.add_argument("--operator", action="store_true",
                      help="make the user an operator (server-wide pages such as "
                           "/admin/retention)")
    user.add_argument("--password-file", type=Path,
                      help="read the password from this file instead of prompting")
    user.add_argument("--first-name", default="")
    user.add_argument("--last-name", default="")
    return parser


def _retention_commands(sub: argparse._SubParsersAction,
                        common: argparse.ArgumentParser) -> None:
    retention = sub.add_parser(
        "retention", help="show, tune, preview and run data retention",
        description="How long each class of data is kept ([retention] in the settings), "
                    "what a run would remove, and running it now.")
    actions = retention.add_subparsers(title="actions", metavar="ACTION")
    show = actions.add_parser("show", parents=[common],
                              help="every class's setting, default and ceiling, and the "
                                   "latest runs")
    show.set_defaults(handler=retention_cli.show)
    show.add_argument("--runs", type=int, default=20, metavar="N",
                      help="latest runs to list (default 20)")
    show.add_argument("--json", action="store_true", help="print JSON")
    setter = actions.add_parser("set", parents=[common],
                                help="write one class's setting into the --config file "
                                     "(values past the privacy policy's ceilings are refused)")
    setter.set_defaults(handler=retention_cli.set_value)
    setter.add_argument("name", help="a class (e.g. job_pictures) or its setting key "
                                     "(e.g. job_pictures_days)")
    setter.add_argument("value", help="the new value, in the class's unit (s or days)")
    for name, handler, text in (
            ("preview", retention_cli.preview, "say per class what a run now would remove "
                                               "(rows, files, oldest and newest)"),
            ("run-now", retention_cli.run_now, "remove now what each class no longer keeps")):
        action = actions.add_parser(name, parents=[common], help=text, description=text)
        action.set_defaults(handler=handler)
        action.add_argument("--class", dest="data_class", action="append", metavar="NAME",
                            help="only this class (repeatable; default every class)")
        action.add_argument("--json", action="store_true", help="print JSON")


def _privacy_commands(sub: argparse._SubParsersAction,
                      common: argparse.ArgumentParser) -> None:
    privacy = sub.add_parser("privacy", help="check what is held about a user",
                             description="Data-rights tools for operators.")
    actions = privacy.add_subparsers(title="actions", metavar="ACTION")
    text = ("scan every table's text and user-id columns and the files, camera and exports "
            "directories for a user's identifiers (id, email, names, their printers' device "
            "ids, their sessions' IPs); report per table with counts; exit 1 if any is found "
            "(zero after an erasure)")
    verify = actions.add_parser("verify-erasure", parents=[common], help=text, description=text)
    verify.set_defaults(handler=privacy_cli.verify)
    verify.add_argument("user", metavar="USER",
                        help="an email or a user id; an erased account is found by its "
                             "erasure receipt (give the email to check names, device ids "
                             "and IPs too)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")


def install_stop_signals() -> threading.Event:
    """Return an event set by SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def async_stop_event(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """Return an asyncio event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def prompt_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise commands.CommandError("the passwords do not match")
    return first


def _add_scratch_store_arguments(parser: argparse.ArgumentParser, mode_note: str) -> None:
    """--backend and --dsn of a bench that fills a fresh store (printfleet/bench/scratch_store.py)."""
    parser.add_argument("--backend", choices=["sqlite", "postgres"],
                        help="store to measure (default: storage.backend of the settings). "
                             "postgres creates and drops a fresh database on the server given "
                             "by --dsn or the variable storage.postgres_dsn_env names "
                             f"(default DATABASE_URL){mode_note}")
    parser.add_argument("--dsn", metavar="URL",
                        help="PostgreSQL server to create the scratch database on, as a user "
                             "who may CREATE DATABASE (default: from the environment)")
