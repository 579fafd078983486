"""Bucket math: which minute, hour and day an event counts in, and what range a bucket spans.

A bucket id is the first N characters of an ISO time: ``2026-11-23T13:20`` (minute),
``2026-11-23T13`` (hour), ``2026-11-23`` (day). Times are Tally's ISO strings, which sort as
they compare, so a bucket's range is a pair of strings too.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from .base import Bucket

WIDTH = {"m": 16, "h": 13, "d": 10}
GRANULARITIES = tuple(WIDTH)
STEP = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
FORMAT = {"m": "%Y-%m-%dT%H:%M", "h": "%Y-%m-%dT%H", "d": "%Y-%m-%d"}
# How long a store keeps each granularity: minutes feed the live view and recent charts,
# hours and days the longer ranges.
KEEP_SECONDS = {"m": 35 * 86400, "h": 400 * 86400, "d": 5 * 365 * 86400}


def bucket_id(granularity: str, event_time: str) -> str:
    return event_time[: WIDTH[granularity]]


def of(site: str, granularity: str, event_time: str) -> Bucket:
    return Bucket(site, granularity, bucket_id(granularity, event_time))


def start(bucket: Bucket) -> datetime:
    return datetime.strptime(bucket.id, FORMAT[bucket.granularity]).replace(tzinfo=UTC)


def end_epoch(bucket: Bucket) -> float:
    return (start(bucket) + STEP[bucket.granularity]).timestamp()


def time_range(bucket: Bucket) -> tuple[str, str]:
    """[start, end) of a bucket as ISO strings comparable with event times."""
    first = start(bucket)
    return iso(first), iso(first + STEP[bucket.granularity])


def hours_in(start_time: str, end_time: str) -> Iterator[str]:
    """The hours ('YYYY-MM-DDTHH') that [start_time, end_time) touches."""
    hour = datetime.strptime(start_time[:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)
    while iso(hour) < end_time:
        yield hour.strftime("%Y-%m-%dT%H")
        hour += timedelta(hours=1)


def parent(bucket: Bucket) -> Bucket | None:
    """The hour of a minute, the day of an hour; None for a day."""
    coarser = {"m": "h", "h": "d"}.get(bucket.granularity)
    return Bucket(bucket.site, coarser, bucket.id[: WIDTH[coarser]]) if coarser else None


def above(bucket: Bucket) -> Iterator[Bucket]:
    """The hour and day above a minute, the day above an hour."""
    current = parent(bucket)
    while current is not None:
        yield current
        current = parent(current)


def children(bucket: Bucket) -> list[Bucket]:
    """The minutes of an hour, the hours of a day."""
    finer = {"h": "m", "d": "h"}[bucket.granularity]
    first = start(bucket)
    count = int(STEP[bucket.granularity] / STEP[finer])
    return [Bucket(bucket.site, finer, (first + STEP[finer] * i).strftime(FORMAT[finer])) for i in range(count)]


def around(bucket: Bucket, first: int, stop: int) -> list[Bucket]:
    """The buckets of the same granularity ``first`` to ``stop`` (excluded) steps from ``bucket``."""
    start_at = start(bucket)
    step = STEP[bucket.granularity]
    fmt = FORMAT[bucket.granularity]
    return [Bucket(bucket.site, bucket.granularity, (start_at + step * i).strftime(fmt)) for i in range(first, stop)]


def last(granularity: str, count: int, now: datetime) -> list[str]:
    """The ids of the last ``count`` buckets up to the one holding ``now``, oldest first."""
    current = datetime.strptime(now.strftime(FORMAT[granularity]), FORMAT[granularity])
    return [(current - STEP[granularity] * back).strftime(FORMAT[granularity]) for back in reversed(range(count))]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
