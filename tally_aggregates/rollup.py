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

With an ``export`` sink (tally_export), sealing an hour also writes the hour's file: the events
the hour counts, streamed from the same reads, before the hour is marked clean (an upload that
fails leaves it dirty, to be exported again: docs/export.md).
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tally_store import buckets
from tally_store.base import TOTAL, Bucket, CounterUpdate, Event, Store

from . import resends, rows, summary
from .counters import rows_of
from .declared import BucketRows, Declared

if TYPE_CHECKING:
    from tally_export.base import Sink

GRACE = 60.0  # a bucket is sealed this long after its end: events still on their way land first
FRESH = 3 * 3600.0  # buckets that ended within this long are sealed first, newest first
LIMIT = 5000  # buckets a run plans at most
OLD_SHARE = 0.2  # of which at most this share are older (late or imported data waits its turn)
SUMMARY = "summary"


@dataclass
class RollupReport:
    planned: int = 0
    sealed: int = 0
    still_dirty: int = 0  # changed while being sealed: sealed again next run
    waiting: int = 0  # dirty, but open or waiting for a bucket below
    events_read: int = 0
    summaries_read: int = 0
    packs_removed: int = 0  # stored copies whose every event another copy holds (redeliveries)
    exported: int = 0  # hours written to the export sink (each, whole, before it was marked clean)
    oldest_unsealed: float = 0.0  # seconds the oldest unsealed bucket has been due (its end and the grace past)


class Rollup:
    def __init__(
        self,
        store: Store,
        *,
        declared: Callable[[str], Declared | None] = lambda _site: Declared(),
        grace: float = GRACE,
        clock: Callable[[], float] = time.time,
        limit: int = LIMIT,
        export: "Sink | None" = None,
    ) -> None:
        self.store = store
        # A site's goals and property keys (cached by the caller); None: a deleted site.
        self.declared = declared
        self.grace = grace
        self.clock = clock
        self.limit = limit
        self.export = export  # None: no hourly files

    def run(self) -> RollupReport:
        """One pass: what can be sealed now (a minute this pass, its hour the next, ...)."""
        report = RollupReport()
        now = self.clock()
        for bucket in self.plan(now, report):
            self.roll(bucket, now, report)
        return report

    def settle(self, passes: int = 30) -> RollupReport:
        """Passes until one seals nothing: minutes, then their hours, then their days (a resend
        found by an hour seals its minute again first, and the hours after it derive again)."""
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
                oldest = max(oldest, now - buckets.end_epoch(bucket) - self.grace)
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
        if self.declared(bucket.site) is None:
            return  # a deleted site: its data is being purged, and nothing of it is sealed again
        state = self.store.bucket_state(bucket)
        if not state.dirty:
            return  # sealed already (a redelivered work item)
        derived = self._derive(bucket, state.version, now, report)
        changed = self.store.seal(bucket, _sealed_rows(bucket, derived), now, state.version)
        parent = buckets.parent(bucket)
        if bucket.granularity == "m" and changed and parent is not None:
            self._mark([parent], now)  # its hour reads its raw events again
        if bucket.granularity == "h" and parent is not None:
            if self.store.put_blob(bucket, SUMMARY, summary.encode(derived), state.version):
                self._mark([parent], now)
            self._keep_ids(bucket, derived, state.version, now)
        if self.store.mark_clean(bucket, state.version):
            report.sealed += 1
        else:
            report.still_dirty += 1

    def _derive(self, bucket: Bucket, version: int, now: float, report: RollupReport) -> summary.Summary:
        if bucket.granularity == "m":
            excluded = resends.decode(self.store.blobs([bucket], resends.EXCLUDED).get(bucket))
            return self._minute(bucket, excluded, report)
        if bucket.granularity == "h":
            return self._hour(bucket, version, now, report)
        found = self.store.blobs(buckets.children(bucket), SUMMARY)
        report.summaries_read += len(found)
        return summary.merge(summary.decode(found[b]) for b in sorted(found))

    def _minute(self, bucket: Bucket, excluded: set[str], report: RollupReport) -> summary.Summary:
        read = self.store.read_events(bucket.site, *buckets.time_range(bucket))
        report.events_read += len(read.events)
        report.packs_removed += self.store.remove_duplicates(read)
        kept = [event for event in read.events if event["event_id"] not in excluded]
        derived = summary.from_events(kept, BucketRows(self.declared(bucket.site) or Declared(), rows_of))
        derived.ids = [event["event_id"] for event in read.events]
        return derived

    def _hour(self, hour: Bucket, version: int, now: float, report: RollupReport) -> summary.Summary:
        """An hour from its raw events, a minute at a time (memory stays the hour's visitors,
        not its events): each event's second read. With an export, the events it keeps flow on
        into the hour's file as they are read (one piece of compressed bytes held at a time)."""
        derived = summary.Summary()
        kept = self._hour_events(hour, version, now, report, derived)
        if self.export is None:
            for _ in kept:
                pass
            return derived
        from tally_export import records
        from tally_export.base import ExportError

        self.export.put_hour(hour.site, hour.id, records.gzipped(kept))
        if next(kept, None) is not None:
            raise ExportError(f"export of {hour}: the sink stopped before the hour's last event")
        report.exported += 1
        return derived

    def _hour_events(self, hour: Bucket, version: int, now: float, report: RollupReport,
                     derived: summary.Summary) -> Iterator[Event]:  # fmt: skip
        """The events the hour counts, minute by minute, adding each minute to ``derived``.
        Later copies of an event id (resends.py) are left out here and marked for their minute,
        which is then sealed again."""
        before = buckets.around(hour, -resends.LOOKBACK_HOURS, 0)
        seen = set().union(*(resends.decode(blob) for blob in self.store.blobs(before, resends.IDS).values()))
        minutes = buckets.children(hour)
        held = {b: resends.decode(blob) for b, blob in self.store.blobs(minutes, resends.EXCLUDED).items()}
        for minute in minutes:
            read = self.store.read_events(minute.site, *buckets.time_range(minute))
            report.events_read += len(read.events)
            later = {event["event_id"] for event in read.events if event["event_id"] in seen}
            if later != held.get(minute, set()):
                self.store.put_blob(minute, resends.EXCLUDED, resends.encode(later), version)
                self._mark([minute], now)
            kept = [event for event in read.events if event["event_id"] not in later]
            part = summary.from_events(kept, BucketRows(self.declared(hour.site) or Declared(), rows_of))
            part.ids = [event["event_id"] for event in read.events]
            seen.update(part.ids)
            summary.absorb(derived, part)
            yield from kept

    def _keep_ids(self, hour: Bucket, derived: summary.Summary, version: int, now: float) -> None:
        """Keep the hour's ids for the next 24 hours' derivations; when they changed, the hours
        already derived among those derive again (a late event may make one of theirs a resend)."""
        if self.store.put_blob(hour, resends.IDS, resends.encode(derived.ids), version):
            after = buckets.around(hour, 1, resends.LOOKBACK_HOURS + 1)
            self._mark(list(self.store.blobs(after, SUMMARY)), now)

    def _mark(self, marked: Sequence[Bucket], now: float) -> None:
        if marked:
            self.store.add_counters([CounterUpdate(b, TOTAL, {}, mark=True) for b in marked], now)

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
