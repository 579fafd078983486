"""The SQLite store (base.Store): one database file, plain tables keyed like the protocol's
types, for a single machine (``tally up``'s default, docs/local-mode.md).

- ``events``: one row per (site, event_time, event_id), the stored record as JSON. A
  redelivered event lands on its own key (written once), so there are no copies to clean up.
- ``counters``: live sums, one row per (bucket, row, metric), added with an upsert.
- ``sealed``: the rollup's values of a row, as a JSON map set whole (``{}``: sealed to zero).
- ``buckets``: a bucket's bookkeeping: ``version`` (bumped by every counter update),
  ``dirty`` (set by every update, cleared by the rollup at that version; a partial index lists
  the dirty ones), ``sealed_at``.
- ``salts`` (first writer wins) and ``heartbeats``.

Every write is one ``BEGIN IMMEDIATE`` transaction (tally_contract/sqlite_db.py), so processes
sharing the file see a batch's counters and its bucket's version move together, and the
rollup's conditional ``mark_clean`` cannot interleave with an update.
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from sqlite3 import Connection
from typing import Any

from tally_contract.errors import StorageError
from tally_contract.sqlite_db import Database

from . import records
from .base import TOTAL, Bucket, BucketState, CounterUpdate, Counts, Event, EventsRead, Heartbeat, Refused, Row
from .buckets import KEEP_SECONDS
from .memory import Done

DAY = 86400
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
  site TEXT NOT NULL, event_time TEXT NOT NULL, event_id TEXT NOT NULL,
  record TEXT NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (site, event_time, event_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL, dimension TEXT NOT NULL,
  value TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (site, granularity, bucket, dimension, value, metric)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sealed (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL, dimension TEXT NOT NULL,
  value TEXT NOT NULL, metrics TEXT NOT NULL,
  PRIMARY KEY (site, granularity, bucket, dimension, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buckets (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL,
  version INTEGER NOT NULL, dirty INTEGER NOT NULL, sealed_at REAL, expires INTEGER NOT NULL,
  PRIMARY KEY (site, granularity, bucket)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_dirty ON buckets (dirty) WHERE dirty = 1;
CREATE TABLE IF NOT EXISTS salts (day TEXT PRIMARY KEY, salt BLOB NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (name TEXT PRIMARY KEY, at REAL NOT NULL, size INTEGER NOT NULL, lag REAL)
"""
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SQLiteStore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.db = Database(path, schema=SCHEMA, error=StorageError, synchronous=synchronous)

    @classmethod
    def from_url(cls, url: str) -> "SQLiteStore":
        """``sqlite://<path>``: ``sqlite:///abs/tally.db`` or ``sqlite://.tally/tally.db``."""
        return cls(url.removeprefix("sqlite://"))

    # Raw events.
    def write_events(self, events: Sequence[tuple[Event, int]], now: float) -> Done:
        rows = [(e["site"], e["event_time"], e["event_id"], _ENCODE(records.to_record(e)), int(now) + days * DAY)
                for e, days in events]  # fmt: skip
        try:
            with self.db.write() as conn:
                conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)
        except StorageError as exc:
            return Done([Refused(e["event_id"], str(exc), exc.retryable) for e, _ in events])
        return Done([])

    def read_events(self, site: str, start: str, end: str) -> EventsRead:
        found = self.db.rows(
            "SELECT event_id, record FROM events WHERE site = ? AND event_time >= ? AND event_time < ?"
            " ORDER BY event_time, event_id",
            (site, start, end),
        )
        unique: dict[str, Event] = {}
        for event_id, record in found:
            if event_id not in unique:
                unique[event_id] = records.from_record(json.loads(record))
        return EventsRead(list(unique.values()), len(found))

    def remove_duplicates(self, read: EventsRead) -> int:
        return 0  # an event is one row however often it was written

    # Live counters.
    def add_counters(self, updates: Sequence[CounterUpdate], now: float) -> list[CounterUpdate]:
        sums = [(*_bucket_key(u.bucket), *u.row, metric, n) for u in updates for metric, n in u.deltas.items()]
        totals = [(*_bucket_key(u.bucket), int(now) + KEEP_SECONDS[u.bucket.granularity])
                  for u in updates if u.row == TOTAL]  # fmt: skip
        try:
            with self.db.write() as conn:
                conn.executemany(
                    "INSERT INTO counters VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                    sums,
                )
                conn.executemany(
                    "INSERT INTO buckets VALUES (?, ?, ?, 1, 1, NULL, ?)"
                    " ON CONFLICT DO UPDATE SET version = version + 1, dirty = 1",
                    totals,
                )
        except StorageError:
            return list(updates)  # the transaction rolled back: none of them landed
        return []

    # Sealing.
    def dirty_buckets(self) -> list[Bucket]:
        found = self.db.rows("SELECT site, granularity, bucket FROM buckets WHERE dirty = 1")
        return sorted(Bucket(*key) for key in found)

    def bucket_state(self, bucket: Bucket) -> BucketState:
        with self.db.connection() as conn:
            return _state(conn, bucket)

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float) -> None:
        key = _bucket_key(bucket)
        with self.db.write() as conn:
            # Rows the raw events no longer support (a duplicate counted live) seal to zero.
            zero: dict[Row, Mapping[str, int]] = {row: {} for row in _rows_of(conn, bucket)}
            zero.update(rows)
            conn.executemany(
                "INSERT INTO sealed VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET metrics = excluded.metrics",
                [(*key, *row, _ENCODE(dict(sorted(values.items())))) for row, values in sorted(zero.items())],
            )
            conn.execute(
                "INSERT INTO buckets VALUES (?, ?, ?, 0, 0, ?, ?)"
                " ON CONFLICT DO UPDATE SET sealed_at = excluded.sealed_at",
                (*key, float(int(now)), int(now) + KEEP_SECONDS[bucket.granularity]),
            )

    def mark_clean(self, bucket: Bucket, version: int) -> bool:
        with self.db.write() as conn:
            done = conn.execute(
                "UPDATE buckets SET dirty = 0 WHERE site = ? AND granularity = ? AND bucket = ? AND version = ?",
                (*_bucket_key(bucket), version),
            )
            return done.rowcount == 1

    # Reads.
    def counts(self, keys: Sequence[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], Counts]:
        found = {}
        with self.db.connection() as conn:
            for bucket, row in dict.fromkeys(keys):
                counts = _counts(conn, bucket, row)
                if counts is not None:
                    found[(bucket, row)] = counts
        return found

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        found = {}
        with self.db.connection() as conn:
            for row in _rows_of(conn, bucket, dimension):
                counts = _counts(conn, bucket, row)
                if counts is not None:
                    found[row[1]] = counts
        return found

    # Small state.
    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        with self.db.write() as conn:
            conn.execute("INSERT INTO salts VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (day, candidate, expires))
            (salt,) = conn.execute("SELECT salt FROM salts WHERE day = ?", (day,)).fetchone()
        return bytes(salt)

    def put_heartbeat(self, beat: Heartbeat) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO heartbeats VALUES ('processor', ?, ?, ?)", (beat.at, beat.size, beat.lag)
            )

    def heartbeat(self) -> Heartbeat | None:
        found = self.db.rows("SELECT at, size, lag FROM heartbeats WHERE name = 'processor'")
        return Heartbeat(*found[0]) if found else None

    # For tests and tools: everything stored, as the memory store exposes its dicts.
    def every_event(self) -> list[Event]:
        return [records.from_record(json.loads(record)) for (record,) in self.db.rows("SELECT record FROM events")]

    def every_row(self) -> list[tuple[Bucket, Row]]:
        found = self.db.rows(
            "SELECT site, granularity, bucket, dimension, value FROM counters"
            " UNION SELECT site, granularity, bucket, dimension, value FROM sealed"
        )
        return [(Bucket(site, g, b), (d, v)) for site, g, b, d, v in found]


def _bucket_key(bucket: Bucket) -> tuple[str, str, str]:
    return bucket.site, bucket.granularity, bucket.id


def _rows_of(conn: Connection, bucket: Bucket, dimension: str | None = None) -> list[Row]:
    """The rows a bucket has, live or sealed (of one dimension if given)."""
    key = _bucket_key(bucket)
    if dimension is None:
        found = conn.execute(
            "SELECT dimension, value FROM counters WHERE site = ? AND granularity = ? AND bucket = ?"
            " UNION SELECT dimension, value FROM sealed WHERE site = ? AND granularity = ? AND bucket = ?",
            key * 2,
        )
    else:
        found = conn.execute(
            "SELECT dimension, value FROM counters WHERE site = ? AND granularity = ? AND bucket = ? AND dimension = ?"
            " UNION SELECT dimension, value FROM sealed WHERE site = ? AND granularity = ? AND bucket = ?"
            " AND dimension = ?",
            (*key, dimension) * 2,
        )
    return sorted((dimension, value) for dimension, value in found)


def _state(conn: Connection, bucket: Bucket) -> BucketState:
    found = conn.execute(
        "SELECT version, dirty, sealed_at FROM buckets WHERE site = ? AND granularity = ? AND bucket = ?",
        _bucket_key(bucket),
    ).fetchone()
    return BucketState(found[0], bool(found[1]), found[2]) if found else BucketState()


def _counts(conn: Connection, bucket: Bucket, row: Row) -> Counts | None:
    key: Any = (*_bucket_key(bucket), *row)
    live = dict(conn.execute(
        "SELECT metric, n FROM counters WHERE site = ? AND granularity = ? AND bucket = ? AND dimension = ?"
        " AND value = ?", key).fetchall())  # fmt: skip
    sealed_row = conn.execute(
        "SELECT metrics FROM sealed WHERE site = ? AND granularity = ? AND bucket = ? AND dimension = ? AND value = ?",
        key,
    ).fetchone()
    if not live and sealed_row is None:
        return None
    sealed = json.loads(sealed_row[0]) if sealed_row is not None else None
    return Counts(live, sealed, _state(conn, bucket) if row == TOTAL else BucketState())
