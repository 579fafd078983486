"""Seal aggregate buckets from the raw events, the source of truth.

Every counter update marks its bucket's total item ``dirty`` and bumps ``ver``. The rollup
finds dirty buckets through the sparse ``by_dirty`` index, recomputes each from the raw
events of its time range (pageviews, events, bots and exact unique visitors, per dimension),
writes the results as sealed attributes (``spv``, ``sev``, ``suv``, ``sbots``) with SET, and
clears ``dirty`` only if ``ver`` has not moved meanwhile. SET is idempotent, so the rollup may
run any number of times; a bucket that changed while it ran stays dirty for the next run.

Closed buckets are sealed once their end is ``grace`` seconds past. Open hour and day buckets
are refreshed (uniques so far) at most every ``refresh[granularity]`` seconds.

Sealing a minute also deletes the raw-event packs a redelivery made redundant (items.py): a
pack whose every event sits in a pack earlier in one fixed order, more events first, then
by sort key. Both are immutable, so however many rollups run at once, on however stale
reads, the earliest pack ever holding an event is never deleted: no event is lost, and a
whole batch delivered twice ends up stored once.
"""

import functools
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import counters, items, keys
from .dynamo import DynamoStore
from .errors import ConditionFailed
from .request_job import Tables

DIRTY_INDEX = "by_dirty"
REFRESH = {"m": None, "h": 300.0, "d": 3600.0}


@dataclass
class BucketTotals:
    counts: Counter[str] = field(default_factory=Counter)
    visitors: set[str] = field(default_factory=set)


@dataclass
class Recomputed:
    """One bucket recomputed: totals per sort key, distinct events read, and the packs read
    (per partition) that held them."""

    totals: dict[str, BucketTotals]
    events: int
    packs: list[list[dict[str, Any]]]


@dataclass
class RollupReport:
    sealed: int = 0
    refreshed: int = 0
    still_dirty: int = 0
    events_read: int = 0
    packs_removed: int = 0  # packs whose every event another pack holds (redeliveries)


class Rollup:
    def __init__(
        self, store: DynamoStore, tables: Tables, *, grace: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.tables = tables
        self.grace = grace
        self.clock = clock

    def run(self) -> RollupReport:
        report = RollupReport()
        now = self.clock()
        for pk in self._dirty_buckets():
            self._roll(pk, now, report)
        return report

    def _dirty_buckets(self) -> list[str]:
        found = self.store.query(
            self.tables.aggregates,
            IndexName=DIRTY_INDEX,
            KeyConditionExpression="dirty = :d",
            ExpressionAttributeValues={":d": {"S": counters.DIRTY}},
        )
        return sorted({item["pk"]["S"] for item in found})

    def _roll(self, pk: str, now: float, report: RollupReport) -> None:
        site, granularity, bucket_id = pk.rsplit("#", 2)
        closed = keys.parse_bucket(granularity, bucket_id).timestamp() + _span(granularity) + self.grace <= now
        total = self._get(pk, keys.TOTAL)
        if not closed and not self._due(granularity, total, now):
            return
        recomputed = self.recompute(site, granularity, bucket_id)
        report.events_read += recomputed.events
        if closed and granularity == "m":
            report.packs_removed += self._remove_redundant(recomputed)
        self._write_sealed(pk, recomputed.totals, now)
        if not closed:
            report.refreshed += 1
            return
        try:
            self._clear_dirty(pk, total.get("ver", {"N": "0"})["N"])
            report.sealed += 1
        except ConditionFailed:
            report.still_dirty += 1

    def recompute(self, site: str, granularity: str, bucket_id: str) -> Recomputed:
        """Exact totals of one bucket, per sort key, from the raw events."""
        pk = keys.aggregate_pk(site, granularity, bucket_id)
        start, end = keys.bucket_range(granularity, bucket_id)
        partitions = [f"{site}#{hour}#{shard:02d}" for hour in keys.hours_in(granularity, bucket_id)
                      for shard in range(keys.SHARDS)]  # fmt: skip
        pages = self.store.map(lambda partition: self._packs_of(partition, start, end), partitions)
        totals: dict[str, BucketTotals] = defaultdict(BucketTotals)
        read = 0
        for event in items.unique_events(pack for page in pages for pack in page):
            read += 1
            for event_pk, sk, deltas in counters.contributions(event):
                if event_pk == pk:
                    totals[sk].counts.update(deltas)
                    if not event.get("bot") and event.get("visitor_id"):
                        totals[sk].visitors.add(event["visitor_id"])
        return Recomputed(totals, read, pages)

    def _packs_of(self, partition: str, start: str, end: str) -> list[dict[str, Any]]:
        """The packs of one partition in [start, end]."""
        return list(
            self.store.query(
                self.tables.events,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :start AND :end",
                ExpressionAttributeValues={":pk": {"S": partition}, ":start": {"S": start}, ":end": {"S": end}},
            )
        )

    def _remove_redundant(self, minute: Recomputed) -> int:
        """Delete the packs of a closed minute (as its recompute read them) whose every event
        an earlier pack holds; returns how many."""
        if sum(int(pack["c"]["N"]) for packs in minute.packs for pack in packs) == minute.events:
            return 0  # no event held twice: the usual case, decided without decompressing again
        redundant = [pack for packs in minute.packs for pack in items.redundant(packs)]
        for pack in redundant:
            key = {"pk": pack["pk"], "sk": pack["sk"]}
            self.store.with_retries(
                functools.partial(self.store.call, "delete_item", TableName=self.tables.events, Key=key)
            )
        return len(redundant)

    def _write_sealed(self, pk: str, totals: dict[str, BucketTotals], now: float) -> None:
        existing = {item["sk"]["S"] for item in self.store.query(
            self.tables.aggregates, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}}, ProjectionExpression="sk")}  # fmt: skip
        # Counters the raw events no longer support (a duplicate counted live) seal to zero.
        for sk in existing - set(totals):
            totals[sk] = BucketTotals()
        self.store.map(lambda sk: self._seal(pk, sk, totals[sk], now), sorted(totals))

    def _seal(self, pk: str, sk: str, totals: BucketTotals, now: float) -> None:
        values = {
            ":spv": {"N": str(totals.counts["pv"])},
            ":sev": {"N": str(totals.counts["ev"])},
            ":suv": {"N": str(len(totals.visitors))},
            ":sbots": {"N": str(totals.counts["bots"])},
            ":sat": {"N": str(int(now))},
        }
        self.store.with_retries(
            lambda: self.store.call(
                "update_item",
                TableName=self.tables.aggregates,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="SET spv = :spv, sev = :sev, suv = :suv, sbots = :sbots, sat = :sat",
                ExpressionAttributeValues=values,
            )
        )

    def _clear_dirty(self, pk: str, version: str) -> None:
        self.store.call(
            "update_item",
            TableName=self.tables.aggregates,
            Key={"pk": {"S": pk}, "sk": {"S": keys.TOTAL}},
            UpdateExpression="REMOVE dirty",
            ConditionExpression="ver = :v",
            ExpressionAttributeValues={":v": {"N": version}},
        )

    def _get(self, pk: str, sk: str) -> dict[str, Any]:
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        response = self.store.with_retries(
            lambda: self.store.call("get_item", TableName=self.tables.aggregates, Key=key, ConsistentRead=True)
        )
        item: dict[str, Any] = response.get("Item", {})
        return item

    def _due(self, granularity: str, total: dict[str, Any], now: float) -> bool:
        refresh = REFRESH[granularity]
        if refresh is None:
            return False
        sealed_at = float(total.get("sat", {"N": "0"})["N"])
        return now - sealed_at >= refresh


def _span(granularity: str) -> float:
    return keys.STEP[granularity].total_seconds()
