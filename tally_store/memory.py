"""The store in dicts (base.Store), for tests and one-process tools: the same contract as the
DynamoDB store, no copies to clean up (an event written twice is one entry), nothing expires.
Thread-safe: a lock guards every operation."""

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import records
from .base import (
    TOTAL,
    Bucket,
    BucketState,
    CounterUpdate,
    Counts,
    Event,
    EventsRead,
    Heartbeat,
    Refused,
    Row,
    Sealed,
)  # fmt: skip


@dataclass
class _Sealed:
    version: int
    rows: dict[Row, dict[str, int]] = field(default_factory=dict)


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
        self.rows: dict[tuple[Bucket, Row], Counter[str]] = {}  # live counters
        self.seals: dict[Bucket, _Sealed] = {}
        # The rollup's blobs by (bucket, name), with the version they were computed at.
        self.kept: dict[tuple[Bucket, str], tuple[int, bytes]] = {}
        self.states: dict[Bucket, BucketState] = {}
        self.salts: dict[str, bytes] = {}
        self._heartbeats: dict[str, Heartbeat] = {}

    def write_events(self, events: Sequence[tuple[Event, int]], now: float) -> Done:
        with self._lock:
            for event, _ in events:
                self.events[(event["site"], event["event_time"], event["event_id"])] = records.to_record(event)
        return Done([])

    def read_events(self, site: str, start: str, end: str) -> EventsRead:
        with self._lock:
            chosen = sorted((key, record) for key, record in self.events.items()
                            if key[0] == site and start <= key[1] < end)  # fmt: skip
        return EventsRead(records.earliest(records.from_record(dict(r)) for _, r in chosen), len(chosen))

    def remove_duplicates(self, read: EventsRead) -> int:
        return 0

    def add_counters(self, updates: Sequence[CounterUpdate], now: float) -> list[CounterUpdate]:
        with self._lock:
            for update in updates:
                if update.deltas:
                    self.rows.setdefault((update.bucket, update.row), Counter()).update(update.deltas)
                if update.mark:
                    state = self.states.get(update.bucket, BucketState())
                    self.states[update.bucket] = BucketState(state.version + 1, True)
        return []

    def dirty_buckets(self) -> list[Bucket]:
        with self._lock:
            return sorted(bucket for bucket, state in self.states.items() if state.dirty)

    def bucket_state(self, bucket: Bucket) -> BucketState:
        with self._lock:
            return self.states.get(bucket, BucketState())

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float, version: int) -> bool:
        with self._lock:
            held, values = self.seals.get(bucket), {row: dict(v) for row, v in rows.items()}
            if held is not None and (held.version > version or held.rows == values):
                return False
            self.seals[bucket] = _Sealed(version, values)
            return True

    def put_blob(self, bucket: Bucket, name: str, blob: bytes, version: int) -> bool:
        with self._lock:
            held = self.kept.get((bucket, name))
            if held is not None and (held[0] > version or held[1] == blob):
                return False
            self.kept[(bucket, name)] = (version, blob)
            return True

    def blobs(self, buckets: Sequence[Bucket], name: str) -> dict[Bucket, bytes]:
        with self._lock:
            return {b: self.kept[(b, name)][1] for b in buckets if (b, name) in self.kept}

    def mark_clean(self, bucket: Bucket, version: int) -> bool:
        with self._lock:
            state = self.states.get(bucket, BucketState())
            if state.version != version:
                return False
            self.states[bucket] = BucketState(state.version, False)
            return True

    def counts(self, keys: Sequence[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], Counts]:
        with self._lock:
            found = {key: self._counts(*key) for key in keys}
        return {key: counts for key, counts in found.items() if counts is not None}

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        with self._lock:
            sealed = self.seals.get(bucket)
            rows = {row for held, row in self.rows if held == bucket} | set(sealed.rows if sealed else ())
            found = {row[1]: self._counts(bucket, row) for row in rows if row[0] == dimension}
        return {value: counts for value, counts in found.items() if counts is not None}

    def sealed(self, buckets: Sequence[Bucket]) -> dict[Bucket, Sealed]:
        with self._lock:
            return {bucket: Sealed(self.states.get(bucket, BucketState()),
                                   dict(self.seals[bucket].rows) if bucket in self.seals else {})
                    for bucket in buckets if bucket in self.states or bucket in self.seals}  # fmt: skip

    def _counts(self, bucket: Bucket, row: Row) -> Counts | None:
        live, sealed = self.rows.get((bucket, row)), self.seals.get(bucket)
        if live is None and (sealed is None or row not in sealed.rows) and row != TOTAL:
            return None
        if live is None and sealed is None and bucket not in self.states:
            return None
        state = self.states.get(bucket, BucketState()) if row == TOTAL else BucketState()
        values = dict(sealed.rows.get(row, {})) if sealed is not None else None
        return Counts(dict(live or {}), values, state)

    def delete_site(self, site: str, resume: str | None = None) -> tuple[int, str | None]:
        with self._lock:
            before = len(self.events) + len(self.rows) + len(self.seals) + len(self.kept) + len(self.states)
            self.events = {key: value for key, value in self.events.items() if key[0] != site}
            self.rows = {key: value for key, value in self.rows.items() if key[0].site != site}
            self.seals = {key: value for key, value in self.seals.items() if key.site != site}
            self.kept = {key: value for key, value in self.kept.items() if key[0].site != site}
            self.states = {key: value for key, value in self.states.items() if key.site != site}
            after = len(self.events) + len(self.rows) + len(self.seals) + len(self.kept) + len(self.states)
        return before - after, None

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        with self._lock:
            return self.salts.setdefault(day, candidate)

    def put_heartbeat(self, beat: Heartbeat, name: str = "processor") -> None:
        self._heartbeats[name] = beat

    def heartbeat(self, name: str = "processor") -> Heartbeat | None:
        return self._heartbeats.get(name)
