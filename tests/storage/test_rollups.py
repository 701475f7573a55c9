"""Rollups and charts on every backend: each sample counted once, whatever order it arrives in."""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict

import pytest

from printfleet_protocol import Family
from printfleet_protocol.payloads import SCHEMA_VERSION, Heater, Telemetry
from storage import Accepted
from storage.charts import chart_query, to_points
from storage.retention import DAY_S, RetentionPolicy

pytestmark = pytest.mark.timeout(60)

DEVICE = "roll-1"


def sample(seq: int, ts: float, bed: float, tool: float | None) -> Accepted:
    heaters = {"bed": Heater(bed, 60.0)}
    if tool is not None:
        heaters["tool0"] = Heater(tool, 215.0)
    message = Telemetry(v=SCHEMA_VERSION, ts=ts, seq=seq, state="printing", heaters=heaters)
    return Accepted(DEVICE, Family.TELEMETRY, message, time.time())


def expected_buckets(samples: list[Accepted], width_s: int) -> dict[float, dict]:
    """Per bucket: sample count and bed/tool0 avg, min, max, computed here from the samples."""
    grouped: dict[float, list] = defaultdict(list)
    for item in samples:
        grouped[math.floor(item.message.ts / width_s) * width_s].append(item.message.heaters)
    out = {}
    for bucket, readings in grouped.items():
        beds = [h["bed"].actual for h in readings]
        tools = [h["tool0"].actual for h in readings if "tool0" in h]
        out[bucket] = {"samples": len(readings),
                       "bed": (sum(beds) / len(beds), min(beds), max(beds)),
                       "tool0": (sum(tools) / len(tools), min(tools), max(tools)) if tools else None}
    return out


def read_buckets(stores, source: str, since: float, until: float) -> dict[float, dict]:
    rows = stores.sync.query_rows(chart_query(source, stores.sync.chart_flavour),
                                  (DEVICE, since, until))
    out = {}
    for point in to_points(rows):
        tool = point.heaters.get("tool0")
        bed = point.heaters["bed"]
        out[point.t] = {"samples": point.samples, "bed": (bed.avg, bed.min, bed.max),
                        "tool0": (tool.avg, tool.min, tool.max) if tool else None}
    return out


def assert_same(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for bucket, want in expected.items():
        got = actual[bucket]
        assert got["samples"] == want["samples"], bucket
        assert got["bed"] == pytest.approx(want["bed"]), bucket
        assert (got["tool0"] is None) == (want["tool0"] is None), bucket
        if want["tool0"]:
            assert got["tool0"] == pytest.approx(want["tool0"]), bucket


async def test_rollups_count_each_sample_once_whatever_order_it_arrives_in(stores):
    rng = random.Random(7)
    start = math.floor(time.time() / 3600) * 3600 - 3 * 3600  # three whole hours ago
    samples = [sample(seq, start + seq * 20 + rng.random(), 40 + rng.random() * 30,
                      None if seq % 7 == 0 else 180 + rng.random() * 40)
               for seq in range(3 * 180)]
    shuffled = samples[:]
    rng.shuffle(shuffled)
    replays = rng.sample(samples, 120)  # QoS 1 redeliveries, in later batches
    stream = shuffled + replays
    stored = 0
    for begin in range(0, len(stream), 37):
        result = await stores.ingest.write_batch(stream[begin:begin + 37], [])
        stored += result.stored
    assert stored == len(samples)

    until = start + 4 * 3600
    assert_same(read_buckets(stores, "telemetry_1m", start, until), expected_buckets(samples, 60))
    assert_same(read_buckets(stores, "telemetry_1h", start, until),
                expected_buckets(samples, 3600))


async def test_the_chart_reads_raw_minutes_or_hours_by_span(stores):
    now = time.time()
    samples = [sample(seq, now - 3000 + seq * 10, 50.0 + seq % 3, 200.0) for seq in range(300)]
    await stores.ingest.write_batch(samples, [])

    hour = stores.sync.temperature_chart(DEVICE, now - 3600, now)
    day = stores.sync.temperature_chart(DEVICE, now - DAY_S, now)
    month = stores.sync.temperature_chart(DEVICE, now - 30 * DAY_S, now)

    assert (hour.source, hour.step_s, len(hour.points)) == ("telemetry", 0, 300)
    assert hour.points[0].heaters["bed"].avg == 50.0
    assert hour.points[0].heaters["tool0"].target == 215.0
    assert (day.source, day.step_s) == ("telemetry_1m", 60)
    assert sum(p.samples for p in day.points) == 300
    assert (month.source, month.step_s) == ("telemetry_1h", 3600)
    assert sum(p.samples for p in month.points) == 300
    assert "chamber" not in month.points[0].heaters  # never reported, never drawn
    other = stores.sync.temperature_chart("someone-else", now - DAY_S, now)
    assert other.points == []


async def test_retention_removes_old_raw_rows_and_keeps_their_rollups(stores):
    now = time.time()
    old = [sample(seq, now - 40 * DAY_S + seq * 10, 55.0, 210.0) for seq in range(50)]
    recent = [sample(100 + seq, now - 3600 + seq * 10, 60.0, 215.0) for seq in range(50)]
    await stores.ingest.write_batch(old + recent, [])

    removed = stores.sync.apply_retention(now, RetentionPolicy(telemetry_days=30))

    assert removed["telemetry"] == 50
    assert removed["telemetry_1m"] == 0 and removed["telemetry_1h"] == 0
    seqs = [row["seq"] for row in stores.sync.table_rows("telemetry", DEVICE)]
    assert seqs == list(range(100, 150))
    month_ago = stores.sync.temperature_chart(DEVICE, now - 45 * DAY_S, now - 35 * DAY_S)
    assert sum(p.samples for p in month_ago.points) == 50  # the hourly rollup outlives raw
    assert stores.sync.apply_retention(now, RetentionPolicy(telemetry_days=30))["telemetry"] == 0


async def test_rebuilt_rollups_equal_what_ingest_kept(stores):
    start = 1_700_000_000.0 - 1_700_000_000.0 % 3600
    stores.sync.add_device(DEVICE, "Printer", None, "hash")
    # Whole-degree readings: sums are exact, whichever order they are added in.
    samples = [sample(seq, start + 45 * seq, 20.0 + seq % 7, 200.0 + seq % 3)
               for seq in range(200)]  # 2.5 hours, several per minute
    await stores.ingest.write_batch(samples, [])
    days = (start - 10 * DAY_S, start + 10 * DAY_S)
    hours = (start - DAY_S / 2, start + DAY_S / 2)
    kept = [stores.sync.temperature_chart(DEVICE, *days),
            stores.sync.temperature_chart(DEVICE, *hours)]
    assert [chart.source for chart in kept] == ["telemetry_1h", "telemetry_1m"]
    assert sum(point.samples for point in kept[0].points) == 200

    if stores.sync.chart_flavour != "timescale":  # continuous aggregates cannot be edited
        stores.execute("DELETE FROM telemetry_1m")  # as after an import around the workers
        stores.execute("DELETE FROM telemetry_1h")
        assert stores.sync.temperature_chart(DEVICE, *days).points == []
    stores.sync.rebuild_rollups(start + 600, start + 7200)  # widened to whole hours
    stores.sync.rebuild_rollups(start, start + 3 * 3600)  # again: replaces, never adds

    rebuilt = [stores.sync.temperature_chart(DEVICE, *days),
               stores.sync.temperature_chart(DEVICE, *hours)]
    assert rebuilt == kept
