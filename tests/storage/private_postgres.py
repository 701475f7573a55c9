"""A throwaway PostgreSQL server of the test's own, which the test may stop and start.

The shared server (postgres_server.py) must stay up for everyone; a fault
test that takes the database away gets a cluster of its own instead: initdb
in a temporary directory, listening on a free loopback port, trust auth for
the user postgres, removed afterwards. It uses the server binaries that
scripts/ensure-postgres.sh installs (Debian's /usr/lib/postgresql/<version>/bin,
the newest one), or PF_TEST_POSTGRES_BINDIR. initdb refuses to run as root,
so as root the cluster is made and run as the system user postgres.
Missing binaries fail the test; it is never skipped.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
import pytest

from ..support import free_port, wait_until

BINDIR_VARIABLE = "PF_TEST_POSTGRES_BINDIR"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
RUN_AS = "postgres"  # the system user when the tests run as root
START_TIMEOUT_S = 60

ShutdownMode = Literal["smart", "fast", "immediate"]


def server_bindir() -> Path:
    """Find initdb and pg_ctl: PF_TEST_POSTGRES_BINDIR, Debian's newest, else the PATH."""
    configured = os.environ.get(BINDIR_VARIABLE)
    candidates = [Path(configured)] if configured else []
    if DEBIAN_ROOT.is_dir():
        versions = sorted((p for p in DEBIAN_ROOT.iterdir() if re.fullmatch(r"\d+", p.name)),
                          key=lambda p: int(p.name), reverse=True)
        candidates += [p / "bin" for p in versions]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    pytest.fail("this test runs a PostgreSQL server of its own and needs initdb and pg_ctl: "
                f"run scripts/ensure-postgres.sh, or set {BINDIR_VARIABLE} to their directory",
                pytrace=False)


@dataclass
class PrivatePostgres:
    """One cluster in a temporary directory; start() and stop() it as often as needed."""

    bindir: Path
    directory: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-instructions")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        # Loopback only; the socket in our own directory, not /run/postgresql.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.directory}")
        self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                  "-o", options, "-w", "-t", str(START_TIMEOUT_S))
        wait_until(self.accepts_connections, 10, "the private PostgreSQL server to answer")

    def stop(self, mode: ShutdownMode = "fast") -> None:
        """Stop the server: fast (roll back and disconnect) or immediate (as if it crashed)."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w",
                  "-t", str(START_TIMEOUT_S))

    def is_running(self) -> bool:
        status = subprocess.run(self._argv("pg_ctl", "status", "-D", str(self.data_dir)),
                                capture_output=True, check=False)
        return status.returncode == 0

    def accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _argv(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", RUN_AS, "--", *argv]
        return argv

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(self._argv(program, *args), capture_output=True, text=True,
                              check=False, timeout=START_TIMEOUT_S + 30)
        if done.returncode != 0:
            raise AssertionError(f"{program} {' '.join(args[:1])} failed ({done.returncode}):\n"
                                 f"{done.stdout}{done.stderr}\n{self.log()[-2000:]}")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Create and start a throwaway cluster; stop it and delete its files afterwards."""
    bindir = server_bindir()
    # Not pytest's tmp_path: as root that sits in a directory only root may enter.
    directory = Path(tempfile.mkdtemp(prefix="printfleet-pg-"))
    try:
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(RUN_AS)
            except KeyError:
                pytest.fail(f"running as root, this test needs the system user {RUN_AS!r} "
                            "(scripts/ensure-postgres.sh installs PostgreSQL, which adds it)",
                            pytrace=False)
            os.chown(directory, user.pw_uid, user.pw_gid)
        server = PrivatePostgres(bindir, directory, free_port())
        server.initdb()
        server.start()
        try:
            yield server
        finally:
            if server.is_running():
                server.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)

