"""The offline outbox: every outgoing message waits here until the fleet has stored it.

One SQLite file per device (aiosqlite, WAL, synchronous=FULL: a message
acknowledged by `append` survives an agent crash and a power cut). Sequence
numbers are allocated in the same transaction that stores the message, so
they are unique, increasing and never reused, across restarts too.

Families are must-deliver (job events, downtime, facts, command acks) or
may-drop (telemetry, heartbeats, camera). While the broker is unreachable,
telemetry beyond a bounded backlog is thinned to one sample a minute, and a
new heartbeat or live camera frame replaces an unsent older one; every
thinned sample is counted.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import msgspec

from printfleet_protocol import Family, encode

MUST_DELIVER = frozenset({Family.JOB, Family.DOWNTIME, Family.FACTS, Family.ACK})
# Only the newest unsent message of these families is worth sending.
LATEST_ONLY = frozenset({Family.HEARTBEAT})

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY,
        family TEXT NOT NULL,
        payload BLOB NOT NULL,
        must_deliver INTEGER NOT NULL,
        ts REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_sent_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_family_ts ON outbox(family, ts)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    # Small durable facts about the device's history (an open downtime, say).
    "CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


R = TypeVar("R")


def _serialised(method: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Run one outbox operation at a time, and run it to the end.

    Operations share one connection and its transactions; a caller cancelled
    half-way (the agent stopping) must not leave a transaction open, so the
    operation itself is shielded from the caller's cancellation.
    """
    @functools.wraps(method)
    async def wrapper(self: Outbox, *args: Any, **kwargs: Any) -> R:
        async def locked() -> R:
            async with self._lock:
                return await method(self, *args, **kwargs)
        return await asyncio.shield(locked())
    return wrapper


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    seq: int
    family: Family
    payload: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    # Telemetry kept at full rate while offline (10 min at 1 Hz) before thinning.
    telemetry_backlog: int = 600
    # Older telemetry is thinned to one sample per this many seconds.
    thinned_interval_s: float = 60.0
    # Resend a message the fleet has not confirmed after this long.
    resend_after_s: float = 30.0
    # Give up on a message after this many sends (it is counted, not silent).
    max_attempts: int = 50


class Outbox:
    """Durable queue of outgoing messages for one device."""

    def __init__(self, path: Path, policy: OutboxPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._path = Path(path)
        self.policy = policy or OutboxPolicy()
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._telemetry_count = 0
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self._path, isolation_level=None)
        for pragma in ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"):
            await self._db.execute(pragma)
        for statement in _SCHEMA:
            await self._db.execute(statement)
        self._telemetry_count = await self._scalar(
            "SELECT COUNT(*) FROM outbox WHERE family = ?", (Family.TELEMETRY.value,))

    async def close(self) -> None:
        async with self._lock:  # after any operation still finishing
            if self._db is not None:
                await self._db.close()
                self._db = None

    @_serialised
    async def allocate_seq(self) -> int:
        """Take a sequence number for a message that is not queued (a last will)."""
        db = self._require()
        await db.execute("BEGIN IMMEDIATE")
        try:
            seq = await self._next_seq()
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        return seq

    @_serialised
    async def append(self, family: Family, build: Callable[[int], msgspec.Struct]) -> int:
        """Store the message `build(seq)` makes with a new seq; return the seq."""
        db = self._require()
        await db.execute("BEGIN IMMEDIATE")
        try:
            seq = await self._next_seq()
            message = build(seq)
            if family in LATEST_ONLY:
                cursor = await db.execute(
                    # Never sent (attempts = 0): a sent one may already be stored.
                    "DELETE FROM outbox WHERE family = ? AND attempts = 0",
                    (family.value,))
                if cursor.rowcount:
                    await self._add_counter(f"{family.value}s_superseded_total", cursor.rowcount)
            await db.execute(
                "INSERT INTO outbox (seq, family, payload, must_deliver, ts) VALUES (?, ?, ?, ?, ?)",
                (seq, family.value, encode(message), int(family in MUST_DELIVER),
                 getattr(message, "ts", self._clock())))
            # Per-family totals let anyone account for every message: each one
            # is stored, thinned, superseded or counted undeliverable.
            await self._add_counter(f"appended_{family.value}_total", 1)
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        if family is Family.TELEMETRY:
            self._telemetry_count += 1
            if self._telemetry_count > self.policy.telemetry_backlog:
                await self._thin_telemetry()
        return seq

    @_serialised
    async def due(self, limit: int) -> list[OutgoingMessage]:
        """Messages to send now, oldest first: never sent, or unconfirmed for too long."""
        db = self._require()
        # Each unconfirmed resend waits twice as long as the last (at most 64x).
        async with db.execute(
            "SELECT seq, family, payload, attempts FROM outbox WHERE last_sent_at IS NULL "
            "OR last_sent_at + ? * (1 << MIN(MAX(attempts - 1, 0), 6)) < ? ORDER BY seq LIMIT ?",
            (self.policy.resend_after_s, self._clock(), limit)) as cursor:
            rows = await cursor.fetchall()
        return [OutgoingMessage(r[0], Family(r[1]), bytes(r[2]), r[3]) for r in rows]

    @_serialised
    async def mark_sent(self, seqs: list[int]) -> int:
        """Record a send of these messages; give up on may-drop ones sent too often."""
        if not seqs:
            return 0
        db = self._require()
        now = self._clock()
        await db.execute("BEGIN IMMEDIATE")
        await db.executemany("UPDATE outbox SET attempts = attempts + 1, last_sent_at = ? "
                             "WHERE seq = ?", [(now, seq) for seq in seqs])
        # Only may-drop messages are ever given up; must-deliver ones wait forever.
        cursor = await db.execute("DELETE FROM outbox WHERE must_deliver = 0 AND attempts >= ?",
                                  (self.policy.max_attempts,))
        given_up = cursor.rowcount
        if given_up:
            await self._add_counter("undeliverable_total", given_up)
        await db.execute("COMMIT")
        return given_up

    @_serialised
    async def mark_unsent(self) -> None:
        """After a reconnect, send everything unconfirmed again, in order."""
        await self._require().execute("UPDATE outbox SET last_sent_at = NULL")

    @_serialised
    async def release(self, ranges: list[tuple[int, int]]) -> int:
        """Drop messages the fleet confirmed as stored; return how many."""
        db = self._require()
        released = 0
        await db.execute("BEGIN IMMEDIATE")
        for first, last in ranges:
            cursor = await db.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?",
                                      (first, last))
            released += cursor.rowcount
        await db.execute("COMMIT")
        self._telemetry_count = await self._scalar(
            "SELECT COUNT(*) FROM outbox WHERE family = ?", (Family.TELEMETRY.value,))
        return released

    @_serialised
    async def depth(self) -> int:
        return await self._scalar("SELECT COUNT(*) FROM outbox", ())

    @_serialised
    async def counter(self, name: str) -> int:
        return await self._scalar("SELECT COALESCE((SELECT value FROM counters WHERE name = ?), 0)",
                                  (name,))

    @_serialised
    async def pending_by_family(self) -> dict[str, int]:
        db = self._require()
        async with db.execute("SELECT family, COUNT(*) FROM outbox GROUP BY family") as cursor:
            return {row[0]: row[1] for row in await cursor.fetchall()}

    @_serialised
    async def get_state(self, name: str) -> str | None:
        async with self._require().execute("SELECT value FROM state WHERE name = ?",
                                           (name,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    @_serialised
    async def set_state(self, name: str, value: str | None) -> None:
        """Durably set (or with None, clear) a named value."""
        if value is None:
            await self._require().execute("DELETE FROM state WHERE name = ?", (name,))
        else:
            await self._require().execute(
                "INSERT INTO state (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

    async def _thin_telemetry(self) -> None:
        """Keep the newest backlog at full rate; older samples one per interval."""
        db = self._require()
        interval = self.policy.thinned_interval_s
        await db.execute("BEGIN IMMEDIATE")
        cursor = await db.execute(
            """DELETE FROM outbox WHERE family = ? AND attempts = 0 AND seq NOT IN (
                   SELECT seq FROM outbox WHERE family = ? ORDER BY seq DESC LIMIT ?)
               AND seq NOT IN (
                   SELECT MIN(seq) FROM outbox WHERE family = ? GROUP BY CAST(ts / ? AS INTEGER))""",
            (Family.TELEMETRY.value, Family.TELEMETRY.value, self.policy.telemetry_backlog // 2,
             Family.TELEMETRY.value, interval))
        thinned = cursor.rowcount
        if thinned:
            await self._add_counter("telemetry_thinned_total", thinned)
        await db.execute("COMMIT")
        self._telemetry_count -= thinned

    async def _next_seq(self) -> int:
        db = self._require()
        async with db.execute("SELECT value FROM counters WHERE name = 'next_seq'") as cursor:
            row = await cursor.fetchone()
        seq = row[0] if row else 0
        await db.execute("INSERT INTO counters (name, value) VALUES ('next_seq', ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (seq + 1,))
        return int(seq)

    async def _add_counter(self, name: str, amount: int) -> None:
        await self._require().execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, amount))

    async def _scalar(self, sql: str, args: tuple) -> int:
        async with self._require().execute(sql, args) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    def _require(self) -> aiosqlite.Connection:
        assert self._db is not None, "open() the outbox first"
        return self._db
