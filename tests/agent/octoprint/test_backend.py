"""OctoPrintPrinter against a real OctoPrint with its Virtual Printer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from printfleet_agent.printers import PrinterError
from printfleet_agent.printers.base import JobEventRecord, PrinterSnapshot
from printfleet_agent.printers.octoprint import (
    OctoPrintAuthError,
    OctoPrintPrinter,
    OctoPrintSettings,
    OctoPrintUnreachable,
)
from printfleet_agent.printers.octoprint.jobs import ADOPTED_REASON
from printfleet_protocol.payloads import JobEventKind, JobOrigin, PrinterState

from ...support import free_port, wait_until
from .support import (
    RunningOctoPrint,
    connect_virtual_printer,
    octoprint_bin,
    restart_octoprint,
)

pytestmark = pytest.mark.timeout(60)

STARTED, PAUSED, RESUMED = JobEventKind.STARTED, JobEventKind.PAUSED, JobEventKind.RESUMED
FINISHED, CANCELLED, FAILED = JobEventKind.FINISHED, JobEventKind.CANCELLED, JobEventKind.FAILED
ENDINGS = (FINISHED, CANCELLED, FAILED)


def write_gcode(path: Path, seconds: float) -> Path:
    """G-code the Virtual Printer takes about `seconds` to print, in 0.1 s moves.

    It runs moves ten times faster than their feed rate says: 100 mm at
    100 mm/s takes 0.1 s. Always forward: it gives a move backwards no time.
    """
    moves = [f"G1 X{100 * (i + 1)} F6000" for i in range(max(1, round(seconds * 10)))]
    path.write_text("\n".join(["G90", "G1 Z0.2 F6000", *moves]) + "\n")
    return path


@pytest.fixture
def backend(octoprint: RunningOctoPrint) -> Iterator[OctoPrintPrinter]:
    printer = OctoPrintPrinter(OctoPrintSettings(
        base_url=octoprint.url, api_key=octoprint.api_key, poll_interval_s=0.0))
    printer.connect()
    yield printer
    printer.disconnect()


def upload(octoprint: RunningOctoPrint, source: Path) -> None:
    octoprint.rest.upload("/api/files/local", source.name, source, {})


def start_in_octoprint(octoprint: RunningOctoPrint, location: str, path: str) -> None:
    octoprint.rest.post(f"/api/files/{location}/{path}", {"command": "select", "print": True})


def collect(backend: OctoPrintPrinter, until: JobEventKind | tuple[JobEventKind, ...],
            timeout_s: float = 30.0) -> list[JobEventRecord]:
    """Gather job events until one of the kinds `until` arrives."""
    wanted = until if isinstance(until, tuple) else (until,)
    events: list[JobEventRecord] = []
    deadline = time.monotonic() + timeout_s
    while not any(event.event in wanted for event in events):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not backend.wait_for_events(remaining):
            raise AssertionError(f"no {wanted} event within {timeout_s}s; got {events}")
        events += backend.drain_events()
    return events


def test_print_run_in_octoprint_is_reported_with_its_pause(octoprint, backend, tmp_path):
    upload(octoprint, write_gcode(tmp_path / "cube.gcode", seconds=3))
    before_start = time.time()
    start_in_octoprint(octoprint, "local", "cube.gcode")
    events = collect(backend, STARTED)
    wait_until(lambda: _progress_at_least(backend, 5), 20, "5 % progress")
    octoprint.rest.post("/api/job", {"command": "pause", "action": "pause"})
    events += collect(backend, PAUSED)
    assert backend.poll(time.time()).state is PrinterState.PAUSED
    octoprint.rest.post("/api/job", {"command": "pause", "action": "resume"})
    events += collect(backend, FINISHED)
    after_end = time.time()

    assert [event.event for event in events] == [STARTED, PAUSED, RESUMED, FINISHED]
    assert {(e.job_id, e.file_name, e.origin, e.command_transaction) for e in events} == {
        (events[0].job_id, "cube.gcode", JobOrigin.OCTOPRINT_UI, None)}
    assert sum(event.event is PAUSED for event in events) == 1
    assert events[-1].progress_pct == 100
    stamps = [event.ts for event in events]
    assert before_start <= stamps[0] <= stamps[1] <= stamps[2] <= stamps[3] <= after_end
    # OctoPrint's own record of when the print ended agrees with the event's time.
    last = wait_until(lambda: octoprint.rest.get("/api/files/local/cube.gcode")
                      .get("prints", {}).get("last"), 10, "OctoPrint's print history")
    assert last["success"] is True
    assert abs(stamps[3] - last["date"]) < 1.0
    wait_until(lambda: backend.poll(time.time()).state is PrinterState.IDLE, 10, "idle printer")


def test_print_cancelled_in_octoprint_reports_the_progress_reached(octoprint, backend, tmp_path):
    upload(octoprint, write_gcode(tmp_path / "long.gcode", seconds=10))
    start_in_octoprint(octoprint, "local", "long.gcode")
    collect(backend, STARTED)
    printing = wait_until(lambda: _progress_at_least(backend, 15), 20, "15 % progress")
    octoprint.rest.post("/api/job", {"command": "cancel"})
    events = collect(backend, ENDINGS)
    assert [event.event for event in events] == [CANCELLED]
    assert events[0].file_name == "long.gcode" and events[0].job_id == printing.job_id
    assert events[0].progress_pct is not None
    assert printing.progress_pct - 1 <= events[0].progress_pct < 100


def test_facts_name_octoprint_its_plugins_and_the_firmware(octoprint, backend):
    facts = backend.facts()
    assert facts.octoprint is not None
    assert facts.octoprint.version == octoprint.rest.get("/api/version")["server"]
    plugins = {plugin.key: plugin for plugin in facts.octoprint.plugins}
    assert {"virtual_printer", "appkeys", "gcodeviewer"} <= set(plugins)
    assert plugins["virtual_printer"].name == "Virtual Printer"
    assert "tracking" not in plugins  # disabled in the test config
    assert facts.firmware_name == "Virtual Marlin 1.0"
    assert facts.bed_mesh is None  # no Bed Visualizer installed


def test_start_print_uploads_the_file_and_carries_the_transaction(octoprint, backend, tmp_path):
    source = write_gcode(tmp_path / "download-1234.gcode", seconds=1)
    job_id = backend.start_print("bracket.gcode", JobOrigin.PRINTFLEET, time.time(),
                                 "tx-42", local_path=source)
    events = collect(backend, ENDINGS)
    assert [event.event for event in events] == [STARTED, FINISHED]
    assert {(e.job_id, e.file_name, e.origin, e.command_transaction) for e in events} == {
        (job_id, "bracket.gcode", JobOrigin.PRINTFLEET, "tx-42")}
    names = [entry["name"] for entry in octoprint.rest.get("/api/files/local")["files"]]
    assert "bracket.gcode" in names


def test_pause_resume_cancel_and_gcode_through_the_backend(octoprint, backend, tmp_path):
    upload(octoprint, write_gcode(tmp_path / "plate.gcode", seconds=10))
    with pytest.raises(PrinterError, match="not printing"):
        backend.pause(time.time())
    with pytest.raises(PrinterError, match="no paused print"):
        backend.resume(time.time())
    job_id = backend.start_print("plate.gcode", JobOrigin.PRINTFLEET, time.time(), "tx-7")
    # Each request right on the heels of the event before it, as a quick
    # user would: OctoPrint ignores a resume until its pause has settled.
    assert collect(backend, STARTED)[0].job_id == job_id
    backend.pause(time.time())
    collect(backend, PAUSED)
    with pytest.raises(PrinterError, match="already paused"):
        backend.pause(time.time())
    backend.resume(time.time())
    collect(backend, RESUMED)
    backend.cancel(time.time())
    cancelled = collect(backend, ENDINGS)
    assert [(e.event, e.job_id, e.command_transaction) for e in cancelled] == [
        (CANCELLED, job_id, "tx-7")]
    # OctoPrint's after-cancel script cools the hot end: let it run first.
    wait_until(lambda: backend.poll(time.time()).state is PrinterState.IDLE, 10, "idle printer")
    assert backend.send_gcode(["M104 S205"]) == []
    wait_until(lambda: _tool0_target(backend) == 205, 10, "the hot end's new target")
    with pytest.raises(PrinterError, match="no file"):
        backend.start_print("missing.gcode", JobOrigin.PRINTFLEET, time.time())


def test_firmware_error_fails_the_print_with_its_text(octoprint, backend, tmp_path):
    upload(octoprint, write_gcode(tmp_path / "doomed.gcode", seconds=10))
    start_in_octoprint(octoprint, "local", "doomed.gcode")
    collect(backend, STARTED)
    wait_until(lambda: _progress_at_least(backend, 5), 20, "5 % progress")
    octoprint.rest.post("/api/printer/command", {"command": "!!DEBUG:trigger_fatal_error_marlin"})
    events = collect(backend, ENDINGS)
    assert [event.event for event in events] == [FAILED]
    assert events[0].reason is not None and "Thermal Runaway" in events[0].reason
    assert events[0].progress_pct is not None and 4 <= events[0].progress_pct < 100
    wait_until(lambda: backend.poll(time.time()).state in (PrinterState.DISCONNECTED,
                                                            PrinterState.ERROR),
               10, "OctoPrint to drop the printer")


def test_print_from_the_sd_card_has_origin_sd_card(octoprint, backend, tmp_path):
    # A long name: the Virtual Printer hides SD files already named 8.3.
    source = write_gcode(tmp_path / "from_the_card.gcode", seconds=1)
    octoprint.rest.upload("/api/files/sdcard", source.name, source, {})
    files = wait_until(lambda: octoprint.rest.get("/api/files/sdcard")["files"], 20,
                       "the file on the Virtual Printer's SD card")
    start_in_octoprint(octoprint, "sdcard", files[0]["path"])
    events = collect(backend, ENDINGS)
    assert [(e.event, e.origin, e.file_name) for e in events] == [
        (STARTED, JobOrigin.SD_CARD, files[0]["path"]), (FINISHED, JobOrigin.SD_CARD, files[0]["path"])]


def test_print_running_before_the_agent_connects_is_adopted(octoprint, tmp_path):
    upload(octoprint, write_gcode(tmp_path / "early.gcode", seconds=3))
    start_in_octoprint(octoprint, "local", "early.gcode")
    wait_until(lambda: octoprint.rest.get("/api/job")["state"] == "Printing", 10, "printing")
    late = OctoPrintPrinter(OctoPrintSettings(base_url=octoprint.url, api_key=octoprint.api_key))
    late.connect()
    try:
        events = collect(late, ENDINGS)
    finally:
        late.disconnect()
    assert [(e.event, e.file_name) for e in events] == [(STARTED, "early.gcode"),
                                                        (FINISHED, "early.gcode")]
    assert events[0].reason == ADOPTED_REASON


def test_push_link_comes_back_after_octoprint_restarts(octoprint, tmp_path):
    printer = OctoPrintPrinter(OctoPrintSettings(
        base_url=octoprint.url, api_key=octoprint.api_key, poll_interval_s=0.0,
        reconnect_delay_s=0.1, connect_printer=False))
    printer.connect()
    try:
        restart_octoprint(octoprint_bin(), octoprint)
        assert printer.poll(time.time()).state is PrinterState.DISCONNECTED  # printer not connected
        connect_virtual_printer(octoprint)
        upload(octoprint, write_gcode(tmp_path / "after.gcode", seconds=0.5))
        wait_until(lambda: _linked(printer), 30, "the push link to come back")
        start_in_octoprint(octoprint, "local", "after.gcode")
        events = collect(printer, ENDINGS)
    finally:
        printer.disconnect()
    assert [(e.event, e.file_name) for e in events] == [(STARTED, "after.gcode"),
                                                        (FINISHED, "after.gcode")]


def test_connect_asks_octoprint_to_connect_its_printer(octoprint):
    octoprint.rest.post("/api/connection", {"command": "disconnect"})
    wait_until(lambda: octoprint.rest.get("/api/connection")["current"]["state"] == "Closed", 10,
               "OctoPrint to let go of the printer")
    printer = OctoPrintPrinter(OctoPrintSettings(
        base_url=octoprint.url, api_key=octoprint.api_key, poll_interval_s=0.0,
        printer_port="VIRTUAL", printer_baudrate=115200))
    printer.connect()
    try:
        wait_until(lambda: printer.poll(time.time()).state is PrinterState.IDLE, 20,
                   "the printer to be connected and idle")
        assert octoprint.rest.get("/api/connection")["current"]["port"] == "VIRTUAL"
    finally:
        printer.disconnect()


def test_wrong_api_key_is_refused_clearly(octoprint):
    wrong = OctoPrintPrinter(OctoPrintSettings(base_url=octoprint.url, api_key="not-the-key"))
    with pytest.raises(OctoPrintAuthError, match="refused the API key"):
        wrong.connect()
    assert wrong.poll(time.time()).state is PrinterState.DISCONNECTED


def test_unreachable_octoprint_is_reported_clearly():
    url = f"http://127.0.0.1:{free_port()}"
    absent = OctoPrintPrinter(OctoPrintSettings(base_url=url, api_key="key", request_timeout_s=2))
    with pytest.raises(OctoPrintUnreachable, match="unreachable"):
        absent.connect()


def _linked(printer: OctoPrintPrinter) -> bool:
    return printer.link_live


def _tool0_target(backend: OctoPrintPrinter) -> float | None:
    snapshot = backend.poll(time.time())
    tool0 = snapshot.heaters.get("tool0")
    return tool0.target if tool0 else None


def _progress_at_least(backend: OctoPrintPrinter, percent: float) -> PrinterSnapshot | None:
    """The snapshot once the job is past `percent`: pausing OctoPrint while it is
    still "Starting" leaves it printing after it reported the pause."""
    snapshot = backend.poll(time.time())
    if snapshot.progress_pct is not None and snapshot.progress_pct >= percent and snapshot.job_id:
        return snapshot
    return None
