"""The store protocol and its types: what processing and reading need from storage.

Times are Tally's ISO strings (``2026-11-23T13:20:05.123Z``), which sort as they compare.
An event is a plain dict of its fields as the processor enriched it (``event_id``, ``site``,
``event_time``, ``name``, ``path``, ``visitor_id``, ...).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Event = dict[str, Any]
# A counter row of a bucket: (dimension, value); the bucket's total is TOTAL.
Row = tuple[str, str]
TOTAL: Row = ("total", "")


@dataclass(frozen=True, order=True)
class Bucket:
    """One aggregate bucket: granularity ``m``, ``h`` or ``d``; ``id`` the bucket's start as
    ``2026-11-23T13:20``, ``2026-11-23T13`` or ``2026-11-23`` (buckets.py)."""

    site: str
    granularity: str
    id: str


@dataclass(frozen=True)
class CounterUpdate:
    """What one batch adds to one counter row: metric name -> amount. ``mark`` (TOTAL rows
    only): bump the bucket's version and mark it dirty, so the rollup seals it again."""

    bucket: Bucket
    row: Row
    deltas: Mapping[str, int]
    mark: bool = False


@dataclass(frozen=True)
class Refused:
    """An event the store did not write, and whether writing it again may work."""

    event_id: str
    reason: str
    retryable: bool


class PendingWrite(Protocol):
    """A write under way: ``wait`` blocks until it ends and returns what was refused."""

    def wait(self) -> list[Refused]: ...


@dataclass
class EventsRead:
    """The events of a time range, each once. A redelivery may have stored an event twice:
    ``copies`` counts what was read, and ``handle`` is the adapter's own note of it, which
    ``remove_duplicates`` uses."""

    events: list[Event]
    copies: int
    handle: Any = None


@dataclass(frozen=True)
class BucketState:
    """A bucket's bookkeeping: ``version`` moves with every marking update, ``dirty`` until a
    rollup seals it at that version."""

    version: int = 0
    dirty: bool = False


@dataclass(frozen=True)
class Counts:
    """One counter row as stored: the live sums the processor adds, the values the rollup last
    sealed (None if never), and, on a bucket's TOTAL row, its bookkeeping."""

    live: Mapping[str, int] = field(default_factory=dict)
    sealed: Mapping[str, int] | None = None
    state: BucketState = BucketState()


@dataclass(frozen=True)
class Sealed:
    """A bucket as the rollup last sealed it: its total row's bookkeeping and every sealed row
    (empty if never sealed)."""

    state: BucketState
    rows: Mapping[Row, Mapping[str, int]]


@dataclass(frozen=True)
class Heartbeat:
    """A component's last run. The processor's: when, how many events, lag from receipt of its
    oldest. The rollup's: when, how many buckets it planned, age of the oldest unsealed one."""

    at: float
    size: int
    lag: float | None = None


class Store(Protocol):
    # Raw events, the source of truth.
    def write_events(self, events: Sequence[tuple[Event, int]], now: float) -> PendingWrite:
        """Start writing (event, retention days) pairs; writing an event again is harmless."""

    def read_events(self, site: str, start: str, end: str) -> EventsRead:
        """Every stored event of ``site`` with ``start <= event_time < end``."""

    def remove_duplicates(self, read: EventsRead) -> int:
        """Delete stored copies that ``read`` showed to be redundant; how many went."""

    # Live counters.
    def add_counters(self, updates: Sequence[CounterUpdate], now: float) -> list[CounterUpdate]:
        """Add every update (a marking one bumps its bucket's version and marks it dirty);
        returns those not applied."""

    # Sealing.
    def dirty_buckets(self) -> list[Bucket]:
        """Buckets changed since their last seal."""

    def bucket_state(self, bucket: Bucket) -> BucketState:
        """The bucket's bookkeeping, read consistently."""

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float, version: int) -> bool:
        """Set the bucket's sealed values to ``rows`` (every row it had and ``rows`` lacks reads
        as zero), computed at bucket ``version``; True if they differ from what was sealed
        before, False when equal or when values computed at a later version are there already
        (nothing written). Idempotent."""

    def put_blob(self, bucket: Bucket, name: str, blob: bytes, version: int) -> bool:
        """Keep one of the rollup's blobs of a bucket (its ``summary``, its event ``ids``, the ids
        it ``excludes``), computed at ``version``; True if it was written and differs from the one
        it replaced, False if it equals it or one computed at a later version is there."""

    def blobs(self, buckets: Sequence[Bucket], name: str) -> dict[Bucket, bytes]:
        """The stored blobs ``name`` of those buckets that have one."""

    def mark_clean(self, bucket: Bucket, version: int) -> bool:
        """Clear ``dirty`` if the version is still ``version``; False if it moved."""

    # Reads.
    def counts(self, keys: Sequence[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], Counts]:
        """The rows asked for that exist."""

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        """A bucket's rows of one dimension, by value."""

    def sealed(self, buckets: Sequence[Bucket]) -> dict[Bucket, Sealed]:
        """Of the buckets that exist, every sealed row and the bookkeeping, in one batched read
        (the query engine reads whole days and hours this way)."""

    # Deleting a site.
    def delete_site(self, site: str, resume: str | None = None) -> tuple[int, str | None]:
        """One bounded step of deleting everything stored for ``site`` (raw events, counters,
        sealed values, blobs, bookkeeping): how many items went, and where the next step goes on
        (an opaque string; None: the walk is complete). An item written while a walk runs may
        be behind it: a walk started after the last write finds everything."""

    # Small state.
    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        """The day's salt: ``candidate`` if none was stored yet (first writer wins)."""

    def put_heartbeat(self, beat: Heartbeat, name: str = "processor") -> None: ...

    def heartbeat(self, name: str = "processor") -> Heartbeat | None: ...
