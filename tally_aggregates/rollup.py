"""Seal aggregate buckets from the raw events, the source of truth.

Every counter update marks its bucket dirty and bumps its version. The rollup lists the dirty
buckets, recomputes each from the raw events of its time range (pageviews, events, bots and
exact unique visitors, per row), seals the results (idempotent: the store sets them whole),
and clears ``dirty`` only if the version has not moved meanwhile. So the rollup may run any
number of times; a bucket that changed while it ran stays dirty for the next run.

Closed buckets are sealed once their end is ``grace`` seconds past. Open hour and day buckets
are refreshed (uniques so far) at most every ``REFRESH[granularity]`` seconds.

Sealing a minute also asks the store to remove stored copies a redelivery made redundant
(tally_store.base.Store.remove_duplicates).
"""

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tally_store import buckets
from tally_store.base import Bucket, BucketState, EventsRead, Row, Store

from .counters import rows_of

REFRESH = {"m": None, "h": 300.0, "d": 3600.0}


@dataclass
class RowTotals:
    counts: Counter[str] = field(default_factory=Counter)
    visitors: set[str] = field(default_factory=set)

    def sealed(self) -> dict[str, int]:
        values = {name: count for name, count in self.counts.items() if count}
        if self.visitors:
            values["uv"] = len(self.visitors)
        return values


@dataclass
class Recomputed:
    """One bucket recomputed: sealed values per row, and the raw events as read."""

    rows: dict[Row, dict[str, int]]
    read: EventsRead


@dataclass
class RollupReport:
    sealed: int = 0
    refreshed: int = 0
    still_dirty: int = 0
    events_read: int = 0
    packs_removed: int = 0  # stored copies whose every event another copy holds (redeliveries)


class Rollup:
    def __init__(self, store: Store, *, grace: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.grace = grace
        self.clock = clock

    def run(self) -> RollupReport:
        report = RollupReport()
        now = self.clock()
        for bucket in self.store.dirty_buckets():
            self.roll(bucket, now, report)
        return report

    def roll(self, bucket: Bucket, now: float, report: RollupReport) -> None:
        closed = buckets.end_epoch(bucket) + self.grace <= now
        state = self.store.bucket_state(bucket)
        if not closed and not _due(bucket, state, now):
            return
        recomputed = self.recompute(bucket)
        report.events_read += len(recomputed.read.events)
        if closed and bucket.granularity == "m":
            report.packs_removed += self.store.remove_duplicates(recomputed.read)
        self.store.seal(bucket, recomputed.rows, now)
        if not closed:
            report.refreshed += 1
        elif self.store.mark_clean(bucket, state.version):
            report.sealed += 1
        else:
            report.still_dirty += 1

    def recompute(self, bucket: Bucket) -> Recomputed:
        """Exact values of one bucket, per row, from the raw events."""
        read = self.store.read_events(bucket.site, *buckets.time_range(bucket))
        totals: dict[Row, RowTotals] = defaultdict(RowTotals)
        for event in read.events:
            visitor = None if event.get("bot") else event.get("visitor_id")
            for row, (pv, ev, bots) in rows_of(event):
                row_totals = totals[row]
                row_totals.counts.update(pv=pv, ev=ev, bots=bots)
                if visitor:
                    row_totals.visitors.add(visitor)
        return Recomputed({row: row_totals.sealed() for row, row_totals in totals.items()}, read)


def _due(bucket: Bucket, state: BucketState, now: float) -> bool:
    refresh = REFRESH[bucket.granularity]
    return refresh is not None and now - (state.sealed_at or 0.0) >= refresh
