"""What users do, in a real browser: sign up, pair a printer, upload a file, print it and
watch it finish, undo a deletion, share a printer with a viewer, download the jobs CSV.

One stack for the module; each journey signs up a user of its own, but for the
ones that need the stack's simulated printer (it belongs to the admin user).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from web.access import VIEWER_CANNOT_COMMAND
from web.job_export import CSV_COLUMNS

from ..support import wait_until
from .conftest import Stack
from .steps import (
    GCODE_FILES,
    PASSWORD,
    StreamWatch,
    new_email,
    pair,
    running_agent,
    sign_in,
    sign_up,
    slicer_gcode,
    upload,
)

pytestmark = pytest.mark.timeout(240)

STACK_PRINTER = "sim-printer-01"
# The journeys' own agent never starts a print by itself and never fails one,
# so the job watched is the one the user started; a short job, quick heaters.
OWN_PRINTER = """
job_duration_s = 12.0
fail_probability = 0.0
auto_start_after_s = 0.0
heater_time_constant_s = 0.5
"""


@pytest.fixture
def agent(stack: Stack, tmp_path: Path) -> Iterator[Path]:
    """A real agent with a simulated printer and no credentials yet: it asks to be paired."""
    with running_agent(stack, tmp_path, OWN_PRINTER) as config:
        yield config


def test_sign_up_then_sign_out_and_back_in(page: Page, stack: Stack):
    email = sign_up(page)
    expect(page.locator('[data-field="user-email"]')).to_have_text(email)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in(page, PASSWORD, email)
    expect(page).to_have_url(re.compile(r"/printers$"))
    expect(page.locator('[data-field="user-email"]')).to_have_text(email)


def test_pair_a_printer_by_its_code_and_watch_it_come_online(page: Page, stack: Stack,
                                                             agent: Path):
    sign_up(page)
    pair(page, agent, "Workshop MK4")
    row = page.locator("table#printers tbody tr", has_text="Workshop MK4")
    expect(row.locator('[data-field="presence"]')).to_have_text("online", timeout=60_000)
    expect(row.locator('[data-field="heaters"]')).to_contain_text("°C", timeout=30_000)


def test_upload_a_gcode_file_with_progress_and_see_its_analysis(page: Page, stack: Stack,
                                                                tmp_path: Path):
    sign_up(page)
    gcode = gzip.decompress((GCODE_FILES / "prusaslicer-2.5.0-cube.gcode.gz").read_bytes())
    # Padded with comments to a few MiB, so the upload takes long enough to report progress.
    upload_path = tmp_path / "cube.gcode"
    upload_path.write_bytes(gcode + b"; padding\n" * 600_000)
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
    page.locator('#upload-form input[type="file"]').set_input_files(str(upload_path))
    page.locator("#upload-form button[type=submit]").click()
    expect(page.locator('[data-field="name"]').first).to_have_text("cube.gcode", timeout=60_000)
    expect(page.locator('[data-field="slicer"]')).to_have_text(re.compile(r"PrusaSlicer 2\.5\.0"))
    expect(page.locator('[data-field="filament"]')).to_contain_text(" m")
    expect(page.locator('[data-field="layers"]')).to_have_text(re.compile(r"^\d+$"))
    # The bar starts at 0 and ends full (on loopback the steps between may be few).
    assert progress and progress[0] == 0 and progress[-1] == 100, progress


class NowCardWatch:
    """Everything the printer page's Now card shows, each time it changes, sent out by the page."""

    PREFIX = "now-card "

    def __init__(self, page: Page) -> None:
        self.shown: list[dict[str, str]] = []
        page.on("console", self._seen)
        page.evaluate("""(prefix) => {
            const card = document.getElementById('state');
            const text = (name) => card.querySelector('[data-field="' + name + '"]').textContent;
            const report = () => console.log(prefix + JSON.stringify({
                state: text('state'), file: text('job_file_name'), status: text('job_status'),
                progress: text('progress_pct')}));
            new MutationObserver(report).observe(card, {childList: true, characterData: true,
                                                        subtree: true});
        }""", self.PREFIX)

    def _seen(self, message: ConsoleMessage) -> None:
        if message.text.startswith(self.PREFIX):
            self.shown.append(json.loads(message.text[len(self.PREFIX):]))

    def progress_while_printing(self, file_name: str) -> list[int]:
        return [int(shown["progress"].rstrip("%")) for shown in self.shown
                if shown["state"] == "printing" and shown["file"] == file_name
                and shown["progress"].endswith("%")]


def test_start_a_print_of_an_uploaded_file_and_watch_it_finish(page: Page, stack: Stack,
                                                               agent: Path, tmp_path: Path):
    email = sign_up(page)
    pair(page, agent, "Print Farm 1")
    gcode = slicer_gcode(tmp_path / f"journey-{os.getpid()}.gcode")
    upload(page, gcode)

    page.goto("/printers")
    row = page.locator("table#printers tbody tr", has_text="Print Farm 1")
    device_id = row.get_attribute("data-device-id")
    own_stream = StreamWatch(page, f"{stack.base_url}/printers/{device_id}/live")
    row.locator('[data-field="name"]').click()
    expect(page).to_have_url(re.compile(rf"/printers/{device_id}$"))
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator('#printer [data-field="presence"]')).to_have_text("online", timeout=60_000)
    card = page.locator("#state")
    expect(card.locator('[data-field="state"]')).to_have_text("idle", timeout=30_000)
    watch = NowCardWatch(page)
    page.evaluate("document.body.dataset.loadedOnce = 'yes'")

    page.locator('#controls select[name="file_id"]').select_option(label=gcode.name)
    page.get_by_role("button", name="Start print").click()
    expect(page.locator("#command-notice")).to_have_text("start print sent")
    command = page.locator("#commands tbody tr").first
    expect(command).to_contain_text(f"start_print {gcode.name}")
    # The agent downloads the file, starts it and acknowledges: the row says so.
    status = command.locator('[data-field="status"]')
    expect(status).to_have_attribute("data-status", "finished", timeout=60_000)
    expect(status).to_have_text("done")

    # The live card: the user's file printing, then finished, with no reload.
    expect(card.locator('[data-field="job_file_name"]')).to_have_text(gcode.name, timeout=30_000)
    expect(card.locator('[data-field="state"]')).to_have_text("printing", timeout=30_000)
    expect(card.locator('[data-field="job_status"]')).to_have_text("finished", timeout=90_000)
    expect(card.locator('[data-field="state"]')).to_have_text("idle", timeout=30_000)
    expect(card.locator('[data-field="job_file_name"]')).to_have_text(gcode.name)
    assert page.evaluate("document.body.dataset.loadedOnce") == "yes", "the page was reloaded"
    # All of it came over the one stream of this printer, open the whole time.
    assert own_stream.opened >= 1 and own_stream.open_now == 1, vars(own_stream)
    assert own_stream.most_open == 1, f"more than one stream open at once: {vars(own_stream)}"
    progress = watch.progress_while_printing(gcode.name)
    assert len(set(progress)) >= 2 and progress == sorted(progress), \
        f"progress did not rise step by step on the card: {progress} (all: {watch.shown})"

    page.goto("/jobs")
    job = page.locator("#jobs tbody tr", has_text=gcode.name)
    expect(job).to_have_count(1)
    expect(job.locator('[data-field="outcome"]')).to_have_text("finished")
    expect(job.locator('[data-field="started_by"]')).to_have_text(email)
    expect(job.locator('[data-field="printer"]')).to_have_text("Print Farm 1")


def test_undo_a_file_deletion_from_the_action_log(page: Page, stack: Stack, tmp_path: Path):
    sign_up(page)
    gcode = tmp_path / f"keep-me-{os.getpid()}.gcode"
    gcode.write_text("; a small print\nG28\nG1 X10 Y10 Z0.2 F3000\nG1 X20 E1\nM84\n")
    upload(page, gcode)
    page.goto("/files")
    listed = page.locator("table.files tbody tr", has_text=gcode.name)
    listed.get_by_role("button", name="Delete").click()
    expect(page.locator('[data-field="trashed"]')).to_contain_text(gcode.name)
    expect(listed).to_have_count(0)

    page.goto("/account/actions")
    deletion = page.locator('tr[data-kind="file.delete"]', has_text=gcode.name)
    expect(deletion).to_have_count(1)
    deletion.get_by_role("button", name="Undo").click()
    expect(page.locator('[data-field="undone"]')).to_contain_text(gcode.name)
    expect(deletion.locator('[data-field="undone-at"]')).to_be_visible()
    expect(deletion.get_by_role("button", name="Undo")).to_have_count(0)

    page.goto("/files")
    expect(listed).to_have_count(1)
    expect(listed.get_by_role("link", name="Download")).to_be_visible()


def _share_the_stack_printer_with_a_viewer(browser: Browser, stack: Stack, email: str) -> str:
    """As the admin: make an organisation, move the simulated printer in, invite a viewer."""
    context = browser.new_context(base_url=stack.base_url)
    context.set_default_timeout(15_000)
    try:
        admin = context.new_page()
        sign_in(admin, stack.admin_password)
        expect(admin).to_have_url(re.compile(r"/printers$"))
        admin.goto("/orgs")
        admin.get_by_label("Company name").fill("Viewing Ltd")
        admin.get_by_role("button", name="Create").click()
        expect(admin).to_have_url(re.compile(r"/orgs/\d+/profile"))
        org = re.search(r"/orgs/\d+", admin.url)
        assert org, admin.url
        admin.goto(org.group(0))
        admin.get_by_label("Move one of your printers here").select_option(value=STACK_PRINTER)
        admin.get_by_role("button", name="Move", exact=True).click()
        expect(admin.locator(f'[data-field="org-printers"] tr[data-device-id="{STACK_PRINTER}"]')
               ).to_have_count(1)
        invite = admin.locator("form", has=admin.get_by_role("button", name="Invite"))
        invite.get_by_label("Email").fill(email)
        invite.get_by_label("Role").select_option("viewer")
        invite.get_by_role("button", name="Invite").click()
        return admin.locator('[data-field="invitation-link"]').input_value()
    finally:
        context.close()


def test_an_organisation_viewer_watches_a_printer_but_cannot_control_it(
        page: Page, browser: Browser, stack: Stack):
    email = new_email()
    link = _share_the_stack_printer_with_a_viewer(browser, stack, email)
    sign_up(page, email)
    page.goto(urlsplit(link).path)
    page.get_by_role("button", name="Join Viewing Ltd").click()
    page.goto("/printers")
    page.locator(f'tr[data-device-id="{STACK_PRINTER}"] [data-field="name"]').click()
    expect(page).to_have_url(re.compile(rf"/printers/{STACK_PRINTER}$"))

    expect(page.locator('[data-field="viewer-note"]')).to_be_visible()
    controls = page.locator("#controls, #settings")
    for name in ("Pause", "Resume", "Cancel print", "Send G-code", "Start print", "Turn on",
                 "Turn off"):
        expect(controls.get_by_role("button", name=name)).to_have_count(0)
    expect(page.locator("#controls form, #settings form")).to_have_count(0)
    # Watching works: the live card follows the printer's simulated job.
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    now_card = page.locator("#state dl")
    before = now_card.inner_text()
    expect(now_card).not_to_have_text(before, timeout=60_000)

    # A command forced past the page, with the session's CSRF token: 403 and the reason.
    commands = page.locator("#commands tbody tr[data-transaction]")
    recorded = commands.count()
    answer = page.evaluate("""async (deviceId) => {
        const response = await fetch('/api/v1/printers/' + deviceId + '/commands', {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', Accept: 'application/json',
                      'X-CSRF-Token': document.getElementById('printer').dataset.csrf},
            body: JSON.stringify({kind: 'pause'})});
        return {status: response.status, body: await response.json()};
    }""", STACK_PRINTER)
    assert answer == {"status": 403, "body": {"error": "forbidden",
                                              "message": VIEWER_CANNOT_COMMAND}}, answer
    page.reload()
    expect(commands).to_have_count(recorded)


def test_download_the_jobs_csv(page: Page, stack: Stack):
    sign_in(page, stack.admin_password)
    expect(page).to_have_url(re.compile(r"/printers$"))
    # Finished jobs only: a running one could end between the page and the download.
    rows = page.locator("#jobs tbody tr[data-job-id]")

    def finished_jobs_listed() -> int:
        page.goto("/jobs?outcome=finished")
        return rows.count()

    wait_until(finished_jobs_listed, 150, "a finished job of the simulated printer on /jobs",
               interval=3)
    shown = {row.get_attribute("data-job-id"): {
        name: row.locator(f'[data-field="{name}"]').inner_text().strip()
        for name in ("file_name", "outcome", "printer", "started_by")} for row in rows.all()}

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download CSV").click()
    download = caught.value
    assert re.fullmatch(r"printfleet-jobs-\d{8}\.csv", download.suggested_filename), \
        download.suggested_filename
    header, *lines = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8"))))
    assert tuple(header) == CSV_COLUMNS
    exported = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    for job_id, fields in shown.items():
        assert job_id in exported, f"job {job_id} is on the page but not in the CSV"
        row = exported[job_id]
        assert (row["file_name"], row["outcome"], row["printer"]) == \
            (fields["file_name"], fields["outcome"], fields["printer"]), (row, fields)
        assert (row["started_by"] or "at the printer") == fields["started_by"], (row, fields)
    # Only jobs that finished after the page was read may be in the CSV besides.
    newest_shown = max(int(job_id) for job_id in shown if job_id)
    assert all(int(job_id) > newest_shown for job_id in set(exported) - set(shown)), exported
