"""Aggregate counters: what each event adds, summed in memory per batch, one UpdateItem ADD
per distinct counter item. The rollup (rollup.py) uses the same ``contributions`` to
recompute a bucket from raw events, so live and sealed numbers mean the same thing.

Counter attributes: ``pv`` pageviews, ``ev`` events, ``bots`` bot hits (total item only; bots
are kept out of every other counter). The bucket's total item also carries ``ver`` (bumped by
every update) and ``dirty`` (set by every update, removed by the rollup once it has sealed the
bucket at that version).
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import keys
from .dynamo import DynamoStore
from .errors import StorageError

DIMENSIONS = {
    "page": "path", "ref": "referrer_host", "browser": "browser", "os": "os",
    "device": "device", "event": "name", "utm": "utm_source",
}  # fmt: skip
# Minute buckets are for the live view and recent charts; hours and days are kept longer.
TTL_SECONDS = {"m": 35 * 86400, "h": 400 * 86400, "d": 5 * 365 * 86400}
DIRTY = "1"
_NAMES = ("pv", "ev", "bots")


@dataclass(frozen=True)
class Update:
    pk: str
    sk: str
    deltas: dict[str, int]

    @property
    def is_total(self) -> bool:
        return self.sk == keys.TOTAL


def _minute_contributions(event: dict[str, Any]) -> Iterator[tuple[str, tuple[int, int, int]]]:
    """(sk, (pv, ev, bots)) for every counter an event touches in any one bucket."""
    if event.get("bot"):
        yield keys.TOTAL, (0, 0, 1)
        return
    deltas = (1 if event.get("name") == "pageview" else 0, 1, 0)
    yield keys.TOTAL, deltas
    for dimension, attribute in DIMENSIONS.items():
        value = event.get(attribute)
        if value:
            yield f"{dimension}#{str(value)[:512]}", deltas


def contributions(event: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, int]]]:
    """(aggregate pk, sk, deltas) for every counter an event touches, at every granularity."""
    for granularity in keys.GRANULARITIES:
        pk = keys.aggregate_pk(event["site"], granularity, keys.bucket(granularity, event["event_time"]))
        for sk, deltas in _minute_contributions(event):
            yield pk, sk, {name: value for name, value in zip(_NAMES, deltas, strict=True) if value}


def sum_batch(events: Iterable[dict[str, Any]]) -> list[Update]:
    # Sum at minute level first, then fold minutes into hours and days: a batch has far fewer
    # distinct (minute, counter) pairs than events, so the coarser levels cost almost nothing.
    minutes: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events:
        site, minute = event["site"], event["event_time"][:16]
        for sk, (pv, ev, bots) in _minute_contributions(event):
            sums = minutes[(site, minute, sk)]
            sums[0] += pv
            sums[1] += ev
            sums[2] += bots
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (site_id, minute_id, sk), sums in minutes.items():
        for granularity, width in keys.GRANULARITIES.items():
            target = totals[(keys.aggregate_pk(site_id, granularity, minute_id[:width]), sk)]
            for i in range(3):
                target[i] += sums[i]
    return [
        Update(pk, sk, {name: value for name, value in zip(_NAMES, sums, strict=True) if value})
        for (pk, sk), sums in totals.items()
    ]


def apply(store: DynamoStore, table: str, updates: list[Update], now: float) -> list[Update]:
    """Send every update; return the ones that did not land."""
    failed = store.map(lambda update: _apply_one(store, table, update, now), updates)
    return [update for update, ok in zip(updates, failed, strict=True) if not ok]


def touched_by(event: dict[str, Any], failed: list[Update]) -> bool:
    """Whether an event contributed to any of the failed updates (rare path: no index kept)."""
    keys_failed = {(u.pk, u.sk) for u in failed}
    return any((pk, sk) in keys_failed for pk, sk, _ in contributions(event))


def _apply_one(store: DynamoStore, table: str, update: Update, now: float) -> bool:
    names = sorted(update.deltas)
    values: dict[str, Any] = {f":{name}": {"N": str(update.deltas[name])} for name in names}
    clauses = [f"{name} :{name}" for name in names]
    sets = ["#ttl = if_not_exists(#ttl, :ttl)"]
    granularity = update.pk.rsplit("#", 2)[1]
    values[":ttl"] = {"N": str(int(now) + TTL_SECONDS[granularity])}
    if update.is_total:
        clauses.append("ver :one")
        values[":one"] = {"N": "1"}
        sets.append("dirty = :dirty")
        values[":dirty"] = {"S": DIRTY}
    if not clauses:
        return True
    expression = f"ADD {', '.join(clauses)} SET {', '.join(sets)}"
    try:
        store.with_retries(
            lambda: store.call(
                "update_item",
                TableName=table,
                Key={"pk": {"S": update.pk}, "sk": {"S": update.sk}},
                UpdateExpression=expression,
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=values,
            )
        )
    except StorageError:
        return False
    return True
