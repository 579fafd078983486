"""The DynamoDB store (base.Store): the events table (packs, dynamodb_events.py) and the
aggregates table, laid out as docs/data-model.md describes.

Aggregates: ``pk = site#granularity#bucket``. Live counters are rows ``sk = total#`` or
``dimension#value`` with attributes named for their metric (``pv``, ``ev``, ``bots``), added
with one UpdateItem ``ADD`` per row per batch. The total row also carries ``ver`` (bumped by
every marking update) and ``dirty`` (set by a marking update, removed by the rollup at that
version; the sparse ``by_dirty`` index lists dirty buckets). What the rollup computed lives in
two versioned blobs of the bucket (dynamodb_blobs.py): ``~sealed`` (every sealed row, zlib JSON)
and ``~summary``. Outside any site's buckets: the daily salts (``pk = salt``) and the
processor's heartbeat (``pk = heartbeat``).
"""

import json
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from tally_contract.errors import ConditionFailed, StorageError

from .base import TOTAL, Bucket, BucketState, CounterUpdate, Counts, Event, EventsRead, Heartbeat, Row, Sealed
from .buckets import KEEP_SECONDS, end_epoch
from .dynamodb_blobs import Blobs, first_key
from .dynamodb_calls import Calls, Item
from .dynamodb_events import RawEvents, Writing
from .dynamodb_salts import DynamoDBSalts
from .dynamodb_sitedata import SiteData

DIRTY_INDEX = "by_dirty"
DIRTY = "1"
_BOOKKEEPING = frozenset({"ver", "ttl", "sat"})
SEALED = "~sealed"  # blob names start with "~", which sorts after every row's dimension


class DynamoDBStore:
    def __init__(self, events_table: str, aggregates_table: str, calls: Calls | None = None) -> None:
        self.calls = calls or Calls()
        self.events_table = events_table
        self.aggregates_table = aggregates_table
        self.raw = RawEvents(self.calls, events_table)
        self.parts = Blobs(self.calls, aggregates_table)
        self.site_data = SiteData(self.calls, (events_table, aggregates_table))

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
        values[":ttl"] = {"N": str(_expires(update.bucket, now))}
        if update.mark:
            adds.append("ver :one")
            values[":one"] = {"N": "1"}
            sets.append("dirty = :dirty")
            values[":dirty"] = {"S": DIRTY}
        if not adds:
            return True
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

    def seal(self, bucket: Bucket, rows: Mapping[Row, Mapping[str, int]], now: float, version: int) -> bool:
        nested: dict[str, dict[str, dict[str, int]]] = {}
        for (dimension, value), values in sorted(rows.items()):
            nested.setdefault(dimension, {})[value] = dict(values)
        blob = zlib.compress(json.dumps(nested, separators=(",", ":")).encode(), 6)
        return self.parts.put(_pk(bucket), SEALED, blob, version, _expires(bucket, now), if_changed=True)

    def put_blob(self, bucket: Bucket, name: str, blob: bytes, version: int) -> bool:
        expires = _expires(bucket, time.time())
        return self.parts.put(_pk(bucket), f"~{name}", blob, version, expires, if_changed=True)

    def blobs(self, buckets: Sequence[Bucket], name: str) -> dict[Bucket, bytes]:
        by_pk = {_pk(bucket): bucket for bucket in buckets}
        found = self.parts.get([(pk, f"~{name}") for pk in by_pk])
        return {by_pk[pk]: blob for (pk, _), blob in found.items()}

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
        """The buckets' total rows and sealed blobs in one batched read; then the other live rows
        asked for, only of buckets the first read did not show ended, sealed and clean (whose
        live rows no reader uses)."""
        wanted = {(_pk(bucket), _sk(row)): (bucket, row) for bucket, row in keys}
        pks = {_pk(bucket): bucket for bucket, _ in keys}
        first = [(pk, _sk(TOTAL)) for pk in pks] + [first_key(pk, SEALED) for pk in pks]
        found = self.calls.batch_get(self.aggregates_table, first)
        blobs = self.parts.get([(pk, SEALED) for pk in pks], {k: v for k, v in found.items() if k[1].startswith("~")})
        sealed = {pks[pk]: _rows(blob) for (pk, _), blob in blobs.items()}
        now = time.time()
        settled = {pk for pk, bucket in pks.items() if bucket in sealed and end_epoch(bucket) <= now
                   and "dirty" not in found.get((pk, _sk(TOTAL)), {"dirty": True})}  # fmt: skip
        asked = set(first)
        rest = [key for key in wanted if key not in asked and key[0] not in settled]
        found.update(self.calls.batch_get(self.aggregates_table, rest))
        out: dict[tuple[Bucket, Row], Counts] = {}
        for key, (bucket, row) in wanted.items():
            item, rows = found.get(key), sealed.get(bucket)
            if item is None and (rows is None or row not in rows):
                continue
            out[(bucket, row)] = _counts(item or {}, rows.get(row, {}) if rows is not None else None)
        return out

    def dimension(self, bucket: Bucket, dimension: str) -> dict[str, Counts]:
        prefix = f"{dimension}#"
        live = {item["sk"]["S"][len(prefix) :]: item for item in self.calls.query(
            self.aggregates_table, KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": _pk(bucket)}, ":prefix": {"S": prefix}},
        )}  # fmt: skip
        rows = self._sealed({bucket}).get(bucket)
        values = set(live) | {value for (family, value) in (rows or {}) if family == dimension}
        return {value: _counts(live.get(value, {}), rows.get((dimension, value), {}) if rows is not None else None)
                for value in values}  # fmt: skip

    def sealed(self, buckets: Sequence[Bucket]) -> dict[Bucket, Sealed]:
        """The total rows and the sealed blobs' first parts in one BatchGetItem round (100 keys
        a call), then any further parts."""
        pks = {_pk(bucket): bucket for bucket in buckets}
        found = self.calls.batch_get(self.aggregates_table, [k for pk in pks for k in ((pk, _sk(TOTAL)),
                                                                                   first_key(pk, SEALED))])  # fmt: skip
        blobs = self.parts.get([(pk, SEALED) for pk in pks], {k: v for k, v in found.items() if k[1].startswith("~")})
        out = {}
        for pk, bucket in pks.items():
            total, blob = found.get((pk, _sk(TOTAL))), blobs.get((pk, SEALED))
            if total is not None or blob is not None:
                out[bucket] = Sealed(_state(total or {}), _rows(blob) if blob is not None else {})
        return out

    def _sealed(self, buckets: set[Bucket]) -> dict[Bucket, dict[Row, dict[str, int]]]:
        by_pk = {_pk(bucket): bucket for bucket in buckets}
        blobs = self.parts.get([(pk, SEALED) for pk in by_pk])
        return {by_pk[pk]: _rows(blob) for (pk, _), blob in blobs.items()}

    # Deleting a site.
    def delete_site(self, site: str, resume: str | None = None) -> tuple[int, str | None]:
        return self.site_data.delete_step(site, resume)

    # Small state.
    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        return DynamoDBSalts(self.aggregates_table, self.calls.client).daily_salt(day, candidate, expires)

    def put_heartbeat(self, beat: Heartbeat, name: str = "processor") -> None:
        item = {**_heartbeat_key(name), "at": {"N": f"{beat.at:.3f}"}, "n": {"N": str(beat.size)}}
        if beat.lag is not None:
            item["lag"] = {"N": f"{beat.lag:.3f}"}
        self.calls.call("put_item", TableName=self.aggregates_table, Item=item)

    def heartbeat(self, name: str = "processor") -> Heartbeat | None:
        item = self.calls.retried("get_item", TableName=self.aggregates_table, Key=_heartbeat_key(name)).get("Item")
        if not item:
            return None
        lag = float(item["lag"]["N"]) if "lag" in item else None
        return Heartbeat(float(item["at"]["N"]), int(item["n"]["N"]), lag)


def _heartbeat_key(name: str) -> Item:
    return {"pk": {"S": "heartbeat"}, "sk": {"S": name}}


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
    return BucketState(int(item.get("ver", {}).get("N", "0")), "dirty" in item)


def _counts(item: Item, sealed: dict[str, int] | None) -> Counts:
    live = {name: int(value["N"]) for name, value in item.items() if "N" in value and name not in _BOOKKEEPING}
    return Counts(live, sealed, _state(item))


def _rows(blob: bytes) -> dict[Row, dict[str, int]]:
    nested: dict[str, dict[str, dict[str, int]]] = json.loads(zlib.decompress(blob))
    return {(dimension, value): values for dimension, rows in nested.items() for value, values in rows.items()}


def _expires(bucket: Bucket, now: float) -> int:
    return int(now) + KEEP_SECONDS[bucket.granularity]
