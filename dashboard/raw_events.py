"""A site's raw events, newest first, read from the packed raw-event table.

A pack (processor_lambda/items.py) holds events of one site, hour shard and minute, and its
sort key starts with its newest event's time. So reading every shard's packs whose sort keys
fall in a window of whole minutes yields every event of that window, complete: the listing
reads windows backwards from the cursor, one minute first and doubling up to the rest of the
hour (a busy site fills a page from one minute; a quiet one skips empty hours quickly), and
sorts each window's events. One window is SHARDS Queries; a call makes at most MAX_QUERIES.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from processor_lambda import items, keys

Item = dict[str, Any]
MAX_QUERIES = 128
MINUTE = timedelta(minutes=1)


class Reader:
    """``read(partition, lo, hi)`` returns the packs with ``lo <= sk <= hi``; ``map`` runs a
    function over a list concurrently, keeping order."""

    def __init__(
        self,
        read: Callable[[str, str, str], list[Item]],
        parallel: Callable[[Callable[[str], list[Item]], list[str]], list[list[Item]]],
    ) -> None:
        self.read = read
        self.parallel = parallel

    def newest(
        self, site: str, below: str, floor: datetime, limit: int, filters: dict[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """At most ``limit`` events with ``floor <= sort key < below``, newest first, and the
        cursor (a sort key to read below next time) or None when nothing older is left."""
        found: list[dict[str, Any]] = []
        hi, queries, width = _minute_ceiling(below), 0, MINUTE
        while hi > floor and len(found) < limit and queries + keys.SHARDS <= MAX_QUERIES:
            lo = max(hi - width, _hour_start(hi - MINUTE), _minute_floor(floor))
            found += self._window(site, lo, hi, below, floor, filters)
            queries += keys.SHARDS
            hi, width = lo, min(width * 2, timedelta(hours=1))
        if len(found) > limit:
            return found[:limit], keys.event_sk(found[limit - 1]["event_time"], found[limit - 1]["event_id"])
        return found, (_iso(hi) if hi > floor else None)

    def _window(
        self, site: str, lo: datetime, hi: datetime, below: str, floor: datetime, filters: dict[str, str]
    ) -> list[dict[str, Any]]:
        hour = lo.strftime("%Y-%m-%dT%H")
        partitions = [f"{site}#{hour}#{shard:02d}" for shard in range(keys.SHARDS)]
        start, end = _iso(lo), _iso(hi)
        packs = self.parallel(lambda partition: self.read(partition, start, end), partitions)
        above = _iso(floor)
        chosen = [
            event
            for event in items.unique_events(pack for page in packs for pack in page)
            if above <= _sk(event) < below and _passes(event, filters)
        ]
        return sorted(chosen, key=_sk, reverse=True)


FILTERED = {"n": "name", "p": "path"}  # query filter -> event field


def _passes(event: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(event.get(FILTERED[name]) == value for name, value in filters.items())


def _sk(event: dict[str, Any]) -> str:
    return keys.event_sk(event["event_time"], event["event_id"])


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _minute_ceiling(sort_key: str) -> datetime:
    """The end of the minute holding ``sort_key`` (an event's, or a window end's ISO time)."""
    return datetime.strptime(sort_key[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC) + MINUTE


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def shown(events: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{name: event.get(name) for name in fields} for event in events]
