"""What the engine reads, and its bounds: whole UTC days from their sealed rows; partial days
from their hour summaries (each sealed hour's; an hour not sealed yet, such as the open one, from
its raw events); the raw events themselves for a scan. Every read is counted in ``Cost``.

Bounds (docs/dashboard.md, "POST /api/v2/query"): at most MAX_SUMMARY_DAYS UTC days
(24 hour summaries each) and MAX_SUMMARY_BYTES of them; at most MAX_RAW_HOURS hours read raw
because they are not sealed yet (more means the rollup is behind: Lagging, a 503).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tally_aggregates import resends, summary
from tally_aggregates.counters import rows_of
from tally_aggregates.declared import BucketRows, Declared
from tally_aggregates.rollup import SUMMARY
from tally_contract.errors import TallyError
from tally_store import buckets
from tally_store.base import TOTAL, Bucket, Event, Sealed, Store

from .errors import TooCostly

MAX_SUMMARY_DAYS = 32
MAX_SUMMARY_BYTES = 48 * 1024 * 1024
MAX_RAW_HOURS = 6


class Lagging(TallyError):
    """More hours wait for the rollup than a query reads raw: answer later (a 503)."""


@dataclass
class Cost:
    day_rows: int = 0  # whole days read from their sealed rows
    hour_summaries: int = 0
    summary_bytes: int = 0
    raw_hours: int = 0  # hours not sealed yet, summarized from their raw events
    hours_read: int = 0  # hours whose raw events were read (those, and a scan's)
    raw_events: int = 0
    seconds: float = 0.0

    def shown(self) -> dict[str, float | int]:
        return {**vars(self), "seconds": round(self.seconds, 3)}


@dataclass
class Day:
    """A UTC day's hour summaries (hours that have begun), and their merge."""

    id: str
    hours: dict[int, summary.Summary] = field(default_factory=dict)
    _whole: summary.Summary | None = None

    def whole(self) -> summary.Summary:
        if self._whole is None:
            self._whole = summary.merge(self.hours[h] for h in sorted(self.hours))
        return self._whole

    def part(self, first: int, stop: int) -> summary.Summary:
        """The merge of hours [first, stop)."""
        return summary.merge(self.hours[h] for h in range(first, stop) if h in self.hours)


class Reader:
    def __init__(self, store: Store, site: str, declared: Declared, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.site = site
        self.declared = declared
        self.clock = clock
        self.cost = Cost()
        self._days: dict[str, Day] = {}
        self._ids: dict[Bucket, set[str]] = {}  # event ids read per hour (resends.py): stored, or read here

    def sealed_days(self, days: Sequence[str]) -> dict[str, Sealed]:
        """The days among ``days`` that have ended and whose sealed rows are current (clean)."""
        now = self.clock()
        wanted = [Bucket(self.site, "d", day) for day in days]
        found = self.store.sealed(wanted) if wanted else {}
        clean = {b.id: s for b, s in found.items() if not s.state.dirty and s.rows and buckets.end_epoch(b) <= now}
        self.cost.day_rows += len(found)
        return clean

    def existing_days(self, days: Sequence[str]) -> set[str]:
        """The days that hold anything at all (one batched read of their total rows)."""
        wanted = [(Bucket(self.site, "d", day), TOTAL) for day in days]
        self.cost.day_rows += len(wanted)
        return {bucket.id for bucket, _ in self.store.counts(wanted)} if wanted else set()

    def day(self, day: str) -> Day:
        if day not in self._days:
            if len(self._days) >= MAX_SUMMARY_DAYS:
                raise TooCostly(
                    "date_range",
                    f"reads the hour summaries of more than {MAX_SUMMARY_DAYS} UTC days (a time "
                    "zone or a time dimension splits days; a visit filter reads every day's): narrow it",
                )
            self._days[day] = self._load(day)
        return self._days[day]

    def _load(self, day: str) -> Day:
        now = self.clock()
        hours = [h for h in buckets.children(Bucket(self.site, "d", day)) if buckets.start(h).timestamp() <= now]
        counts = self.store.counts([(h, TOTAL) for h in hours]) if hours else {}
        present = [h for h in hours if (h, TOTAL) in counts]
        blobs = self.store.blobs(present, SUMMARY) if present else {}
        loaded = Day(day)
        for hour in present:
            blob = blobs.get(hour)
            if blob is not None and not counts[(hour, TOTAL)].state.dirty:
                self._count_summary(len(blob))
                loaded.hours[int(hour.id[11:13])] = summary.decode(blob)
            else:
                loaded.hours[int(hour.id[11:13])] = self.raw_hour(hour)
        return loaded

    def _count_summary(self, size: int) -> None:
        self.cost.hour_summaries += 1
        self.cost.summary_bytes += size
        if self.cost.summary_bytes > MAX_SUMMARY_BYTES:
            raise TooCostly("date_range", f"reads more than {MAX_SUMMARY_BYTES // 2**20} MB of hour summaries: narrow "
                                          "it, or align it to whole UTC days")  # fmt: skip

    def raw_hour(self, hour: Bucket) -> summary.Summary:
        """An hour not sealed yet, summarized from its raw events as the rollup would."""
        if self.cost.raw_hours >= MAX_RAW_HOURS:
            raise Lagging(f"more than {MAX_RAW_HOURS} hours of this range wait for the rollup; retry in a minute")
        self.cost.raw_hours += 1
        kept = self.counted(hour)
        return summary.from_events(kept, BucketRows(self.declared, rows_of))

    def counted(self, hour: Bucket) -> list[Event]:
        """The hour's events that count: each event id once, its copies resent by a client
        within 24 hours left out (tally_aggregates/resends.py)."""
        self.cost.hours_read += 1
        before = buckets.around(hour, -resends.LOOKBACK_HOURS, 0)
        missing = [b for b in before if b not in self._ids]
        if missing:
            stored = self.store.blobs(missing, resends.IDS)
            self._ids.update({b: resends.decode(stored.get(b)) for b in missing})
        seen = set().union(*(self._ids[b] for b in before))
        read = self.store.read_events(self.site, *buckets.time_range(hour))
        self.cost.raw_events += len(read.events)
        self._ids[hour] = {event["event_id"] for event in read.events}
        return [event for event in read.events if event["event_id"] not in seen]

    def hours_with_events(self, hours: Sequence[Bucket]) -> list[Bucket]:
        """The hours that hold any event (one batched read of their total rows)."""
        found = self.store.counts([(h, TOTAL) for h in hours]) if hours else {}
        return [h for h in hours if (h, TOTAL) in found]


def day_ids(start: datetime, end: datetime) -> list[str]:
    """The UTC days [start, end) touches."""
    day = start.astimezone(UTC).date()
    found = []
    while datetime(day.year, day.month, day.day, tzinfo=UTC) < end:
        found.append(day.isoformat())
        day += timedelta(days=1)
    return found
