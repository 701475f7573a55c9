"""What a new user does first, in a real browser: sign up, pair a printer, upload a file.

One stack for the module; each journey signs up a user of its own.
"""

from __future__ import annotations

import gzip
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ..support import wait_until
from .conftest import Stack

pytestmark = pytest.mark.timeout(240)

PASSWORD = "a long enough passphrase"
GCODE_FILES = Path(__file__).parents[1] / "gcode" / "files"
_emails = (f"user{n}-{os.getpid()}@example.org" for n in itertools.count(1))


def sign_up(page: Page, email: str | None = None) -> str:
    email = email or next(_emails)
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/printers$"))
    return email


def test_sign_up_then_sign_out_and_back_in(page: Page, stack: Stack):
    email = sign_up(page)
    expect(page.locator('[data-field="user-email"]')).to_have_text(email)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/printers$"))
    expect(page.locator('[data-field="user-email"]')).to_have_text(email)


@pytest.fixture
def unpaired_agent(stack: Stack, tmp_path: Path) -> Iterator[Path]:
    """A real agent with a simulated printer and no credentials yet: it asks to be paired."""
    data = tmp_path / "agent"
    config = tmp_path / "agent.toml"
    config.write_text(f"""
data_dir = "{data}"
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
auto_start_after_s = 600.0
""")
    log = (tmp_path / "agent.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "printfleet_agent.cli", "--config", str(config),
                                "run"], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield config
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def shown_code(config: Path) -> str | None:
    status = subprocess.run([sys.executable, "-m", "printfleet_agent.cli", "--config", str(config),
                             "status"], capture_output=True, text=True, timeout=30)
    match = re.search(r"waits to be paired: code (\w+)", status.stdout)
    return match.group(1) if match else None


def test_pair_a_printer_by_its_code_and_watch_it_come_online(page: Page, stack: Stack,
                                                             unpaired_agent: Path):
    sign_up(page)
    codes: list[str] = []
    wait_until(lambda: codes.append(shown_code(unpaired_agent) or "") or codes[-1], 30,
               "the agent to show its pairing code")
    # The agent waits on the same network (same public IP) as the browser.
    page.reload()
    expect(page.locator("#waiting-list li")).to_have_count(1, timeout=20_000)
    page.get_by_label("Code shown by the agent").fill(codes[-1])
    page.get_by_label("Name").fill("Workshop MK4")
    page.get_by_role("button", name="Add printer").click()
    expect(page.locator("#claim-result")).to_contain_text("Added Workshop MK4")
    row = page.locator("table#printers tbody tr", has_text="Workshop MK4")
    expect(row).to_have_count(1, timeout=60_000)
    expect(row.locator('[data-field="presence"]')).to_have_text("online", timeout=60_000)
    expect(row.locator('[data-field="heaters"]')).to_contain_text("°C", timeout=30_000)


def test_upload_a_gcode_file_with_progress_and_see_its_analysis(page: Page, stack: Stack,
                                                                tmp_path: Path):
    sign_up(page)
    gcode = gzip.decompress((GCODE_FILES / "prusaslicer-2.5.0-cube.gcode.gz").read_bytes())
    # Padded with comments to a few MiB, so the upload takes long enough to report progress.
    upload = tmp_path / "cube.gcode"
    upload.write_bytes(gcode + b"; padding\n" * 600_000)
    page.goto("/files")
    progress: list[float] = []
    page.on("console", lambda message: progress.append(float(message.text.split()[1]))
            if message.text.startswith("upload-progress ") else None)
    # The page navigates away when the upload ends: what the bar showed is sent out
    # through the console as it changes.
    page.evaluate("""() => {
        const bar = document.getElementById('upload-progress');
        new MutationObserver(() => console.log('upload-progress ' + bar.value))
            .observe(document.getElementById('upload-status'),
                     {childList: true, characterData: true, subtree: true});
    }""")
    page.locator('#upload-form input[type="file"]').set_input_files(str(upload))
    page.locator("#upload-form button[type=submit]").click()
    expect(page.locator('[data-field="name"]').first).to_have_text("cube.gcode", timeout=60_000)
    expect(page.locator('[data-field="slicer"]')).to_have_text(re.compile(r"PrusaSlicer 2\.5\.0"))
    expect(page.locator('[data-field="filament"]')).to_contain_text(" m")
    expect(page.locator('[data-field="layers"]')).to_have_text(re.compile(r"^\d+$"))
    # The bar starts at 0 and ends full (on loopback the steps between may be few).
    assert progress and progress[0] == 0 and progress[-1] == 100, progress
