"""Answers from the raw events, for what no aggregate row holds (several dimensions, filters on
another dimension than the breakdown's, or / not trees, event:hostname, minutes, undeclared
properties). Each UTC day the range touches is read whole, an hour at a time (the events that
count: reading.Reader.counted), its visits rebuilt as the rollup builds them, then dropped:
memory holds one day. Bounded: at most MAX_SCAN_DAYS days and MAX_SCAN_EVENTS events, known
from the days' total rows before any raw read (TooCostly, a 400 naming the bound, beyond)."""

import bisect
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product

from tally_aggregates.declared import reached
from tally_aggregates.summary import PASSIVE_EVENTS, VISIT_GAP_MS, source
from tally_store import buckets
from tally_store.base import TOTAL, Bucket, Event

from .errors import TooCostly
from .matching import holds
from .model import PROPS, TIME_DIMENSIONS, Filter, Query, Simple, is_visit_dimension
from .reading import Reader, day_ids
from .selectors import goal_name
from .tallies import Tally

MAX_SCAN_DAYS = 8  # seven local days in any time zone
MAX_SCAN_EVENTS = 200_000
Key = tuple[str | None, ...]


@dataclass
class Visit:
    events: list[Event] = field(default_factory=list)

    @property
    def first(self) -> Event:
        return self.events[0]

    def value(self, name: str) -> str | None:
        first, pageviews = self.first, [e for e in self.events if e["name"] == "pageview"]
        values = {
            "source": source(first), "referrer": first.get("referrer_host"), "utm_source": first.get("utm_source"),
            "utm_medium": first.get("utm_medium"), "utm_campaign": first.get("utm_campaign"),
            "entry_page": first.get("path"), "exit_page": (pageviews or self.events)[-1].get("path"),
        }  # fmt: skip
        found = values[name] if name in values else first.get(name)
        return str(found)[:512] if found else None

    def measures(self) -> tuple[bool, int, int]:
        """(bounced, duration ms, pageviews)."""
        pageviews = sum(e["name"] == "pageview" for e in self.events)
        interactive = any(
            e["name"] != "pageview"
            and e["name"] not in PASSIVE_EVENTS
            and (e.get("properties") or {}).get("interactive") is not False
            for e in self.events
        )
        span = _millis(self.events[-1]) - _millis(self.first)
        return pageviews == 1 and not interactive, span, pageviews


class Scan:
    def __init__(self, reader: Reader, query: Query, goals: tuple[str, ...], spans: list[tuple[str | None, datetime,
                 datetime]]) -> None:  # fmt: skip
        self.reader, self.query, self.goals = reader, query, goals
        self.spans = sorted(spans, key=lambda s: s[1])
        self._starts = [int(s[1].timestamp() * 1000) for s in self.spans]
        self.range = (self._starts[0], int(self.spans[-1][2].timestamp() * 1000)) if spans else (0, 0)

    def answer(self) -> tuple[dict[Key, Tally], dict[str | None, Tally]]:
        """The result rows, and per time label the visitors of all rows (the divisor of
        percentage; conversion_rate's leaves goal filters out)."""
        days = day_ids(self.spans[0][1], self.spans[-1][2]) if self.spans else []
        self._bound(days)
        groups: dict[Key, Tally] = defaultdict(Tally)
        totals: dict[str | None, Tally] = defaultdict(Tally)
        for day in days:
            self._day(day, groups, totals)
        return groups, totals

    def _bound(self, days: list[str]) -> None:
        if len(days) > MAX_SCAN_DAYS:
            raise TooCostly(
                "date_range",
                f"this query reads raw events (several dimensions or filters no "
                f"aggregate holds): at most {MAX_SCAN_DAYS} UTC days, this range touches {len(days)}",
            )
        found = self.reader.store.counts([(Bucket(self.reader.site, "d", day), TOTAL) for day in days])
        total = sum(c.live.get("ev", 0) + c.live.get("bots", 0) for c in found.values())
        if total > MAX_SCAN_EVENTS:
            raise TooCostly("date_range", f"this query reads raw events: at most {MAX_SCAN_EVENTS} events, this range "
                                          f"holds about {total}; narrow it or drop filters")  # fmt: skip

    def _day(self, day: str, groups: dict[Key, Tally], totals: dict[str | None, Tally]) -> None:
        events: list[Event] = []
        begun = [h for h in buckets.children(Bucket(self.reader.site, "d", day))
                 if buckets.start(h).timestamp() <= self.reader.clock()]  # fmt: skip
        for hour in self.reader.hours_with_events(begun):
            events += [e for e in self.reader.counted(hour) if not e.get("bot")]
        events.sort(key=lambda e: (e["event_time"], e["event_id"]))
        low, high = self.range
        base = self._base_filters()
        for visit, members in self._visits(events):
            self._visit(visit, members, groups)
            for event in members:
                if visit is not None and low <= _millis(event) < high and self._holds(event, visit, base):
                    totals[self._label(_millis(event))].ids.add(event["visitor_id"])

    def _base_filters(self) -> tuple[Filter, ...]:
        keep_goals = "percentage" in self.query.metrics
        return tuple(f for f in self.query.filters
                     if keep_goals or not (isinstance(f, Simple) and f.dimension == "event:goal"))  # fmt: skip

    def _visits(self, events: list[Event]) -> Iterator[tuple[Visit | None, list[Event]]]:
        runs: dict[str, list[Visit]] = defaultdict(list)
        loose = []
        for event in events:
            visitor = event.get("visitor_id")
            if not visitor:
                loose.append(event)
                continue
            held = runs[visitor]
            if held and _millis(event) - _millis(held[-1].events[-1]) < VISIT_GAP_MS:
                held[-1].events.append(event)
            else:
                held.append(Visit([event]))
        for visits in runs.values():
            for visit in visits:
                yield visit, visit.events
        if loose:
            yield None, loose

    def _visit(self, visit: Visit | None, members: list[Event], groups: dict[Key, Tally]) -> None:
        low, high = self.range
        matched_keys: set[Key] = set()
        for event in members:
            if not self._holds(event, visit):
                continue
            keys = list(self._keys(event, visit, _millis(event)))
            if visit is not None:
                matched_keys.update(self._keys(event, visit, _millis(visit.first)))
            if not low <= _millis(event) < high:
                continue
            for key in keys:
                tally = groups[key]
                tally.pageviews += event["name"] == "pageview"
                tally.events += 1
                if visit is not None:
                    tally.ids.add(event["visitor_id"])
        if visit is not None and low <= _millis(visit.first) < high:
            bounced, span, pageviews = visit.measures()
            for key in matched_keys:
                groups[key].add_visit(bounced, span, pageviews)

    def _holds(self, event: Event, visit: Visit | None, filters: tuple[Filter, ...] | None = None) -> bool:
        def get(dimension: str) -> str | None:
            return self._value(dimension, event, visit)

        def goals(_dimension: str) -> tuple[str | None, ...]:
            return tuple(goal_name(g) for g in self.goals if reached(g, event))

        chosen = self.query.filters if filters is None else filters
        return all(holds(node, get, goals) for node in chosen)

    def _keys(self, event: Event, visit: Visit | None, at: int) -> Iterator[Key]:
        """The result rows an event counts in (a goal dimension: one per goal it reaches; an
        event without the dimension's value: none)."""
        options: list[tuple[str | None, ...]] = []
        for dimension in self.query.dimensions:
            if dimension in TIME_DIMENSIONS:
                label = self._label(at)
                options.append((label,) if label is not None else ())
            elif dimension == "event:goal":
                options.append(tuple(goal_name(g) for g in self.goals if reached(g, event)))
            else:
                value = self._value(dimension, event, visit)
                options.append((value,) if value is not None else ())
        yield from product(*options)

    def _label(self, at: int) -> str | None:
        index = bisect.bisect_right(self._starts, at) - 1
        if index < 0 or at >= int(self.spans[index][2].timestamp() * 1000):
            return None
        return self.spans[index][0]

    @staticmethod
    def _value(dimension: str, event: Event, visit: Visit | None) -> str | None:
        if is_visit_dimension(dimension):
            return visit.value(dimension[6:]) if visit is not None else None
        if dimension.startswith(PROPS):
            found = (event.get("properties") or {}).get(dimension[len(PROPS) :])
            return str(found)[:100] if found is not None else None
        field_name = {"event:page": "path", "event:name": "name", "event:hostname": "host"}.get(dimension)
        found = event.get(field_name) if field_name else None
        return str(found)[:512] if found else None


def _millis(event: Event) -> int:
    return int(datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")).timestamp() * 1000)
