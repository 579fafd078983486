"""A site's raw events, newest first, read in whole-minute windows.

The listing reads windows backwards from the cursor, one minute first and doubling up to the
rest of the hour (a busy site fills a page from one minute; a quiet one skips empty hours
quickly), and sorts each window's events; a call reads at most MAX_WINDOWS windows. A position
is ``event_time#event_id``: events below it, newest first, are what comes next.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tally_store.base import Event, Store
from tally_store.buckets import iso

MAX_WINDOWS = 32
MINUTE = timedelta(minutes=1)
FILTERED = ("name", "path")  # the fields the listing may filter on, exactly


class Reader:
    def __init__(self, store: Store) -> None:
        self.store = store

    def newest(
        self, site: str, below: str, floor: datetime, limit: int, filters: dict[str, str]
    ) -> tuple[list[Event], str | None]:
        """At most ``limit`` events with ``floor <= position < below``, newest first, and the
        position to read below next time, or None when nothing older is left."""
        found: list[Event] = []
        hi, windows, width = _minute_ceiling(below), 0, MINUTE
        while hi > floor and len(found) < limit and windows < MAX_WINDOWS:
            lo = max(hi - width, _hour_start(hi - MINUTE), _minute_floor(floor))
            found += self._window(site, lo, hi, below, floor, filters)
            windows += 1
            hi, width = lo, min(width * 2, timedelta(hours=1))
        if len(found) > limit:
            return found[:limit], position(found[limit - 1])
        return found, (iso(hi) if hi > floor else None)

    def _window(
        self, site: str, lo: datetime, hi: datetime, below: str, floor: datetime, filters: dict[str, str]
    ) -> list[Event]:
        above = iso(floor)
        chosen = [
            event
            for event in self.store.read_events(site, iso(lo), iso(hi)).events
            if above <= position(event) < below and all(event.get(name) == value for name, value in filters.items())
        ]
        return sorted(chosen, key=position, reverse=True)


def position(event: Event) -> str:
    return f"{event['event_time']}#{event['event_id']}"


def after(moment: datetime) -> str:
    """A position above every event at ``moment``."""
    return iso(moment) + "~"


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _minute_ceiling(position_: str) -> datetime:
    """The end of the minute holding a position (an event's, or a window end's ISO time)."""
    return datetime.strptime(position_[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC) + MINUTE


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def shown(events: Iterable[Event], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{name: event.get(name) for name in fields} for event in events]
