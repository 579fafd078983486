"""The SQLite store (base.Store): one database file, plain tables keyed like the protocol's
types, for a single machine (``tally up``'s default, docs/local-mode.md and docs/data-model.md).

- ``events``: one row per (site, event_time, event_id), the stored record as JSON. A
  redelivered event lands on its own key (written once), so there are no copies to clean up.
- ``counters``: live sums, one row per (bucket, row, metric), added with an upsert.
- ``buckets``: a bucket's bookkeeping, ``version`` (bumped by every marking update) and
  ``dirty`` (set by a marking update, cleared by the rollup at that version; a partial index
  lists the dirty ones).
- ``sealed`` and ``blobs``: what the rollup computed for a bucket, each row holding the
  version it was computed at; a write computed at an older version than the one there, or
  equal to what is there, is refused (sealed: every row as nested JSON, as DynamoDB's
  ``~sealed`` blob; blobs: the rollup's named blobs, summary, ids, excludes, as given).
- ``salts`` (first writer wins) and ``heartbeats`` (by component).

Every write is one ``BEGIN IMMEDIATE`` transaction (tally_contract/sqlite_db.py): processes
sharing the file see a batch's counters and its bucket's version move together, and a
version-guarded write reads and writes under the one write lock.
"""

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from sqlite3 import Connection
from typing import Any

from tally_contract.errors import StorageError
from tally_contract.sqlite_db import Database

from . import records
from .base import TOTAL, Bucket, BucketState, CounterUpdate, Counts, Event, EventsRead, Heartbeat, Refused, Row, Sealed
from .buckets import KEEP_SECONDS
from .memory import Done

DAY = 86400
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
  site TEXT NOT NULL, event_time TEXT NOT NULL, event_id TEXT NOT NULL, record TEXT NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (site, event_time, event_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL, dimension TEXT NOT NULL,
  value TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (site, granularity, bucket, dimension, value, metric)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS buckets (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL,
  version INTEGER NOT NULL, dirty INTEGER NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (site, granularity, bucket)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_dirty ON buckets (dirty) WHERE dirty = 1;
CREATE TABLE IF NOT EXISTS sealed (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL,
  version INTEGER NOT NULL, rows TEXT NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (site, granularity, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
  site TEXT NOT NULL, granularity TEXT NOT NULL, bucket TEXT NOT NULL, name TEXT NOT NULL,
  version INTEGER NOT NULL, blob BLOB NOT NULL, expires INTEGER NOT NULL,
  PRIMARY KEY (site, granularity, bucket, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS salts (day TEXT PRIMARY KEY, salt BLOB NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (name TEXT PRIMARY KEY, at REAL NOT NULL, size INTEGER NOT NULL, lag REAL)
"""
_DELETE_SITE = (
    "DELETE FROM events WHERE site = ?", "DELETE FROM counters WHERE site = ?",
    "DELETE FROM buckets WHERE site = ?", "DELETE FROM sealed WHERE site = ?", "DELETE FROM blobs WHERE site = ?",
)  # fmt: skip
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
Nested = dict[str, dict[str, dict[str, int]]]  # dimension -> value -> metric -> n


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
        return EventsRead(records.earliest(records.from_record(json.loads(r)) for _, r in found), len(found))

    def remove_duplicates(self, read: EventsRead) -> int:
        return 0  # an event is one row however often it was written

    # Live counters.
    def add_counters(self, updates: Sequence[CounterUpdate], now: float) -> list[CounterUpdate]:
        sums = [(*_key(u.bucket), *u.row, metric, n) for u in updates for metric, n in u.deltas.items()]
        marks = [(*_key(u.bucket), _expires(u.bucket, now)) for u in updates if u.mark]
        try:
            with self.db.write() as conn:
                conn.executemany(
                    "INSERT INTO counters VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                    sums,
                )
                conn.executemany(
                    "INSERT INTO buckets VALUES (?, ?, ?, 1, 1, ?) ON CONFLICT DO UPDATE SET version = version + 1,"
                    " dirty = 1",
                    marks,
                )
        except StorageError:
            return list(updates)  # the transaction rolled back: none of them landed
        return []

    # Sealing.
    def dirty_buckets(self) -> list[Bucket]:
        return sorted(
            Bucket(*key) for key in self.db.rows("SELECT site, granularity, bucket FROM buckets WHERE dirty = 1")
        )

    def bucket_state(self, bucket: Bucket) -> BucketState:
        with self.db.connection() as conn:
            return _state(conn, bucket) or BucketState()

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float, version: int) -> bool:
        nested: Nested = {}
        for (dimension, value), values in sorted(rows.items()):
            nested.setdefault(dimension, {})[value] = dict(sorted(values.items()))
        with self.db.write() as conn:
            held = conn.execute(
                "SELECT version, rows FROM sealed WHERE site = ? AND granularity = ? AND bucket = ?", _key(bucket)
            ).fetchone()
            text = _ENCODE(nested)
            if held is not None and (held[0] > version or held[1] == text):
                return False
            conn.execute("INSERT OR REPLACE INTO sealed VALUES (?, ?, ?, ?, ?, ?)",
                         (*_key(bucket), version, text, _expires(bucket, now)))  # fmt: skip
        return True

    def put_blob(self, bucket: Bucket, name: str, blob: bytes, version: int) -> bool:
        with self.db.write() as conn:
            held = conn.execute(
                "SELECT version, blob FROM blobs WHERE site = ? AND granularity = ? AND bucket = ? AND name = ?",
                (*_key(bucket), name),
            ).fetchone()
            if held is not None and (held[0] > version or bytes(held[1]) == blob):
                return False
            conn.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (*_key(bucket), name, version, blob, _expires(bucket, time.time())))  # fmt: skip
        return True

    def blobs(self, buckets: Sequence[Bucket], name: str) -> dict[Bucket, bytes]:
        found = {}
        with self.db.connection() as conn:
            for bucket in dict.fromkeys(buckets):
                held = conn.execute(
                    "SELECT blob FROM blobs WHERE site = ? AND granularity = ? AND bucket = ? AND name = ?",
                    (*_key(bucket), name),
                ).fetchone()
                if held is not None:
                    found[bucket] = bytes(held[0])
        return found

    def mark_clean(self, bucket: Bucket, version: int) -> bool:
        with self.db.write() as conn:
            done = conn.execute(
                "UPDATE buckets SET dirty = 0 WHERE site = ? AND granularity = ? AND bucket = ? AND version = ?",
                (*_key(bucket), version),
            )
            return done.rowcount == 1

    # Reads.
    def counts(self, keys: Sequence[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], Counts]:
        found: dict[tuple[Bucket, Row], Counts] = {}
        sealed: dict[Bucket, dict[Row, dict[str, int]] | None] = {}
        with self.db.connection() as conn:
            for bucket, row in dict.fromkeys(keys):
                if bucket not in sealed:
                    sealed[bucket] = _sealed(conn, bucket)
                counts = _counts(conn, bucket, row, sealed[bucket])
                if counts is not None:
                    found[(bucket, row)] = counts
        return found

    def sealed(self, buckets: Sequence[Bucket]) -> dict[Bucket, Sealed]:
        found: dict[Bucket, Sealed] = {}
        with self.db.connection() as conn:
            for bucket in dict.fromkeys(buckets):
                state, rows = _state(conn, bucket), _sealed(conn, bucket)
                if state is not None or rows is not None:
                    found[bucket] = Sealed(state or BucketState(), rows or {})
        return found

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        found = {}
        with self.db.connection() as conn:
            rows = _sealed(conn, bucket)
            live = conn.execute(
                "SELECT DISTINCT value FROM counters"
                " WHERE site = ? AND granularity = ? AND bucket = ? AND dimension = ?",
                (*_key(bucket), dimension),
            )
            values = {value for (value,) in live} | {value for family, value in (rows or {}) if family == dimension}
            for value in sorted(values):
                counts = _counts(conn, bucket, (dimension, value), rows)
                if counts is not None:
                    found[value] = counts
        return found

    # Small state.
    def delete_site(self, site: str, resume: str | None = None) -> tuple[int, str | None]:
        """Every table's rows of the site, in one transaction: the walk is complete at once."""
        removed = 0
        with self.db.write() as conn:
            for statement in _DELETE_SITE:
                removed += conn.execute(statement, (site,)).rowcount
        return removed, None

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        with self.db.write() as conn:
            conn.execute("INSERT INTO salts VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (day, candidate, expires))
            (salt,) = conn.execute("SELECT salt FROM salts WHERE day = ?", (day,)).fetchone()
        return bytes(salt)

    def put_heartbeat(self, beat: Heartbeat, name: str = "processor") -> None:
        with self.db.write() as conn:
            lag = round(beat.lag, 3) if beat.lag is not None else None  # milliseconds, as DynamoDB's keeps
            conn.execute(
                "INSERT OR REPLACE INTO heartbeats VALUES (?, ?, ?, ?)", (name, round(beat.at, 3), beat.size, lag)
            )

    def heartbeat(self, name: str = "processor") -> Heartbeat | None:
        found = self.db.rows("SELECT at, size, lag FROM heartbeats WHERE name = ?", (name,))
        return Heartbeat(*found[0]) if found else None

    # For tests and tools: everything stored, as the memory store exposes its dicts.
    def every_event(self) -> list[Event]:
        return [records.from_record(json.loads(record)) for (record,) in self.db.rows("SELECT record FROM events")]

    def every_row(self) -> list[tuple[Bucket, Row]]:
        """Every (bucket, row) with live counters or sealed values."""
        keys = [(Bucket(s, g, b), (d, v)) for s, g, b, d, v in
                self.db.rows("SELECT DISTINCT site, granularity, bucket, dimension, value FROM counters")]  # fmt: skip
        for site, granularity, bucket, text in self.db.rows("SELECT site, granularity, bucket, rows FROM sealed"):
            keys += [(Bucket(site, granularity, bucket), row) for row in _rows(text)]
        return list(dict.fromkeys(keys))


def _key(bucket: Bucket) -> tuple[str, str, str]:
    return bucket.site, bucket.granularity, bucket.id


def _expires(bucket: Bucket, now: float) -> int:
    return int(now) + KEEP_SECONDS[bucket.granularity]


def _rows(text: str) -> dict[Row, dict[str, int]]:
    nested: Nested = json.loads(text)
    return {(dimension, value): values for dimension, rows in nested.items() for value, values in rows.items()}


def _sealed(conn: Connection, bucket: Bucket) -> dict[Row, dict[str, int]] | None:
    held = conn.execute("SELECT rows FROM sealed WHERE site = ? AND granularity = ? AND bucket = ?", _key(bucket))
    found = held.fetchone()
    return _rows(found[0]) if found is not None else None


def _state(conn: Connection, bucket: Bucket) -> BucketState | None:
    found = conn.execute(
        "SELECT version, dirty FROM buckets WHERE site = ? AND granularity = ? AND bucket = ?", _key(bucket)
    ).fetchone()
    return BucketState(found[0], bool(found[1])) if found else None


def _counts(conn: Connection, bucket: Bucket, row: Row, sealed: dict[Row, dict[str, int]] | None) -> Counts | None:
    """A row as the memory store answers it: absent unless it has live counters, sealed values,
    or (the total) bookkeeping; a row a sealed bucket lacks reads as sealed to zero."""
    key: Any = (*_key(bucket), *row)
    live = dict(conn.execute(
        "SELECT metric, n FROM counters WHERE site = ? AND granularity = ? AND bucket = ? AND dimension = ?"
        " AND value = ?", key).fetchall())  # fmt: skip
    state = _state(conn, bucket) if row == TOTAL else None
    if not live and row != TOTAL and (sealed is None or row not in sealed):
        return None
    if not live and row == TOTAL and sealed is None and state is None:
        return None
    values = dict(sealed.get(row, {})) if sealed is not None else None
    return Counts(live, values, state or BucketState())
