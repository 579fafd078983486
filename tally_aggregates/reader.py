"""Reading aggregates: the one place that decides between sealed and live numbers.

A bucket's numbers are its sealed values (exact, written by the rollup) once it has ended and
its total row is not dirty; before that its live counters (docs/data-model.md). Unique visitors
exist only sealed: an open or dirty bucket reports those of its last seal (an open day's, up
to its last sealed hour), or None if it never had one. A row with no live counter (the
families counted only when sealed) shows its last sealed values. Bots are counted on the total
row only, so a filtered series has none.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tally_store import buckets
from tally_store.base import TOTAL, Bucket, Counts, Row, Store


@dataclass(frozen=True)
class Numbers:
    views: int
    events: int
    visitors: int | None
    bots: int
    sealed: bool


@dataclass(frozen=True)
class Point:
    bucket: str
    numbers: Numbers


@dataclass(frozen=True)
class Ranked:
    value: str
    views: int
    events: int
    visitors: int  # summed over buckets: a true count only for one bucket
    sealed: bool


def numbers(total: Counts | None, row: Counts | None, ended: bool = True) -> Numbers:
    """A row's numbers in a bucket whose total row is ``total`` (the same for the total), which
    has ``ended``."""
    if row is None:
        return Numbers(0, 0, None, 0, sealed=False)
    clean = total is not None and not total.state.dirty
    if row.sealed is not None and (not row.live or (ended and clean)):
        values = row.sealed
        exact = ended and clean
        return Numbers(values.get("pv", 0), values.get("ev", 0), values.get("uv", 0), values.get("bots", 0), exact)
    last = row.sealed.get("uv", 0) if row.sealed is not None else None
    return Numbers(row.live.get("pv", 0), row.live.get("ev", 0), last, row.live.get("bots", 0), sealed=False)


class AggregateReader:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _ended(self, bucket: Bucket) -> bool:
        return buckets.end_epoch(bucket) <= self.clock()

    def series(self, site: str, granularity: str, bucket_ids: Sequence[str], where: Row | None = None) -> list[Point]:
        """One point per bucket: the total, or the row ``where`` (the total's bookkeeping
        decides sealed or live either way)."""
        row = where or TOTAL
        wanted = [Bucket(site, granularity, bucket_id) for bucket_id in bucket_ids]
        found = self.store.counts([(b, TOTAL) for b in wanted] + ([(b, row) for b in wanted] if where else []))
        return [Point(b.id, numbers(found.get((b, TOTAL)), found.get((b, row)), self._ended(b))) for b in wanted]

    def top(self, site: str, granularity: str, bucket_ids: Sequence[str], dimension: str, limit: int) -> list[Ranked]:
        """The dimension's values over the buckets, most viewed first (most events first for
        the ``event`` dimension)."""
        wanted = [Bucket(site, granularity, bucket_id) for bucket_id in bucket_ids]
        totals = self.store.counts([(b, TOTAL) for b in wanted])
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 1])
        for bucket in wanted:
            for value, counts in self.store.dimension(bucket, dimension).items():
                got, row = numbers(totals.get((bucket, TOTAL)), counts, self._ended(bucket)), sums[value]
                row[0] += got.views
                row[1] += got.events
                row[2] += got.visitors or 0
                row[3] &= int(got.sealed)
        order = 1 if dimension == "event" else 0
        ranked = sorted(sums.items(), key=lambda kv: (-kv[1][order], kv[0]))[:limit]
        return [Ranked(value, v, e, u, bool(s)) for value, (v, e, u, s) in ranked]
