"""What each event adds to the aggregate rows, and a batch's live sums: one CounterUpdate per
distinct (bucket, row), which the store applies with one addition each. The rollup counts with
the same ``rows_of``, so live and sealed numbers mean the same thing.

Metrics: ``pv`` pageviews, ``ev`` events, ``bots`` bot hits (total row only; bots are kept out
of every other row). Sealed rows add ``uv``: distinct visitor ids (rows.py).

Live counters cost one UpdateItem per distinct row per batch, so only the total and the
DIMENSIONS families are counted live; the SEALED_ONLY families appear once their bucket is
sealed (a minute: about a minute after it closes).
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator

from tally_store import buckets
from tally_store.base import TOTAL, Bucket, CounterUpdate, Event, Row

# Counter dimension -> the event field it counts by.
DIMENSIONS = {
    "page": "path", "ref": "referrer_host", "browser": "browser", "os": "os",
    "device": "device", "event": "name", "utm": "utm_source",
}  # fmt: skip
SEALED_ONLY = {"utm_medium": "utm_medium", "utm_campaign": "utm_campaign", "country": "country"}
VERSIONED = {"browser_version": ("browser", "browser_version"), "os_version": ("os", "os_version")}
MAX_VALUE = 512
_NAMES = ("pv", "ev", "bots")


def rows_of(event: Event, *, live: bool = False) -> Iterator[tuple[Row, tuple[int, int, int]]]:
    """(row, (pv, ev, bots)) for every row an event touches in any one bucket (the live
    counters' rows only, with ``live``)."""
    if event.get("bot"):
        yield TOTAL, (0, 0, 1)
        return
    deltas = (1 if event.get("name") == "pageview" else 0, 1, 0)
    yield TOTAL, deltas
    for dimension, attribute in DIMENSIONS.items():
        value = event.get(attribute)
        if value:
            yield (dimension, str(value)[:MAX_VALUE]), deltas
    if live:
        return
    for dimension, attribute in SEALED_ONLY.items():
        value = event.get(attribute)
        if value:
            yield (dimension, str(value)[:MAX_VALUE]), deltas
    for dimension, (name, version) in VERSIONED.items():
        if event.get(name) and event.get(version):
            yield (dimension, f"{event[name]} {event[version]}"[:MAX_VALUE]), deltas


def sum_batch(events: Iterable[Event]) -> list[CounterUpdate]:
    # Sum at minute level first, then fold minutes into hours and days: a batch has far fewer
    # distinct (minute, row) pairs than events, so the coarser levels cost almost nothing.
    minutes: dict[tuple[str, str, Row], list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in events:
        site, minute = event["site"], event["event_time"][:16]
        for row, (pv, ev, bots) in rows_of(event, live=True):
            sums = minutes[(site, minute, row)]
            sums[0] += pv
            sums[1] += ev
            sums[2] += bots
    totals: dict[tuple[Bucket, Row], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (site, minute, row), sums in minutes.items():
        for granularity in buckets.GRANULARITIES:
            target = totals[(buckets.of(site, granularity, minute), row)]
            for i in range(3):
                target[i] += sums[i]
    # Only minutes are sealed from raw events; an hour or a day is marked when a summary below
    # it changes (rollup.py).
    return [_update(bucket, row, sums) for (bucket, row), sums in totals.items()]


def _update(bucket: Bucket, row: Row, sums: list[int]) -> CounterUpdate:
    deltas = {name: value for name, value in zip(_NAMES, sums, strict=True) if value}
    return CounterUpdate(bucket, row, deltas, mark=row == TOTAL and bucket.granularity == "m")


def touched_by(event: Event, failed: Iterable[CounterUpdate]) -> bool:
    """Whether an event contributed to any of the failed updates (rare path: no index kept)."""
    missed = {(update.bucket, update.row) for update in failed}
    rows = [row for row, _ in rows_of(event, live=True)]
    return any((buckets.of(event["site"], g, event["event_time"]), row) in missed
               for g in buckets.GRANULARITIES for row in rows)  # fmt: skip
