"""Seal aggregate buckets exactly, each from what is below it, each event read once.

- A **minute** is sealed from its raw events (the source of truth): its event-level rows and
  its summary (summary.py). The processor marks a minute dirty with every batch that touches it.
- An **hour** is derived from its minutes' summaries, a **day** from its hours' (the day adds
  the visit rows: a visit is whole only in the day's merge). A bucket whose summary changed
  marks its parent dirty, so a late or redelivered event reaches the day through the chain.

Every seal is a pure function of what it read, written with the bucket's version read before:
the store refuses values computed at an older version than those it holds, and ``dirty`` is
cleared only if the version has not moved meanwhile. So any number of workers may seal at
once, a bucket sealed twice gets the same values, and one that changed while it was sealed
stays dirty for the next run (docs/data-model.md, "Exactness").

``plan`` is the scheduler's half (what to seal now, fresh buckets first, bounded); ``roll`` is a
worker's (one bucket). ``run`` does both in one process.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tally_store import buckets
from tally_store.base import TOTAL, Bucket, CounterUpdate, Store

from . import rows, summary
from .counters import rows_of

GRACE = 60.0  # a bucket is sealed this long after its end: events still on their way land first
FRESH = 3 * 3600.0  # buckets that ended within this long are sealed first, newest first
LIMIT = 5000  # buckets a run plans at most
OLD_SHARE = 0.2  # of which at most this share are older (late or imported data waits its turn)


@dataclass
class RollupReport:
    planned: int = 0
    sealed: int = 0
    still_dirty: int = 0  # changed while being sealed: sealed again next run
    waiting: int = 0  # dirty, but open or waiting for a bucket below
    events_read: int = 0
    summaries_read: int = 0
    packs_removed: int = 0  # stored copies whose every event another copy holds (redeliveries)
    oldest_unsealed: float = 0.0  # seconds since the end of the oldest closed, unsealed bucket


class Rollup:
    def __init__(
        self, store: Store, *, grace: float = GRACE, clock: Callable[[], float] = time.time, limit: int = LIMIT
    ) -> None:
        self.store = store
        self.grace = grace
        self.clock = clock
        self.limit = limit

    def run(self) -> RollupReport:
        """One pass: what can be sealed now (a minute this pass, its hour the next, ...)."""
        report = RollupReport()
        now = self.clock()
        for bucket in self.plan(now, report):
            self.roll(bucket, now, report)
        return report

    def settle(self, passes: int = 6) -> RollupReport:
        """Passes until one seals nothing: minutes, then their hours, then their days."""
        total = RollupReport()
        for _ in range(passes):
            report = self.run()
            for name, value in vars(report).items():
                setattr(total, name, max(value, getattr(total, name)) if name == "oldest_unsealed" else
                        getattr(total, name) + value)  # fmt: skip
            if not report.sealed and not report.still_dirty:
                break
        total.oldest_unsealed = report.oldest_unsealed
        return total

    def plan(self, now: float, report: RollupReport | None = None) -> list[Bucket]:
        """The dirty buckets that can be sealed now: closed minutes; closed hours none of whose
        minutes is dirty; days none of whose closed hours is dirty. Fresh ones first, newest
        first; then at most OLD_SHARE of the limit of older ones, oldest first."""
        report = report or RollupReport()
        dirty = self.store.dirty_buckets()
        # A closed bucket still to seal holds back the buckets above it (they would read it stale).
        pending = {above for b in dirty if self._closed(b, now) for above in buckets.above(b)}
        ready, oldest = [], 0.0
        for bucket in dirty:
            closed = self._closed(bucket, now)
            if closed:
                oldest = max(oldest, now - buckets.end_epoch(bucket))
            if bucket in pending or (not closed and bucket.granularity != "d"):
                report.waiting += 1
                continue
            ready.append(bucket)
        report.oldest_unsealed = oldest
        chosen = self._ordered(ready, now)
        report.planned += len(chosen)
        return chosen

    def roll(self, bucket: Bucket, now: float, report: RollupReport) -> None:
        """Seal one bucket (a worker's unit of work; harmless to repeat)."""
        state = self.store.bucket_state(bucket)
        if not state.dirty:
            return  # sealed already (a redelivered work item)
        derived = self._derive(bucket, report)
        self.store.seal(bucket, _sealed_rows(bucket, derived), now, state.version)
        parent = buckets.parent(bucket)
        if parent is not None and self.store.put_summary(bucket, summary.encode(derived), state.version):
            self.store.add_counters([CounterUpdate(parent, TOTAL, {}, mark=True)], now)
        if self.store.mark_clean(bucket, state.version):
            report.sealed += 1
        else:
            report.still_dirty += 1

    def _derive(self, bucket: Bucket, report: RollupReport) -> summary.Summary:
        if bucket.granularity == "m":
            read = self.store.read_events(bucket.site, *buckets.time_range(bucket))
            report.events_read += len(read.events)
            report.packs_removed += self.store.remove_duplicates(read)
            return summary.from_events(read.events, rows_of)
        found = self.store.summaries(buckets.children(bucket))
        report.summaries_read += len(found)
        return summary.merge(summary.decode(blob) for _, blob in sorted(found.items()))

    def _closed(self, bucket: Bucket, now: float) -> bool:
        return buckets.end_epoch(bucket) + self.grace <= now

    def _ordered(self, ready: Sequence[Bucket], now: float) -> list[Bucket]:
        def age(bucket: Bucket) -> float:
            return now - buckets.end_epoch(bucket)

        fresh = sorted((b for b in ready if age(b) < FRESH), key=age)
        old = sorted((b for b in ready if age(b) >= FRESH), key=age, reverse=True)
        old_taken = min(len(old), max(self.limit - len(fresh), int(self.limit * OLD_SHARE)))
        return fresh[: self.limit - old_taken] + old[:old_taken]


def _sealed_rows(bucket: Bucket, derived: summary.Summary) -> dict[tuple[str, str], dict[str, int]]:
    sealed = rows.event_rows(derived)
    if bucket.granularity == "d":
        sealed.update(rows.visit_rows(derived))
    return sealed
