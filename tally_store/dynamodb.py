"""The DynamoDB store (base.Store): the events table (packs, dynamodb_events.py) and the
aggregates table, laid out as docs/data-model.md describes.

Aggregates: ``pk = site#granularity#bucket``, ``sk = total#`` or ``dimension#value``. Live
counters are attributes named for their metric (``pv``, ``ev``, ``bots``), added with one
UpdateItem ``ADD`` per row per batch; the rollup's values are one map attribute ``sealed``,
set whole. The total row also carries ``ver`` (bumped by every update), ``dirty`` (set by every
update, removed by the rollup at that version; the sparse ``by_dirty`` index lists dirty
buckets) and ``sat`` (sealed at). Outside any site's buckets: the daily salts
(``pk = salt``) and the processor's heartbeat (``pk = heartbeat``).
"""

import os
from collections.abc import Mapping, Sequence
from typing import Any

from tally_contract.errors import ConditionFailed, StorageError

from .base import TOTAL, Bucket, BucketState, CounterUpdate, Counts, Event, EventsRead, Heartbeat, Row
from .buckets import KEEP_SECONDS
from .dynamodb_calls import Calls, Item
from .dynamodb_events import RawEvents, Writing
from .dynamodb_salts import DynamoDBSalts

DIRTY_INDEX = "by_dirty"
DIRTY = "1"
_BOOKKEEPING = frozenset({"ver", "ttl", "sat"})
HEARTBEAT_KEY = {"pk": {"S": "heartbeat"}, "sk": {"S": "processor"}}


class DynamoDBStore:
    def __init__(self, events_table: str, aggregates_table: str, calls: Calls | None = None) -> None:
        self.calls = calls or Calls()
        self.events_table = events_table
        self.aggregates_table = aggregates_table
        self.raw = RawEvents(self.calls, events_table)

    @classmethod
    def from_environment(cls, calls: Calls | None = None) -> "DynamoDBStore":
        return cls(os.environ["TALLY_EVENTS_TABLE"], os.environ["TALLY_AGGREGATES_TABLE"], calls)

    # Raw events.
    def write_events(self, events: Sequence[tuple[Event, int]], now: float) -> Writing:
        return self.raw.write(events, now)

    def read_events(self, site: str, start: str, end: str) -> EventsRead:
        return self.raw.read(site, start, end)

    def remove_duplicates(self, read: EventsRead) -> int:
        return self.raw.remove_duplicates(read)

    # Live counters.
    def add_counters(self, updates: Sequence[CounterUpdate], now: float) -> list[CounterUpdate]:
        landed = self.calls.map(lambda update: self._add(update, now), list(updates))
        return [update for update, ok in zip(updates, landed, strict=True) if not ok]

    def _add(self, update: CounterUpdate, now: float) -> bool:
        names = sorted(update.deltas)
        values: dict[str, Any] = {f":{name}": {"N": str(update.deltas[name])} for name in names}
        adds = [f"{name} :{name}" for name in names]
        sets = ["#ttl = if_not_exists(#ttl, :ttl)"]
        values[":ttl"] = {"N": str(int(now) + KEEP_SECONDS[update.bucket.granularity])}
        if update.row == TOTAL:
            adds.append("ver :one")
            values[":one"] = {"N": "1"}
            sets.append("dirty = :dirty")
            values[":dirty"] = {"S": DIRTY}
        try:
            self.calls.retried(
                "update_item", TableName=self.aggregates_table, Key=_key(update.bucket, update.row),
                UpdateExpression=f"ADD {', '.join(adds)} SET {', '.join(sets)}",
                ExpressionAttributeNames={"#ttl": "ttl"}, ExpressionAttributeValues=values,
            )  # fmt: skip
        except StorageError:
            return False
        return True

    # Sealing.
    def dirty_buckets(self) -> list[Bucket]:
        found = self.calls.query(
            self.aggregates_table, IndexName=DIRTY_INDEX, KeyConditionExpression="dirty = :d",
            ExpressionAttributeValues={":d": {"S": DIRTY}},
        )  # fmt: skip
        return sorted({_bucket(item["pk"]["S"]) for item in found})

    def bucket_state(self, bucket: Bucket) -> BucketState:
        response = self.calls.retried(
            "get_item", TableName=self.aggregates_table, Key=_key(bucket, TOTAL), ConsistentRead=True
        )
        return _state(response.get("Item", {}))

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float) -> None:
        existing = self.calls.query(
            self.aggregates_table, KeyConditionExpression="pk = :pk", ProjectionExpression="sk",
            ExpressionAttributeValues={":pk": {"S": _pk(bucket)}},
        )  # fmt: skip
        # Rows the raw events no longer support (a duplicate counted live) seal to zero.
        zero: dict[Row, Mapping[str, int]] = {_row(item["sk"]["S"]): {} for item in existing}
        zero.update(rows)
        self.calls.map(lambda row: self._seal_row(bucket, row, zero[row], now), sorted(zero))

    def _seal_row(self, bucket: Bucket, row: Row, values: Mapping[str, int], now: float) -> None:
        sealed = {name: {"N": str(value)} for name, value in sorted(values.items())}
        self.calls.retried(
            "update_item", TableName=self.aggregates_table, Key=_key(bucket, row),
            UpdateExpression="SET sealed = :sealed, sat = :sat",
            ExpressionAttributeValues={":sealed": {"M": sealed}, ":sat": {"N": str(int(now))}},
        )  # fmt: skip

    def mark_clean(self, bucket: Bucket, version: int) -> bool:
        try:
            self.calls.call(
                "update_item", TableName=self.aggregates_table, Key=_key(bucket, TOTAL),
                UpdateExpression="REMOVE dirty", ConditionExpression="ver = :v",
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )  # fmt: skip
        except ConditionFailed:
            return False
        return True

    # Reads.
    def counts(self, keys: Sequence[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], Counts]:
        wanted = {(_pk(bucket), _sk(row)): (bucket, row) for bucket, row in keys}
        found = self.calls.batch_get(self.aggregates_table, list(wanted))
        return {wanted[key]: _counts(item) for key, item in found.items()}

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        prefix = f"{dimension}#"
        found = self.calls.query(
            self.aggregates_table, KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": _pk(bucket)}, ":prefix": {"S": prefix}},
        )  # fmt: skip
        return {item["sk"]["S"][len(prefix) :]: _counts(item) for item in found}

    # Small state.
    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        return DynamoDBSalts(self.aggregates_table, self.calls.client).daily_salt(day, candidate, expires)

    def put_heartbeat(self, beat: Heartbeat) -> None:
        item = {**HEARTBEAT_KEY, "at": {"N": f"{beat.at:.3f}"}, "n": {"N": str(beat.size)}}
        if beat.lag is not None:
            item["lag"] = {"N": f"{beat.lag:.3f}"}
        self.calls.call("put_item", TableName=self.aggregates_table, Item=item)

    def heartbeat(self) -> Heartbeat | None:
        item = self.calls.retried("get_item", TableName=self.aggregates_table, Key=HEARTBEAT_KEY).get("Item")
        if not item:
            return None
        lag = float(item["lag"]["N"]) if "lag" in item else None
        return Heartbeat(float(item["at"]["N"]), int(item["n"]["N"]), lag)


def _pk(bucket: Bucket) -> str:
    return f"{bucket.site}#{bucket.granularity}#{bucket.id}"


def _sk(row: Row) -> str:
    return f"{row[0]}#{row[1]}"


def _key(bucket: Bucket, row: Row) -> Item:
    return {"pk": {"S": _pk(bucket)}, "sk": {"S": _sk(row)}}


def _bucket(pk: str) -> Bucket:
    site, granularity, bucket_id = pk.rsplit("#", 2)
    return Bucket(site, granularity, bucket_id)


def _row(sk: str) -> Row:
    dimension, _, value = sk.partition("#")
    return dimension, value


def _state(item: Item) -> BucketState:
    sealed_at = float(item["sat"]["N"]) if "sat" in item else None
    return BucketState(int(item.get("ver", {}).get("N", "0")), "dirty" in item, sealed_at)


def _counts(item: Item) -> Counts:
    live = {name: int(value["N"]) for name, value in item.items() if "N" in value and name not in _BOOKKEEPING}
    sealed = {name: int(value["N"]) for name, value in item["sealed"]["M"].items()} if "sealed" in item else None
    return Counts(live, sealed, _state(item))
