"""DynamoDB key math (docs/data-model.md explains the choices).

Raw events: ``pk = site#YYYY-MM-DDTHH#shard``; the shard comes from the event id, so an event
always lands in the same partition and one busy site spreads over SHARDS partitions per hour.
A partition takes ~1,000 write units/s; packed (items.py) an event costs a fraction of a
unit, so four shards carry tens of thousands of events/s for one site, while every read of a
time range (the rollup's, the dashboard's) is one Query per shard and hour: fewer shards,
fewer Queries and bigger, better-compressed packs. ``event_sk`` orders events (and, with a
digest, packs) within a partition.

Aggregates: ``pk = site#granularity#bucket``, ``sk = dimension#value``: one partition per
bucket, so a bucket's top-N is one Query and a time series is one BatchGetItem.
"""

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

SHARDS = 4
GRANULARITIES = {"m": 16, "h": 13, "d": 10}  # bucket = the first N chars of the ISO time
STEP = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
TOTAL = "total#"


def shard(event_id: str) -> int:
    # CRC-32: evenly spread, stable across processes (unlike hash()), and cheap per event.
    return zlib.crc32(event_id.encode()) % SHARDS


def event_pk(site: str, event_time: str, event_id: str) -> str:
    return f"{site}#{event_time[:13]}#{shard(event_id):02d}"


def event_sk(event_time: str, event_id: str) -> str:
    return f"{event_time}#{event_id}"


def bucket(granularity: str, event_time: str) -> str:
    return event_time[: GRANULARITIES[granularity]]


def aggregate_pk(site: str, granularity: str, bucket_id: str) -> str:
    return f"{site}#{granularity}#{bucket_id}"


def dimension_sk(dimension: str, value: str) -> str:
    return f"{dimension}#{value}"


def parse_bucket(granularity: str, bucket_id: str) -> datetime:
    formats = {"m": "%Y-%m-%dT%H:%M", "h": "%Y-%m-%dT%H", "d": "%Y-%m-%d"}
    return datetime.strptime(bucket_id, formats[granularity]).replace(tzinfo=UTC)


def bucket_range(granularity: str, bucket_id: str) -> tuple[str, str]:
    """[start, end) of a bucket as ISO strings comparable with stored event times."""
    start = parse_bucket(granularity, bucket_id)
    end = start + STEP[granularity]
    return _iso(start), _iso(end)


def hours_in(granularity: str, bucket_id: str) -> Iterator[str]:
    """The raw-event hour partitions ('YYYY-MM-DDTHH') a bucket spans."""
    start = parse_bucket(granularity, bucket_id)
    hours = 24 if granularity == "d" else 1
    for offset in range(hours):
        yield (start + timedelta(hours=offset)).strftime("%Y-%m-%dT%H")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
