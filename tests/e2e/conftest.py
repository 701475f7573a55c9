"""Browser fixtures: the real stack from `printfleet up`, and Debian's Chromium driven by Playwright.

The browser is the system's Chromium (scripts/install-browser.sh installs it); Playwright
never downloads one. A failing test's message names a screenshot of its page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from ..support import free_port, listening, unique_prefix, wait_until

CHROMIUM = os.environ.get("PF_CHROMIUM", "/usr/bin/chromium")
# Headless as root on a closed network: without the background-networking flags
# Chromium keeps trying (and failing) to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ADMIN_EMAIL = "admin@printfleet.local"


@dataclass
class Stack:
    """A running `printfleet up` with one simulated printer."""

    base_url: str
    data: Path
    log: Path
    broker_port: int
    topic_prefix: str

    @property
    def admin_password(self) -> str:
        return (self.data / "secrets" / "admin_password").read_text().strip()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One real stack per test module: broker, worker, scheduler, web and a simulated printer."""
    root = tmp_path_factory.mktemp("stack")
    ports = {"broker": free_port(), "web": free_port()}
    prefix = unique_prefix()
    env = {**os.environ, "PRINTFLEET_DATA_DIR": str(root / "data"),
           "PRINTFLEET_BROKER__PORT": str(ports["broker"]),
           "PRINTFLEET_BROKER__LOCAL_PORT": str(free_port()),
           "PRINTFLEET_WEB__PORT": str(ports["web"]),
           "PRINTFLEET_BROKER__TOPIC_PREFIX": prefix}
    running = Stack(f"http://127.0.0.1:{ports['web']}", root / "data", root / "printfleet-up.log",
                    ports["broker"], prefix)
    # A file, not a pipe: nobody reads the output while the tests run, and a full
    # pipe would stall the stack.
    with running.log.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "printfleet", "up", "--printers", "1", "--job-duration-s", "30"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(ports["web"]) or process.poll() is not None, 60, "the web server")
        assert process.poll() is None, running.log_tail()
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


# Module scope, not session: Playwright's sync API keeps an asyncio loop
# running on the main thread while it is open, and tests of other modules
# that call asyncio.run() would then fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium; Playwright gives it a new empty profile directory."""
    if not os.access(CHROMIUM, os.X_OK):
        raise pytest.UsageError(f"{CHROMIUM} not found: run scripts/install-browser.sh")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, stack: Stack, tmp_path: Path) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), its URLs relative to the stack."""
    # tmp_path is asked for so that a failure's screenshot has a place of the test's own.
    context = browser.new_context(base_url=stack.base_url)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """On a failure, save a screenshot of the test's page and name it in the failure message."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and call.when == "call" and isinstance(page, Page):
        where = Path(item.funcargs["tmp_path"]) / "failure.png"
        try:
            page.screenshot(path=str(where), full_page=True)
            note = f"screenshot of the page at {page.url}: {where}"
        except Exception as error:  # a crashed page must not hide the test's own failure
            note = f"no screenshot ({error})"
        stack = item.funcargs.get("stack")
        if isinstance(stack, Stack):
            note += f"\nprintfleet up log: {stack.log}\n{stack.log_tail()}"
        if hasattr(report.longrepr, "addsection"):
            report.longrepr.addsection("browser", note)
        else:
            report.sections.append(("browser", note))
    return report
