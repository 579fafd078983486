"""Read the aggregates table as docs/data-model.md describes: a bucket's ``total#`` items by
BatchGetItem for a series, one Query per bucket for a dimension's top values. A bucket that is
not dirty is read from its sealed (exact) values, a dirty one from its live counters."""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from processor_lambda import keys


@dataclass(frozen=True)
class Point:
    bucket: str
    pageviews: int
    events: int
    visitors: int | None  # known once sealed
    bots: int
    sealed: bool


def buckets(granularity: str, count: int, now: datetime | None = None) -> list[str]:
    """The last ``count`` buckets up to the current one, oldest first."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    current = keys.parse_bucket(granularity, keys.bucket(granularity, moment))
    step = keys.STEP[granularity]
    width = keys.GRANULARITIES[granularity]
    return [(current - step * back).strftime("%Y-%m-%dT%H:%M:%S")[:width] for back in reversed(range(count))]


def series(client: Any, table: str, site: str, granularity: str, bucket_ids: list[str]) -> list[Point]:
    pks = [keys.aggregate_pk(site, granularity, bucket_id) for bucket_id in bucket_ids]
    items: dict[str, dict[str, Any]] = {}
    for start in range(0, len(pks), 100):
        request = {table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": keys.TOTAL}} for pk in pks[start : start + 100]]}}
        while request:
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                items[item["pk"]["S"]] = item
            request = response.get("UnprocessedKeys") or {}
    return [_point(bucket_id, items.get(pk)) for bucket_id, pk in zip(bucket_ids, pks, strict=True)]


def _point(bucket_id: str, item: dict[str, Any] | None) -> Point:
    if item is None:
        return Point(bucket_id, 0, 0, 0, 0, sealed=False)
    sealed = "dirty" not in item and "spv" in item
    if sealed:
        return Point(bucket_id, _n(item, "spv"), _n(item, "sev"), _n(item, "suv"), _n(item, "sbots"), sealed=True)
    return Point(bucket_id, _n(item, "pv"), _n(item, "ev"), None, _n(item, "bots"), sealed=False)


def top(
    client: Any, table: str, site: str, granularity: str, points: list[Point], dimension: str = "page", limit: int = 10
) -> list[tuple[str, int]]:
    """The dimension's values with the most pageviews over the buckets (sealed values for a
    sealed bucket, live counters for an open one, as for the series)."""
    totals: Counter[str] = Counter()
    prefix = dimension + "#"
    paginator = client.get_paginator("query")
    for point in points:
        if not point.pageviews:
            continue
        pages = paginator.paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.aggregate_pk(site, granularity, point.bucket)},
                ":prefix": {"S": prefix},
            },
        )
        for page in pages:
            for item in page.get("Items", []):
                totals[item["sk"]["S"][len(prefix) :]] += _n(item, "spv" if point.sealed else "pv")
    return [(value, count) for value, count in totals.most_common(limit) if count]


def _n(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))
