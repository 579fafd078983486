"""A site's raw events of a range as NDJSON.gz, one bounded part at a time.

API Gateway and Lambda answer whole bodies (at most 6 MB, base64 for a binary one), so a long
range is several parts: each part is one complete gzip member of at most ``part_bytes``, and
names where the next one starts (``Position``); parts joined in order are one valid
``.ndjson.gz`` holding every event of the range once.

Reads: UTC hours in time order, each whole (one ``read_events`` of the hour, which memory holds
while it is written out), the events that count as the query engine counts them
(tally_query.reading.Reader.counted: each event id once, a client's resend within 24 hours left
out), sorted by time and id. A part looks at most SPAN_HOURS hours (one batched read of their
total rows skips the empty ones), reads at most PART_HOURS of them, and stops early when the
gzip member nears ``part_bytes``; the next part starts after the last event written, inside
its hour if need be. Before its first hour a part reads the event ids of the 24 hours before
(the rollup's ``ids`` blobs; an hour not sealed yet, from its raw events), so a resend whose
first copy went out in an earlier part is left out here too.
"""

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tally_aggregates import resends
from tally_aggregates.declared import Declared
from tally_contract.errors import TallyError
from tally_store import buckets
from tally_store.base import Bucket, Event, Store

from . import records

if (
    TYPE_CHECKING
):  # imported when a part is read: the ingest zip ships tally_export (the rollup's hourly export), not tally_query
    from tally_query.reading import Reader

PART_BYTES = 4 * 2**20  # gzipped; base64 makes 5.4 MB of it, under Lambda's 6 MB response
PART_HOURS = 24  # hours holding events read per part
SPAN_HOURS = 31 * 24  # hours looked at per part
CHUNK = 64 * 1024
# What the compressor may hold beyond what it has given out: a chunk, and a deflate block
# (16K symbols at zlib's default memLevel).
SLACK = 128 * 1024
HOUR = timedelta(hours=1)


MAX_DAYS = 3700  # the longest retention (10 years), and a margin
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)


class BadCursor(TallyError):
    """A cursor this export did not make, or one outside the range asked."""


class BadWindow(TallyError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def window_of(start: str, end: str) -> tuple[datetime, datetime]:
    """[from, to) in UTC from ISO dates or times (UTC unless they name an offset); a ``to`` that
    is a date takes that whole day in."""
    found = []
    for field, text in (("from", start), ("to", end)):
        try:
            moment = datetime.fromisoformat(text.strip()) if text.isascii() else None
        except ValueError:
            moment = None
        if moment is None:
            raise BadWindow(field, "must be an ISO date or time, e.g. 2026-11-23 or 2026-11-23T13:20Z")
        moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
        if not EARLIEST <= moment <= LATEST:
            raise BadWindow(field, f"must be from {EARLIEST:%Y} to {LATEST:%Y}")
        found.append(moment + timedelta(days=1) if field == "to" and len(text.strip()) == 10 else moment)
    if not found[0] < found[1]:
        raise BadWindow("to", "must come after from")
    if found[1] - found[0] > timedelta(days=MAX_DAYS):
        raise BadWindow("to", f"a range is at most {MAX_DAYS} days")
    return found[0], found[1]


@dataclass(frozen=True)
class Position:
    """Where a part starts: an hour (``2026-11-23T13``) and, inside it, the last event already
    written (``event_time#event_id``; empty: from the hour's start)."""

    hour: str
    after: str = ""

    def cursor(self) -> str:
        return base64.urlsafe_b64encode(f"{self.hour}|{self.after}".encode()).decode().rstrip("=")


@dataclass
class Part:
    body: bytes
    events: int
    hours_read: int
    next: Position | None  # None: the range is complete


def position_of(cursor: str, start: datetime, end: datetime) -> Position:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        hour, _, after = text.partition("|")
        moment = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except ValueError:
        raise BadCursor("is not a cursor this export returned") from None
    if len(hour) != 13 or (after and not after.startswith(hour)) or not _floor(start) <= moment < end:
        raise BadCursor("is not a cursor of this range")
    return Position(hour, after)


def part(store: Store, site: str, window: tuple[datetime, datetime], at: Position | None = None,
         part_bytes: int = PART_BYTES, clock: Callable[[], float] = time.time) -> Part:  # fmt: skip
    """One part of the events with ``start <= event_time < end``, from ``at`` (None: the start)."""
    start, end = window
    first = datetime.strptime(at.hour, "%Y-%m-%dT%H").replace(tzinfo=UTC) if at else _floor(start)
    looked = [Bucket(site, "h", (first + HOUR * i).strftime("%Y-%m-%dT%H")) for i in range(SPAN_HOURS)
              if first + HOUR * i < end]  # fmt: skip
    from tally_query.reading import Reader

    reader = Reader(store, site, Declared((), ()), clock)
    _prime(reader, looked[0])
    walk = _Walk(reader, (buckets.iso(start), buckets.iso(end)), at, part_bytes)
    pieces = []
    for piece in records.gzipped(walk.events(_with_events(reader, looked, clock)), chunk=min(CHUNK, part_bytes // 8)):
        pieces.append(piece)
        walk.emitted += len(piece)
    following = walk.stopped
    if following is None and looked and buckets.start(looked[-1]) + HOUR < end:
        following = Position((buckets.start(looked[-1]) + HOUR).strftime("%Y-%m-%dT%H"))
    return Part(b"".join(pieces), walk.count, walk.hours_read, following)


class _Walk:
    """The events a part writes, hour by hour, until a bound: where it stopped is ``stopped``."""

    def __init__(self, reader: "Reader", bounds: tuple[str, str], at: Position | None, part_bytes: int) -> None:
        self.reader, self.bounds, self.at = reader, bounds, at
        self.budget = part_bytes - min(CHUNK, part_bytes // 8) - min(SLACK, part_bytes // 4)
        self.emitted = self.count = self.hours_read = 0
        self.stopped: Position | None = None

    def events(self, hours: list[Bucket]) -> Iterator[Event]:
        low, high = self.bounds
        for hour in hours:
            if self.hours_read >= PART_HOURS:
                self.stopped = Position(hour.id)
                return
            after = self.at.after if self.at and self.at.hour == hour.id else ""
            self.hours_read += 1
            chosen = sorted(
                (e for e in self.reader.counted(hour) if low <= e["event_time"] < high and _place(e) > after),
                key=_place,
            )
            for event in chosen:
                if self.emitted >= self.budget and self.count:  # a part holds at least one event
                    self.stopped = Position(hour.id, after)
                    return
                yield event
                self.count += 1
                after = _place(event)


def _with_events(reader: "Reader", hours: list[Bucket], clock: Callable[[], float]) -> list[Bucket]:
    """The hours that hold events: those with a total row (one batched read). Hour rows are kept
    KEEP_SECONDS["h"]; older hours are read whatever they hold."""
    kept_since = clock() - buckets.KEEP_SECONDS["h"] + 86400
    old = [h for h in hours if buckets.start(h).timestamp() < kept_since]
    recent = set(reader.hours_with_events([h for h in hours if buckets.start(h).timestamp() >= kept_since]))
    return [h for h in hours if h in recent or h in old]


def _prime(reader: "Reader", hour: Bucket) -> None:
    """Read the ids of the 24 hours before ``hour`` into the reader: an hour the rollup has not
    sealed yet has no ``ids`` blob, so its events are read for them."""
    before = buckets.around(hour, -resends.LOOKBACK_HOURS, 0)
    sealed = reader.store.blobs(before, resends.IDS)
    for unsealed in reader.hours_with_events([b for b in before if b not in sealed]):
        reader.counted(unsealed)


def _place(event: Event) -> str:
    return f"{event['event_time']}#{event['event_id']}"


def _floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
