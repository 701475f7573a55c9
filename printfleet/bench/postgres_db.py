"""A fresh PostgreSQL database for one bench run, on the server the settings point at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from printfleet.settings import Settings
from storage.postgres.scratch import ScratchUnavailable, scratch_database

from .processes import BenchError

# Where the bench's own database URL goes: the settings name a variable
# (secret by reference), and not a PRINTFLEET_* one, which would be read as a
# settings override.
BENCH_DSN_VARIABLE = "PF_BENCH_DATABASE_URL"


@contextmanager
def fresh_database(settings: Settings, server: str | None = None) -> Iterator[str]:
    """Create an empty database on `server` or the configured one, yield its URL, then drop it."""
    variable = settings.storage.postgres_dsn_env
    server = (server or os.environ.get(variable, "")).strip()
    if not server:
        raise BenchError(
            f"--backend postgres needs a PostgreSQL server: set {variable} (the variable "
            "storage.postgres_dsn_env names) to the URL of a user who may CREATE DATABASE, "
            "e.g. postgresql://postgres@127.0.0.1:5432/postgres. The bench creates a fresh "
            "database there and drops it afterwards.")
    try:
        with scratch_database(server, "printfleet_bench") as dsn:
            yield dsn
    except ScratchUnavailable as error:
        raise BenchError(str(error)) from error


@contextmanager
def environment_variable(name: str, value: str) -> Iterator[None]:
    """Set a variable for this process and the children it starts, then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
