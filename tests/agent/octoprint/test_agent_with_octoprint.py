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


def sliced_gcode(seconds: float, stated_mm: float) -> bytes:
    """A file as PrusaSlicer heads and ends it, whose moves extrude 0.5 mm each."""
    moves = [f"G1 X{100 * (i + 1)} E{0.5 * (i + 1):.1f} F6000"
             for i in range(max(1, round(seconds * 10)))]
    lines = ["; generated by PrusaSlicer 2.7.1+linux-x64 on 2024-01-05 at 12:13:14 UTC",
             "G90", "M82", "G92 E0", "G1 Z0.2 F6000", *moves,
             f"; filament used [mm] = {stated_mm}", "; filament used [g] = 2.48",
             "; total filament used [g] = 2.48"]
    return ("\n".join(lines) + "\n").encode()


async def test_jobs_report_filament_from_octoprints_analysis_or_the_file_sent(
        broker, worker, store, context, octoprint, octoprint_device, owner, tmp_path):
    import hashlib

    from printfleet.device_commands import MqttPublisher, issue_command

    from ..file_server import FileServer

    body = sliced_gcode(seconds=2, stated_mm=800.0)  # 20 moves: 10 mm of E moves
    (tmp_path / "ui.gcode").write_bytes(body)
    publisher = MqttPublisher("127.0.0.1", broker.local_port, context.settings.broker.fleet_username,
                              context.fleet_password)
    device = octoprint_device()
    await device.start()
    try:
        await eventually(lambda: store.table_rows("device_facts", "printer-octo"), 20, "facts")
        # Started in OctoPrint: the agent has no file, OctoPrint's analysis has the length.
        upload(octoprint, tmp_path / "ui.gcode")
        await eventually(lambda: octoprint.rest.get("/api/files/local/ui.gcode").get(
            "gcodeAnalysis"), 20, "OctoPrint's analysis")
        start_in_octoprint(octoprint, "local", "ui.gcode")
        await eventually(lambda: (jobs := store.jobs_for_device("printer-octo")) and
                         jobs[0].outcome, 40, "the first print's end")
        await eventually(lambda: octoprint.rest.get("/api/job")["state"] == "Operational", 20,
                         "OctoPrint to be ready for the next print")
        # Started from Printfleet: the agent downloaded the file and reads it.
        with FileServer({"/sent.gcode": (body, "text/x.gcode")}) as server:
            issued = await asyncio.to_thread(
                issue_command, store, publisher, broker.prefix, "printer-octo", "start_print",
                {"file_name": "sent.gcode", "url": server.url + "/sent.gcode",
                 "sha256": hashlib.sha256(body).hexdigest(), "size_bytes": len(body)},
                owner)
            await eventually(lambda: len(jobs := store.jobs_for_device("printer-octo")) == 2
                             and jobs[1].outcome, 40, "the second print's end")
    finally:
        await device.stop()
        publisher.close()

    analysed = octoprint.rest.get("/api/files/local/ui.gcode")["gcodeAnalysis"]["filament"]
    ui, sent = store.jobs_for_device("printer-octo")
    assert ui.outcome == sent.outcome == "finished"
    assert ui.filament_used_mm == pytest.approx(analysed["tool0"]["length"]) == 10.0
    assert (ui.slicer, ui.filament_used_g, ui.started_by_user_id) == (None, None, None)
    assert (sent.slicer, sent.slicer_version) == ("PrusaSlicer", "2.7.1")
    assert (sent.filament_used_mm, sent.filament_used_g) == (800.0, 2.48)  # as the slicer says
    assert (sent.command_transaction, sent.started_by_user_id) == (issued.transaction_id, owner)
