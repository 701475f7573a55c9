"""The live stream: one SSE connection that carries every printer's changes."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from printfleet.settings import with_changes
from storage import PrinterRow
from web import create_app
from web.live import KEEPALIVE, LiveStreams, counted, printer_events
from web.printers import max_live_streams

from .conftest import ALICE, BOB, SseReader, log_in, start_server, telemetry, write_messages

STREAM_TIMEOUT_S = 10.0


def _row(progress: float | None) -> PrinterRow:
    return PrinterRow(device_id="d1", name="P", presence="online", last_seen_at=100.0,
                      printer_state="printing", heaters={}, progress_pct=progress,
                      time_left_s=None, job_file_name=None, job_status=None, telemetry_ts=1.0)


def _events(chunks: Iterator[bytes], count: int) -> list[bytes]:
    return [next(chunks) for _ in range(count)]


def test_stream_sends_the_list_then_changes_or_keepalives():
    snapshots = iter([[_row(1.0)], [_row(1.0)], [_row(2.0)], [_row(2.0)]])
    chunks = printer_events(lambda: next(snapshots), interval_s=0.001,
                            disconnected=lambda: False, stopping=threading.Event(),
                            now=lambda: 110.0)
    first, unchanged, changed, unchanged_again = _events(chunks, 4)
    assert first.startswith(b"retry: 3000\nevent: printers\ndata: ")
    payload = json.loads(first.split(b"data: ", 1)[1])
    assert payload[0]["progress_pct"] == 1.0
    assert payload[0]["last_seen_age_s"] == 10.0
    assert unchanged == KEEPALIVE
    assert changed.startswith(b"event: printers\n")
    assert json.loads(changed.split(b"data: ", 1)[1])[0]["progress_pct"] == 2.0
    assert unchanged_again == KEEPALIVE


def test_stream_ends_when_the_client_disconnects_or_the_server_stops():
    stopping = threading.Event()
    gone = threading.Event()
    for stop in (gone, stopping):
        chunks = printer_events(lambda: [], interval_s=0.001, disconnected=gone.is_set,
                                stopping=stopping)
        next(chunks)
        stop.set()
        assert list(chunks) == []


def test_stream_ends_after_its_maximum_duration():
    chunks = printer_events(lambda: [], interval_s=0.001, disconnected=lambda: False,
                            stopping=threading.Event(), max_duration_s=0.0)
    next(chunks)
    assert list(chunks) == []


def test_counted_streams_leave_when_closed_early():
    streams = LiveStreams()
    chunks = counted(iter([b"a", b"b"]), streams)
    assert next(chunks) == b"a"
    assert streams.open_count == 1
    chunks.close()
    assert streams.wait_for_count(0, timeout_s=1)


def test_stream_headers_and_first_event(client: httpx.Client, store, users):
    store.add_device("p1", "First", users[ALICE[0]], "x")
    store.add_device("p2", "Second", users[ALICE[0]], "x")
    store.add_device("bob-1", "Bob's", users[BOB[0]], "x")
    log_in(client, *ALICE)
    with client.stream("GET", "/printers/live") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        event = SseReader(response).next_event()
    assert event["event"] == "printers"
    assert event["retry"] == "3000"
    printers = json.loads(event["data"])
    # One connection carries every printer of the user, and only theirs.
    assert [p["device_id"] for p in printers] == ["p1", "p2"]
    assert {"last_seen_age_s", "heaters", "progress_pct", "presence"} <= set(printers[0])


def test_stream_delivers_new_telemetry(client: httpx.Client, store, users, db_path):
    store.add_device("p1", "First", users[ALICE[0]], "x")
    write_messages(db_path, [("p1", telemetry(1, tool=180.0, bed=40.0, progress=5.0))])
    log_in(client, *ALICE)
    with client.stream("GET", "/printers/live") as response:
        reader = SseReader(response)
        [first] = json.loads(reader.next_event()["data"])
        assert first["heaters"]["tool0"]["actual"] == 180.0
        assert first["progress_pct"] == 5.0

        write_messages(db_path, [("p1", telemetry(2, tool=209.5, bed=60.0, progress=57.0))])
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        while time.monotonic() < deadline:
            [latest] = json.loads(reader.next_event(timeout_s=STREAM_TIMEOUT_S)["data"])
            if latest["progress_pct"] == 57.0:
                break
        else:
            pytest.fail("the stream did not deliver the new telemetry")
    assert latest["heaters"]["tool0"] == {"actual": 209.5, "target": 210.0}
    assert latest["heaters"]["bed"]["actual"] == 60.0


def test_stream_sends_keepalives_while_nothing_changes(client: httpx.Client, store, users):
    store.add_device("p1", "First", users[ALICE[0]], "x")
    log_in(client, *ALICE)
    with client.stream("GET", "/printers/live") as response:
        reader = SseReader(response)
        reader.next_event()
        assert reader.next_comment_or_event() == "keepalive"
        assert reader.next_comment_or_event() == "keepalive"


def test_stream_answers_401_when_signed_out(client: httpx.Client):
    response = client.get("/printers/live")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


@pytest.fixture
def slow_stream_server(settings, store):
    """A server whose streams wait 30 s between ticks, to see what ends them early."""
    slow = with_changes(settings, web={"live_update_interval_s": 30.0})
    app = create_app(slow, store)
    server, thread = start_server(slow, app)
    yield server, app.extensions["printfleet"]
    server.close()
    thread.join(10)
    assert not thread.is_alive()


def test_first_event_is_not_held_back_by_the_server(slow_stream_server, users):
    server, _ = slow_stream_server
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        log_in(client, *ALICE)
        started = time.monotonic()
        with client.stream("GET", "/printers/live") as response:
            assert SseReader(response).next_event()["event"] == "printers"
        assert time.monotonic() - started < 5


def test_client_disconnect_frees_the_stream_before_its_next_tick(slow_stream_server, users):
    server, state = slow_stream_server
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        log_in(client, *ALICE)
        with client.stream("GET", "/printers/live") as response:
            SseReader(response).next_event()
            assert state.live_streams.open_count == 1
    # The next write would come only after 30 s: ending sooner means waitress
    # noticed the closed connection (channel_request_lookahead) and told us.
    assert state.live_streams.wait_for_count(0, timeout_s=5)


def test_closing_the_server_ends_open_streams(slow_stream_server, users):
    server, state = slow_stream_server
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        log_in(client, *ALICE)
        with client.stream("GET", "/printers/live") as response:
            reader = SseReader(response)
            reader.next_event()
            started = time.monotonic()
            closer = threading.Thread(target=server.close)
            closer.start()
            with pytest.raises((EOFError, httpx.RemoteProtocolError)):
                reader.next_event()
            closer.join(10)
    assert time.monotonic() - started < 5
    assert state.live_streams.open_count == 0


def test_streams_are_capped_so_pages_still_get_threads(
        client: httpx.Client, settings, store, users, web_state):
    limit = max_live_streams(settings.web.threads)
    assert 1 <= limit < settings.web.threads
    store.add_device("p1", "First", users[ALICE[0]], "x")
    log_in(client, *ALICE)
    with ExitStack() as streams:
        for _ in range(limit):
            response = streams.enter_context(client.stream("GET", "/printers/live"))
            SseReader(response).next_event()
        assert web_state.live_streams.open_count == limit
        refused = client.get("/printers/live")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert client.get("/api/v1/printers").status_code == 200
    assert web_state.live_streams.wait_for_count(0, timeout_s=5)
    with client.stream("GET", "/printers/live") as response:
        assert response.status_code == 200


def test_a_printer_stream_carries_that_printer_only_and_follows_it(client: httpx.Client, store,
                                                                   users, db_path):
    store.add_device("p1", "First", users[ALICE[0]], "x")
    store.add_device("p2", "Second", users[ALICE[0]], "x")
    write_messages(db_path, [("p1", telemetry(1, tool=180.0, bed=40.0, progress=5.0))])
    log_in(client, *ALICE)
    with client.stream("GET", "/printers/p1/live") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        first = reader.next_event()
        assert first["event"] == "printers" and first["retry"] == "3000"
        [printer] = json.loads(first["data"])
        assert (printer["device_id"], printer["progress_pct"]) == ("p1", 5.0)

        write_messages(db_path, [("p1", telemetry(2, tool=209.5, bed=60.0, progress=57.0)),
                                 ("p2", telemetry(1, tool=100.0, bed=30.0, progress=1.0))])
        [latest] = json.loads(reader.next_event(timeout_s=STREAM_TIMEOUT_S)["data"])
        assert (latest["device_id"], latest["progress_pct"]) == ("p1", 57.0)

        # Removed while the page is open: the stream says so with an empty list.
        assert store.revoke_device("p1")
        assert json.loads(reader.next_event(timeout_s=STREAM_TIMEOUT_S)["data"]) == []


def test_a_printer_stream_is_404_for_others_and_401_signed_out(client: httpx.Client, store, users):
    store.add_device("bob-1", "Bob's", users[BOB[0]], "x")
    assert client.get("/printers/bob-1/live").status_code == 401
    assert client.get("/printers/bob-1/live").json() == {"error": "authentication required"}
    log_in(client, *ALICE)
    for device_id in ("bob-1", "no-such-printer"):
        refused = client.get(f"/printers/{device_id}/live")
        assert refused.status_code == 404, device_id
