"""Reading OctoPrint's REST answers: states, heaters, snapshots and facts."""

from __future__ import annotations

import pytest

from printfleet_agent.printers.base import HeaterReading
from printfleet_agent.printers.octoprint.facts import (
    bed_mesh_from,
    firmware_from,
    plugins_from,
    plugins_from_versions,
)
from printfleet_agent.printers.octoprint.push import websocket_url
from printfleet_agent.printers.octoprint.state import (
    heaters_from,
    job_status_from,
    link_is_closed,
    snapshot_from,
    state_from_connection,
    state_from_flags,
)
from printfleet_protocol.payloads import BedMesh, OctoPrintPlugin, PrinterState

OPERATIONAL = {"operational": True, "ready": True}


@pytest.mark.parametrize(("flags", "state"), [
    (OPERATIONAL, PrinterState.IDLE),
    ({**OPERATIONAL, "printing": True}, PrinterState.PRINTING),
    ({**OPERATIONAL, "printing": True, "cancelling": True}, PrinterState.PRINTING),
    ({**OPERATIONAL, "finishing": True}, PrinterState.PRINTING),
    ({**OPERATIONAL, "pausing": True}, PrinterState.PAUSED),
    ({**OPERATIONAL, "paused": True}, PrinterState.PAUSED),
    ({**OPERATIONAL, "resuming": True}, PrinterState.PRINTING),
    ({"closedOrError": True, "error": True}, PrinterState.ERROR),
    ({"closedOrError": True}, PrinterState.DISCONNECTED),
    ({}, PrinterState.DISCONNECTED),
])
def test_state_flags(flags, state):
    assert state_from_flags(flags) is state


@pytest.mark.parametrize(("text", "state", "closed"), [
    ("Offline", PrinterState.DISCONNECTED, True),
    ("Closed", PrinterState.DISCONNECTED, True),
    ("Offline after error", PrinterState.ERROR, True),
    ("Error", PrinterState.ERROR, True),
    ("Opening serial connection", PrinterState.CONNECTING, False),
    ("Detecting serial connection", PrinterState.CONNECTING, False),
    ("Connecting", PrinterState.CONNECTING, False),
    ("Operational", PrinterState.DISCONNECTED, False),  # only asked when /api/printer says 409
])
def test_connection_states(text, state, closed):
    assert state_from_connection(text) is state
    assert link_is_closed(text) is closed


def test_heaters_keep_tools_bed_and_chamber():
    temperature = {"tool0": {"actual": 210.2, "target": 215.0, "offset": 0},
                   "tool1": {"actual": 25, "target": None},
                   "bed": {"actual": 59.9, "target": 60},
                   "chamber": None, "W": {"actual": 1.0, "target": 0}, "tool2": {"actual": None}}
    assert heaters_from(temperature) == {"tool0": HeaterReading(210.2, 215.0),
                                         "tool1": HeaterReading(25.0, None),
                                         "bed": HeaterReading(59.9, 60.0)}
    assert heaters_from(None) == {}


def test_snapshot_and_job_status_while_printing():
    printer = {"state": {"flags": {**OPERATIONAL, "printing": True}},
               "temperature": {"tool0": {"actual": 200.0, "target": 200.0}}}
    job = {"job": {"file": {"name": "cube.gcode", "path": "parts/cube.gcode", "origin": "local"}},
           "progress": {"completion": 33.333, "printTimeLeft": 120, "printTime": 60}}
    snapshot = snapshot_from(printer, job, "job1", 1.2)
    assert (snapshot.state, snapshot.progress_pct, snapshot.time_left_s, snapshot.job_id,
            snapshot.z_mm) == (PrinterState.PRINTING, 33.33, 120.0, "job1", 1.2)
    status = job_status_from(printer, job)
    assert (status.printing, status.paused, status.location, status.path, status.completion_pct) == (
        True, False, "local", "parts/cube.gcode", 33.333)
    idle = snapshot_from({"state": {"flags": OPERATIONAL}}, None, None, None)
    assert (idle.state, idle.progress_pct, idle.job_id) == (PrinterState.IDLE, None, None)
    assert job_status_from({}, None).printing is False


def test_plugins_enabled_only_sorted_and_versions_fallback():
    answer = {"plugins": [
        {"key": "virtual_printer", "name": "Virtual Printer", "version": None, "enabled": True},
        {"key": "bedlevelvisualizer", "name": "Bed Visualizer", "version": "1.1.1", "enabled": True},
        {"key": "tracking", "name": "Anonymous Usage Tracking", "version": None, "enabled": False},
        {"name": "no key"}]}
    assert plugins_from(answer) == [
        OctoPrintPlugin("bedlevelvisualizer", "Bed Visualizer", "1.1.1"),
        OctoPrintPlugin("virtual_printer", "Virtual Printer", None)]
    assert plugins_from_versions({"file_check": "2025.7.23", "appkeys": None}) == [
        OctoPrintPlugin("appkeys", "appkeys", None), OctoPrintPlugin("file_check", "file_check", "2025.7.23")]


def test_firmware_name():
    assert firmware_from({"systeminfo": {"printer.firmware": "Marlin 2.1.2"}}) == "Marlin 2.1.2"
    assert firmware_from({"systeminfo": {"printer.firmware": "unknown"}}) is None
    assert firmware_from({}) is None


def bed_visualizer(mesh, xs, ys) -> dict:
    return {"plugins": {"bedlevelvisualizer": {"stored_mesh": mesh, "stored_mesh_x": xs,
                                               "stored_mesh_y": ys}}}


@pytest.mark.parametrize(("settings", "expected"), [
    (bed_visualizer([["0.1", "-0.2"], ["0.05", "0.0"]], ["10", "200"], ["10", "190"]),
     BedMesh(rows=[[0.1, -0.2], [0.05, 0.0]], min_x=10, max_x=200, min_y=10, max_y=190)),
    (bed_visualizer([[0.3, 0.4], [0.1, 0.2]], [0, 100], [100, 0]),  # back row first: flipped
     BedMesh(rows=[[0.1, 0.2], [0.3, 0.4]], min_x=0, max_x=100, min_y=0, max_y=100)),
    (bed_visualizer([[None, 0.1], [0.2, 0.3]], [0, 1], [0, 1]), None),  # circular bed
    (bed_visualizer([[0.1, 0.2], [0.3]], [0, 1], [0, 1]), None),  # ragged
    (bed_visualizer([], [], []), None),  # nothing stored yet
    ({"plugins": {}}, None),
])
def test_bed_visualizer_mesh(settings, expected):
    assert bed_mesh_from(settings) == expected


@pytest.mark.parametrize(("base", "url"), [
    ("http://octopi.local", "ws://octopi.local/sockjs/websocket"),
    ("http://127.0.0.1:5000/", "ws://127.0.0.1:5000/sockjs/websocket"),
    ("https://farm.example/octoprint/", "wss://farm.example/octoprint/sockjs/websocket"),
])
def test_websocket_url(base, url):
    assert websocket_url(base) == url
