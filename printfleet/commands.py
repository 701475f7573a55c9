"""What each `printfleet` subcommand does; cli.py only parses arguments."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from fleet.worker import BrokerRefused, run_worker
from storage import open_ingest_store

from . import limits, stack
from . import scheduler as scheduler_module
from . import simulate as simulate_module
from . import status as status_module
from .broker_endpoint import fleet_endpoint
from .context import Context

logger = logging.getLogger(__name__)


class CommandError(RuntimeError):
    """A command cannot do what was asked; the message says why."""


def migrate(context: Context, args: argparse.Namespace) -> int:
    store = context.open_store()
    applied = store.migrate()
    print(f"applied migrations: {applied}" if applied else "database is up to date")
    return 0


def worker(context: Context, args: argparse.Namespace) -> int:
    from .cli import async_stop_event

    async def run() -> None:
        stop = async_stop_event(asyncio.get_running_loop())
        await run_worker(context.settings, open_ingest_store(context.settings),
                         context.fleet_password, stop, args.worker_id)

    try:
        asyncio.run(run())
    except BrokerRefused as error:
        raise CommandError(str(error)) from None
    return 0


def scheduler(context: Context, args: argparse.Namespace) -> int:
    from .cli import install_stop_signals

    store = context.open_store()
    built = scheduler_module.build_scheduler(context.settings, store)
    stop = install_stop_signals()
    thread = threading.Thread(target=built.start, name="scheduler", daemon=True)
    thread.start()
    expiry = scheduler_module.start_live_expiry(context.settings, store)
    logger.info("scheduler running jobs: %s, and the live picture expiry",
                ", ".join(j.name for j in built.get_jobs()))
    stop.wait()
    expiry.stop()
    built.shutdown(wait=True)
    return 0


def web(context: Context, args: argparse.Namespace) -> int:
    from web import create_app
    from web.server import make_server

    from .cli import install_stop_signals

    store = context.open_store()
    server = make_server(context.settings, create_app(context.settings, store))
    stop = install_stop_signals()
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    stop.wait()
    server.close()
    return 0


def simulate(context: Context, args: argparse.Namespace) -> int:
    store = context.open_store(migrate=True)
    owner_email = args.owner or stack.ADMIN_EMAIL
    owner = store.user_by_email(owner_email)
    if owner is None:
        raise CommandError(f"no user {owner_email!r}; create one with `printfleet user-add` "
                           "or start the stack once with `printfleet up`")
    if args.printers < 1:
        raise CommandError("--printers must be at least 1")
    agent_settings = simulate_module.provision_simulated(
        context, store, args.printers, owner.id, args.job_duration_s, args.heartbeat_interval_s)
    simulate_module.run(agent_settings)
    return 0


def status(context: Context, args: argparse.Namespace) -> int:
    report = status_module.collect(context.settings, context.open_store(migrate=False))
    print(status_module.render_json(report) if args.json else status_module.render_text(report))
    return 0


def _run_bench(run: Callable[..., dict[str, Any]], context: Context, options: object
               ) -> dict[str, Any]:
    """Run a benchmark with its progress on stderr; its failures become clear errors."""
    from .bench.processes import BenchError

    try:
        return run(context.settings, options,
                   lambda text: print(text, file=sys.stderr, flush=True))
    except BenchError as error:
        raise CommandError(str(error)) from None


def bench_ingest(context: Context, args: argparse.Namespace) -> int:
    from .bench.ingest import BenchOptions, default_generators, run

    if (args.devices < 1 or args.seconds <= 0 or args.workers < 1
            or (args.generators is not None and args.generators < 1)):
        raise CommandError("--devices, --generators and --workers must be at least 1, "
                           "--seconds above 0")
    options = BenchOptions(args.backend or context.settings.storage.backend, args.devices,
                           args.seconds, args.generators or default_generators(), args.workers)
    report = _run_bench(run, context, options)
    print(json.dumps(report, indent=2))
    return 0


def bench_connections(context: Context, args: argparse.Namespace) -> int:
    from .bench.connections import ConnectionsOptions, default_processes, run
    from .bench.connections_report import summary

    if args.devices < 2 or (args.processes is not None and args.processes < 1) \
            or args.acl_sample < 0 or args.hold < 0:
        raise CommandError("--devices must be at least 2, --processes at least 1, "
                           "--acl-sample and --hold at least 0")
    options = ConnectionsOptions(args.devices, args.processes or default_processes(args.devices),
                                 args.acl_sample, args.hold)
    report = _run_bench(run, context, options)
    print(json.dumps(report, indent=2) if args.json else summary(report))
    return 0 if report["passed"] else 1


def bench_queries(context: Context, args: argparse.Namespace) -> int:
    from .bench.queries import QueryBenchOptions, run
    from .bench.query_report import summary

    if min(args.printers, args.days, args.interval_s, args.repeats) < 1:
        raise CommandError("--printers, --days, --interval-s and --repeats must be at least 1")
    if 86400 % args.interval_s:
        raise CommandError("--interval-s must divide a day (86,400 s) evenly")
    options = QueryBenchOptions(args.backend or context.settings.storage.backend, args.printers,
                                args.days, args.interval_s, args.repeats, args.dsn)
    report = _run_bench(run, context, options)
    print(json.dumps(report, indent=2) if args.json else summary(report))
    return 0


def bench_web(context: Context, args: argparse.Namespace) -> int:
    from .bench.web import WebBenchOptions, run

    if min(args.printers, args.days, args.repeats) < 1:
        raise CommandError("--printers, --days and --repeats must be at least 1")
    options = WebBenchOptions(args.backend or context.settings.storage.backend, args.printers,
                              args.days, args.repeats, args.dsn)
    report = _run_bench(run, context, options)
    print(json.dumps(report, indent=2))
    return 0


def bench_retention(context: Context, args: argparse.Namespace) -> int:
    from .bench.retention import RetentionBenchOptions, run

    if args.settle_s < 0:
        raise CommandError("--settle-s must not be negative")
    if min(args.printers, args.interval_s, args.repeats) < 1 or 86400 % args.interval_s:
        raise CommandError("--printers, --interval-s and --repeats must be at least 1, and "
                           "--interval-s "
                           "must divide a day (86,400 s) evenly")
    options = RetentionBenchOptions(args.backend or context.settings.storage.backend,
                                    args.printers, args.interval_s, args.dsn, args.repeats,
                                    args.settle_s)
    report = _run_bench(run, context, options)
    print(json.dumps(report, indent=2))
    return 0


def user_add(context: Context, args: argparse.Namespace) -> int:
    from web.passwords import hash_password

    from .cli import prompt_password

    store = context.open_store(migrate=True)
    if store.user_by_email(args.email) is not None:
        raise CommandError(f"a user {args.email!r} already exists")
    if args.password_file:
        password = args.password_file.read_text(encoding="utf-8").strip()
    else:
        password = prompt_password()
    if len(password) < 8:
        raise CommandError("the password must have at least 8 characters")
    user_id = store.create_user(args.email, hash_password(password), args.first_name,
                                args.last_name)
    if args.operator:
        store.set_operator(user_id, True)
    print(f"created {'operator' if args.operator else 'user'} {args.email}")
    return 0


def up(context: Context, args: argparse.Namespace) -> int:
    settings = context.settings
    try:
        mosquitto = stack.find_mosquitto(settings.broker.mosquitto_path)
        stack.check_port_free(settings.broker.bind_address, settings.broker.port, "MQTT broker",
                              "--broker-port or PRINTFLEET_BROKER__PORT")
        if settings.broker.local_port:
            stack.check_port_free("127.0.0.1", settings.broker.local_port,
                                  "broker's local listener", "PRINTFLEET_BROKER__LOCAL_PORT")
        stack.check_port_free(settings.web.host, settings.web.port, "web UI",
                              "--web-port or PRINTFLEET_WEB__PORT")
    except stack.StackError as error:
        raise CommandError(str(error)) from None
    store = context.open_store(migrate=True)
    try:
        config_path = stack.prepare(context, store)
    except stack.StackError as error:
        store.stop()
        raise CommandError(str(error)) from None
    email, password_file = stack.ensure_admin(context, store)
    store.stop()
    children: list[stack.Child] = []
    # Mosquitto and the worker inherit it: one descriptor per connected device.
    limits.raise_open_file_limit()
    try:
        children.append(stack.spawn("mosquitto", [mosquitto, "-c", str(config_path)]))
        # The last listener Mosquitto opens is the one the worker uses.
        endpoint = fleet_endpoint(settings)
        stack.wait_for_port(endpoint.host, endpoint.port, children[-1])
        children.append(stack.spawn("worker", stack.printfleet_argv(args.config, "worker")))
        children.append(stack.spawn("scheduler", stack.printfleet_argv(args.config, "scheduler")))
        children.append(stack.spawn("web", stack.printfleet_argv(args.config, "web")))
        stack.wait_for_port(settings.web.host, settings.web.port, children[-1])
        if args.printers:
            children.append(stack.spawn("simulator", stack.printfleet_argv(
                args.config, "simulate", "--printers", str(args.printers),
                "--job-duration-s", str(args.job_duration_s))))
    except stack.StackError as error:
        stack.stop_all(children)
        raise CommandError(str(error)) from None
    _announce(context, email, password_file, args.printers)
    return stack.supervise(children)


def _announce(context: Context, email: str, password_file: object, printers: int) -> None:
    web_settings = context.settings.web
    host = "localhost" if web_settings.host in ("127.0.0.1", "0.0.0.0") else web_settings.host
    lines = [
        "",
        f"Printfleet is running: http://{host}:{web_settings.port}/",
        f"  sign in as {email} with the password in {password_file}",
        f"  MQTT broker for devices on port {context.settings.broker.port} (TLS) "
        f"(log: {context.broker_paths.log_file}); data in {context.settings.data_path}",
    ]
    if printers:
        lines.append(f"  {printers} simulated printers are reporting")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), file=sys.stderr, flush=True)
