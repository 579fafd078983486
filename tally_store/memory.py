"""The store in dicts (base.Store), for tests and one-process tools: the same contract as the
DynamoDB store, no copies to clean up (an event written twice is one entry), nothing expires.
Thread-safe: a lock guards every operation."""

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import records
from .base import TOTAL, Bucket, BucketState, CounterUpdate, Counts, Event, EventsRead, Heartbeat, Refused, Row


@dataclass
class _Row:
    live: Counter[str] = field(default_factory=Counter)
    sealed: dict[str, int] | None = None


class Done:
    """A write that has already ended (base.PendingWrite)."""

    def __init__(self, refused: list[Refused]) -> None:
        self._refused = refused

    def wait(self) -> list[Refused]:
        return self._refused


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (site, event_time, event_id) -> stored record: a redelivered event lands on its own key.
        self.events: dict[tuple[str, str, str], dict[str, object]] = {}
        self.rows: dict[tuple[Bucket, Row], _Row] = {}
        self.states: dict[Bucket, BucketState] = {}
        self.salts: dict[str, bytes] = {}
        self._heartbeat: Heartbeat | None = None

    def write_events(self, events: Sequence[tuple[Event, int]], now: float) -> Done:
        with self._lock:
            for event, _ in events:
                self.events[(event["site"], event["event_time"], event["event_id"])] = records.to_record(event)
        return Done([])

    def read_events(self, site: str, start: str, end: str) -> EventsRead:
        with self._lock:
            chosen = sorted((key, record) for key, record in self.events.items()
                            if key[0] == site and start <= key[1] < end)  # fmt: skip
        unique: dict[str, Event] = {}
        for (_, _, event_id), record in chosen:
            unique.setdefault(event_id, records.from_record(dict(record)))
        return EventsRead(list(unique.values()), len(chosen))

    def remove_duplicates(self, read: EventsRead) -> int:
        return 0

    def add_counters(self, updates: Sequence[CounterUpdate], now: float) -> list[CounterUpdate]:
        with self._lock:
            for update in updates:
                self.rows.setdefault((update.bucket, update.row), _Row()).live.update(update.deltas)
                if update.row == TOTAL:
                    state = self.states.get(update.bucket, BucketState())
                    self.states[update.bucket] = BucketState(state.version + 1, True, state.sealed_at)
        return []

    def dirty_buckets(self) -> list[Bucket]:
        with self._lock:
            return sorted(bucket for bucket, state in self.states.items() if state.dirty)

    def bucket_state(self, bucket: Bucket) -> BucketState:
        with self._lock:
            return self.states.get(bucket, BucketState())

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float) -> None:
        with self._lock:
            for (held, row), stored in self.rows.items():
                if held == bucket and row not in rows:
                    stored.sealed = {}
            for row, values in rows.items():
                self.rows.setdefault((bucket, row), _Row()).sealed = dict(values)
            state = self.states.get(bucket, BucketState())
            self.states[bucket] = BucketState(state.version, state.dirty, float(int(now)))

    def mark_clean(self, bucket: Bucket, version: int) -> bool:
        with self._lock:
            state = self.states.get(bucket, BucketState())
            if state.version != version:
                return False
            self.states[bucket] = BucketState(state.version, False, state.sealed_at)
            return True

    def counts(self, keys: Sequence[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], Counts]:
        with self._lock:
            return {key: self._counts(key) for key in keys if key in self.rows}

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        with self._lock:
            return {row[1]: self._counts((held, row)) for held, row in self.rows
                    if held == bucket and row[0] == dimension}  # fmt: skip

    def _counts(self, key: tuple[Bucket, Row]) -> Counts:
        stored = self.rows[key]
        state = self.states.get(key[0], BucketState()) if key[1] == TOTAL else BucketState()
        return Counts(dict(stored.live), dict(stored.sealed) if stored.sealed is not None else None, state)

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        with self._lock:
            return self.salts.setdefault(day, candidate)

    def put_heartbeat(self, beat: Heartbeat) -> None:
        self._heartbeat = beat

    def heartbeat(self) -> Heartbeat | None:
        return self._heartbeat
