"""The whole agent beside a real OctoPrint: prints started in OctoPrint reach storage as jobs."""

from __future__ import annotations

import asyncio
import json

import pytest

from printfleet_agent.runtime import build_device
from printfleet_agent.settings import OctoPrintConfig, PrinterConfig

from ..conftest import agent_settings, eventually
from .support import RunningOctoPrint
from .test_backend import start_in_octoprint, upload, write_gcode

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def octoprint_device(octoprint: RunningOctoPrint, context, store, owner, tmp_path):
    """Build (not start) the agent of a printer behind the real OctoPrint."""
    credentials = context.provisioner(store).provision("printer-octo", "OctoPrint", owner)
    key_file = tmp_path / "octoprint.key"
    key_file.write_text(octoprint.api_key)
    config = PrinterConfig(device_id="printer-octo", backend="octoprint",
                           octoprint=OctoPrintConfig(url=octoprint.url,
                                                     api_key_file=str(key_file)))
    settings = agent_settings(context, [config])

    def build():
        return build_device(settings, config, credentials.password)

    return build


def job_api(octoprint: RunningOctoPrint, command: str) -> None:
    octoprint.rest.post("/api/job", {"command": "pause", "action": command} if command in
                        ("pause", "resume") else {"command": command})


def progress(octoprint: RunningOctoPrint) -> float:
    return float((octoprint.rest.get("/api/job")["progress"] or {}).get("completion") or 0)


async def test_a_print_run_from_octoprints_own_api_is_stored_as_a_job(
        broker, worker, store, octoprint, octoprint_device, tmp_path):
    device = octoprint_device()
    await device.start()
    try:
        facts = await eventually(lambda: store.table_rows("device_facts", "printer-octo"), 20,
                                 "facts")
        upload(octoprint, write_gcode(tmp_path / "bracket.gcode", seconds=4))
        before = await asyncio.to_thread(lambda: octoprint.rest.get("/api/job"))
        start_in_octoprint(octoprint, "local", "bracket.gcode")
        await eventually(lambda: progress(octoprint) >= 10, 20, "the print to get going")
        await asyncio.to_thread(job_api, octoprint, "pause")
        await eventually(lambda: any(e["event"] == "paused" for e in
                                     store.table_rows("job_events", "printer-octo")), 20,
                         "the pause")
        await asyncio.sleep(1.0)
        await asyncio.to_thread(job_api, octoprint, "resume")
        await eventually(lambda: store.jobs_for_device("printer-octo") and
                         store.jobs_for_device("printer-octo")[0].outcome, 40, "the end")
    finally:
        await device.stop()

    (job,) = store.jobs_for_device("printer-octo")
    assert before["state"] == "Operational"
    assert (job.file_name, job.origin, job.outcome) == ("bracket.gcode", "octoprint_ui",
                                                        "finished")
    assert job.pause_count == 1 and job.paused_s >= 0.9
    assert job.progress_pct == 100.0
    assert 3.0 <= job.ended_at - job.started_at <= 30
    plugins = {p["key"] for p in json.loads(facts[0]["facts_json"])["octoprint"]["plugins"]}
    assert "virtual_printer" in plugins
    assert json.loads(facts[0]["facts_json"])["octoprint"]["version"].startswith("1.")


async def test_an_agent_restart_mid_print_keeps_the_job(broker, worker, store, octoprint,
                                                        octoprint_device, tmp_path):
    device = octoprint_device()
    await device.start()
    upload(octoprint, write_gcode(tmp_path / "long.gcode", seconds=8))
    start_in_octoprint(octoprint, "local", "long.gcode")
    await eventually(lambda: store.table_rows("job_events", "printer-octo"), 20, "started")
    await device.stop()  # the agent restarts (an upgrade, say) while OctoPrint prints on
    device = octoprint_device()
    await device.start()
    try:
        await eventually(lambda: store.jobs_for_device("printer-octo") and
                         store.jobs_for_device("printer-octo")[0].outcome, 40, "the end")
    finally:
        await device.stop()
    events = [(e["event"], e["reason"]) for e in store.table_rows("job_events", "printer-octo")]
    (job,) = store.jobs_for_device("printer-octo")
    assert job.outcome == "finished", events
    assert [e for e, _ in events] == ["started", "finished"], "no second start, no false failure"


def test_the_pairing_code_appears_in_octoprints_notifications(octoprint):
    from printfleet_agent.pairing import show_code_on_printer
    from printfleet_agent.printers.octoprint import OctoPrintPrinter, OctoPrintSettings

    from ...support import wait_until

    backend = OctoPrintPrinter(OctoPrintSettings(base_url=octoprint.url,
                                                 api_key=octoprint.api_key))
    backend.connect()
    try:
        show_code_on_printer(backend, "K7M2QX")
        notes = wait_until(lambda: octoprint.rest.get(
            "/api/plugin/action_command_notification")["notifications"], 10, "a notification")
    finally:
        backend.disconnect()
    assert notes[-1]["message"] == "Printfleet pairing code K7M2QX"
