"""Steps the browser journeys share: accounts, a real agent to pair, uploads."""

from __future__ import annotations

import gzip
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, Request, expect

from ..support import wait_until
from .conftest import ADMIN_EMAIL, Stack

PASSWORD = "a long enough passphrase"
GCODE_FILES = Path(__file__).parents[1] / "gcode" / "files"
_emails = (f"user{n}-{os.getpid()}@example.org" for n in itertools.count(1))


def new_email() -> str:
    return next(_emails)


def sign_up(page: Page, email: str | None = None) -> str:
    email = email or new_email()
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/printers$"))
    return email


def sign_in(page: Page, password: str, email: str = ADMIN_EMAIL) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def slicer_gcode(path: Path) -> Path:
    """Write a real slicer's small G-code (a PrusaSlicer cube) to path."""
    path.write_bytes(gzip.decompress((GCODE_FILES / "prusaslicer-2.5.0-cube.gcode.gz").read_bytes()))
    return path


def upload(page: Page, path: Path) -> None:
    """Upload a file on /files and wait for its page (where the upload leads)."""
    page.goto("/files")
    page.locator('#upload-form input[type="file"]').set_input_files(str(path))
    page.locator("#upload-form button[type=submit]").click()
    expect(page.locator('[data-field="name"]').first).to_have_text(path.name, timeout=60_000)


@contextmanager
def running_agent(stack: Stack, directory: Path, simulated: str) -> Iterator[Path]:
    """Run a real agent with one simulated printer and no credentials yet; yield its config.

    `simulated` is the body of its [printers.simulated] section.
    """
    config = directory / "agent.toml"
    config.write_text(f"""
data_dir = "{directory / 'agent'}"
telemetry_interval_s = 0.5
heartbeat_interval_s = 2.0
[broker]
port = {stack.broker_port}
topic_prefix = "{stack.topic_prefix}"
[server]
url = "{stack.base_url}"
[[printers]]
name = "Workshop"
[printers.simulated]
{simulated}
""")
    with (directory / "agent.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "printfleet_agent.cli", "--config",
                                    str(config), "run"], stdout=log, stderr=subprocess.STDOUT)
        try:
            yield config
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def shown_code(config: Path) -> str | None:
    status = subprocess.run([sys.executable, "-m", "printfleet_agent.cli", "--config", str(config),
                             "status"], capture_output=True, text=True, timeout=30)
    match = re.search(r"waits to be paired: code (\w+)", status.stdout)
    return match.group(1) if match else None


def pair(page: Page, config: Path, name: str) -> None:
    """Claim the agent by the code it shows, from the printers page, and see it listed."""
    codes: list[str] = []
    wait_until(lambda: codes.append(shown_code(config) or "") or codes[-1], 30,
               "the agent to show its pairing code")
    # The agent waits on the same network (same public IP) as the browser.
    page.goto("/printers")
    expect(page.locator("#waiting-list li")).to_have_count(1, timeout=20_000)
    page.get_by_label("Code shown by the agent").fill(codes[-1])
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add printer").click()
    expect(page.locator("#claim-result")).to_contain_text(f"Added {name}")
    expect(page.locator("table#printers tbody tr", has_text=name)).to_have_count(1, timeout=60_000)


class StreamWatch:
    """Count the page's connections to the live stream, and the most open at once."""

    def __init__(self, page: Page, url: str) -> None:
        self.url = url
        self.opened = 0
        self.open_now = 0
        self.most_open = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        if request.url == self.url:
            self.opened += 1
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)

    def _ended(self, request: Request) -> None:
        if request.url == self.url:
            self.open_now -= 1
