"""Raw events in the DynamoDB events table, as packs (dynamodb_packs.py).

Writing: the events are packed and the packs written with BatchWriteItem. A pack DynamoDB
refuses for what it holds (not a throttle: an event too big even compressed, say) is split and
its events written one to a pack, so a bad event fails alone instead of taking its pack-mates
with it. Reading a range: one Query per (hour, shard) partition, run concurrently.
"""

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from . import dynamodb_packs as packs
from . import records
from .base import Event, EventsRead, Refused
from .buckets import hours_in
from .dynamodb_calls import Calls, Item, Key, Rejected


class Writing:
    """A write under way (base.PendingWrite)."""

    def __init__(self, events: "RawEvents", futures: list["Future[list[Rejected]]"], ids_of: dict[Key, list[str]],
                 given: dict[str, tuple[Event, int]], now: float) -> None:  # fmt: skip
        self._events, self._futures, self._ids_of, self._given, self._now = events, futures, ids_of, given, now

    def wait(self) -> list[Refused]:
        refused: dict[str, Refused] = {}
        alone: list[tuple[Event, int]] = []  # events of packs refused for what they hold
        for rejected in (r for future in self._futures for r in future.result()):
            ids = self._ids_of[rejected.key]
            if rejected.retryable or len(ids) == 1:
                refused.update({i: Refused(i, rejected.reason, rejected.retryable) for i in ids})
            else:
                alone += [self._given[i] for i in ids]
        if alone:
            refused.update(self._events.write_alone(alone, self._now))
        return list(refused.values())


class RawEvents:
    def __init__(self, calls: Calls, table: str) -> None:
        self.calls = calls
        self.table = table

    def write(self, events: Sequence[tuple[Event, int]], now: float) -> Writing:
        given = {event["event_id"]: (event, days) for event, days in events}
        packed = packs.pack(given.values(), now)
        ids_of = {(item["pk"]["S"], item["sk"]["S"]): ids for item, ids in packed}
        futures = self.calls.submit_puts(self.table, [item for item, _ in packed])
        return Writing(self, futures, ids_of, given, now)

    def write_alone(self, events: list[tuple[Event, int]], now: float) -> dict[str, Refused]:
        packed = [one for event in events for one in packs.pack([event], now)]
        ids_of = {(item["pk"]["S"], item["sk"]["S"]): ids for item, ids in packed}
        still = self.calls.put_all(self.table, [item for item, _ in packed])
        return {i: Refused(i, r.reason, r.retryable) for r in still for i in ids_of[r.key]}

    def read(self, site: str, start: str, end: str) -> EventsRead:
        partitions = [packs.partition(site, hour, shard) for hour in hours_in(start, end)
                      for shard in range(packs.SHARDS)]  # fmt: skip
        pages = self.calls.map(lambda partition: self._packs_of(partition, start, end), partitions)
        stored = (event for page in pages for pack in page for event in packs.events_of(pack))
        chosen = records.earliest(event for event in stored if start <= event["event_time"] < end)
        copies = sum(packs.count(p) for page in pages for p in page)
        return EventsRead(chosen, copies, pages)

    def remove_duplicates(self, read: EventsRead) -> int:
        """Delete the packs (as ``read`` saw them) whose every event an earlier pack holds."""
        if read.copies == len(read.events) or not read.handle:
            return 0  # no event held twice: the usual case, decided without decompressing again
        redundant = [pack for page in read.handle for pack in packs.redundant(page)]
        for pack in redundant:
            self.calls.retried("delete_item", TableName=self.table, Key={"pk": pack["pk"], "sk": pack["sk"]})
        return len(redundant)

    def _packs_of(self, partition: str, start: str, end: str) -> list[Item]:
        """The packs of one partition whose sort keys fall in [start, end]: a pack's sort key
        starts with its newest event's time, and a pack never spans a minute."""
        condition = "pk = :pk AND sk BETWEEN :start AND :end"
        values: dict[str, Any] = {":pk": {"S": partition}, ":start": {"S": start}, ":end": {"S": end}}
        return list(self.calls.query(self.table, KeyConditionExpression=condition, ExpressionAttributeValues=values))
